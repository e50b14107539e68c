"""What `monitor rules check` finds beyond schema errors: failing examples, and terms
that can never match, that shadow each other, or that cost a lot to look for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import RuleProblem
from ..models import Entry
from . import schema as S
from .compile import TermMark
from .engine import Engine
from .scan import required_literal
from .terms import Atom
from .tree import Source

ExampleKey = tuple[str, str, int]  # rule id, "match" | "no_match", index


def example_entry(example: str | dict[str, str], index: int = 0) -> Entry:
    data = {"title": example} if isinstance(example, str) else dict(example)
    return Entry(
        feed=data.get("feed", "example"),
        key=f"example-{index}",
        url_key="",
        link=data.get("link", ""),
        title=data.get("title", ""),
        summary=data.get("summary", ""),
        content=data.get("content", ""),
    )


def check_examples(
    engine: Engine, rules: Iterable[S.Rule], marks: Mapping[ExampleKey, Source]
) -> list[RuleProblem]:
    """Every example under a rule's ``tests:`` must (not) match that rule."""
    problems = []
    for rule in rules:
        if not rule.enabled:
            continue
        for kind in ("match", "no_match"):
            for i, example in enumerate(getattr(rule.tests, kind)):
                matched = {m.rule_id for m in engine.match(example_entry(example, i))}
                if (rule.id in matched) == (kind == "match"):
                    continue
                where = marks.get((rule.id, kind, i), Source("?", 1, 1))
                title = example if isinstance(example, str) else example.get("title", "")
                verb = "does not match" if kind == "match" else "matches"
                hint = (
                    "run `monitor rules test --text '…' --explain` to see why"
                    if kind == "match"
                    else "add a `none:` term for this case"
                )
                problems.append(
                    RuleProblem(
                        where.file,
                        where.line,
                        where.col,
                        f"example {verb} rule {rule.id!r}: {title[:80]!r}",
                        hint,
                    )
                )
    return problems


def lint(marks: Iterable[TermMark]) -> list[RuleProblem]:
    """Warnings about single terms, and about terms next to each other in one context."""
    problems: list[RuleProblem] = []
    seen: dict[tuple[str, str], dict[Atom, Source]] = {}
    for mark in marks:
        atom, where = mark.atom, mark.where
        problems += _term_warnings(atom, where)
        group = seen.setdefault((mark.rule, mark.context), {})
        if atom in group and group[atom] != where:
            problems.append(
                _warn(where, f"term {atom.display!r} appears twice here", "remove the duplicate")
            )
        group.setdefault(atom, where)
    for group in seen.values():
        prefixes = [a for a in group if a.kind == "prefix"]
        for atom, where in group.items():
            for p in prefixes:
                if (
                    atom is not p
                    and atom.kind in ("word", "prefix")
                    and atom.key[0].startswith(p.key[0])
                    and atom.key[0] != p.key[0]
                ):
                    problems.append(
                        _warn(
                            where,
                            f"term {atom.display!r} is already covered by {p.display!r}",
                            "remove one of them",
                        )
                    )
    return list(dict.fromkeys(problems))  # a list term is marked once per rule using it


def _term_warnings(atom: Atom, where: Source) -> list[RuleProblem]:
    if atom.kind == "prefix" and len(atom.key[0]) < 3:
        return [
            _warn(
                where,
                f"prefix {atom.display!r} is very short and matches many unrelated words",
                "use at least three letters",
            )
        ]
    if atom.kind == "case" and atom.display.lower() == atom.display.upper():
        return [
            _warn(
                where,
                f"case-sensitive term {atom.display!r} has no letters whose case matters",
                "write it as a plain term",
            )
        ]
    if atom.kind == "regex" and not required_literal(atom.key[0]):
        # the scanner skips a regex unless its literal is in the text; without one the
        # regex runs on every field of every item (a quarter of a cycle's CPU, profiled)
        return [
            _warn(
                where,
                f"regular expression {atom.display} has no fixed text to pre-check for, "
                "so it runs on every item",
                "give it a literal prefix outside any group or repeat (`CVE-\\d+`, "
                "not `(CVE|GHSA)-\\d+`), or use word terms",
            )
        ]
    return []


def _warn(where: Source, message: str, hint: str) -> RuleProblem:
    return RuleProblem(where.file, where.line, where.col, message, hint, level="warning")
