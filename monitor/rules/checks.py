"""What `monitor rules check` finds beyond schema errors: failing examples and
terms that can never match or that shadow each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RuleProblem
from ..models import Entry
from .terms import Atom

if TYPE_CHECKING:
    from .loader import RuleSet


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
    ruleset: RuleSet, marks: dict[tuple[str, str, int], tuple[str, int, int]]
) -> list[RuleProblem]:
    problems = []
    for rule in ruleset.rules:
        if not rule.enabled:
            continue
        for kind in ("match", "no_match"):
            for i, example in enumerate(getattr(rule.tests, kind)):
                matched = {m.rule_id for m in ruleset.engine.match(example_entry(example, i))}
                if (rule.id in matched) != (kind == "match"):
                    file, line, col = marks.get((rule.id, kind, i), ("?", 1, 1))
                    title = example if isinstance(example, str) else example.get("title", "")
                    verb = "does not match" if kind == "match" else "matches"
                    hint = (
                        "run `monitor rules test --text '…' --explain` to see why"
                        if kind == "match"
                        else "add a `none:` term for this case"
                    )
                    problems.append(
                        RuleProblem(
                            file,
                            line,
                            col,
                            f"example {verb} rule {rule.id!r}: {title[:80]!r}",
                            hint,
                        )
                    )
    return problems


def lint(
    ruleset: RuleSet, term_marks: list[tuple[str, str, Atom, str, int, int]]
) -> list[RuleProblem]:
    problems: list[RuleProblem] = []
    seen: dict[tuple[str, str], dict[Atom, tuple[str, int, int]]] = {}
    for rule, ctx, atom, file, line, col in term_marks:
        where = (file, line, col)
        if atom.kind == "prefix" and len(atom.key[0]) < 3:
            problems.append(
                _warn(
                    where,
                    f"prefix {atom.display!r} is very short and matches many unrelated words",
                    "use at least three letters",
                )
            )
        if atom.kind == "case" and atom.display.lower() == atom.display.upper():
            problems.append(
                _warn(
                    where,
                    f"case-sensitive term {atom.display!r} has no letters whose case matters",
                    "write it as a plain term",
                )
            )
        group = seen.setdefault((rule, ctx), {})
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
    return _dedupe(problems)


def _warn(where: tuple[str, int, int], message: str, hint: str) -> RuleProblem:
    return RuleProblem(where[0], where[1], where[2], message, hint, level="warning")


def _dedupe(problems: list[Any]) -> list[RuleProblem]:
    return list(dict.fromkeys(problems))
