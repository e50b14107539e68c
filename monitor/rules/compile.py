"""Schema models → condition trees (``tree.py``) over one shared table of atoms.

Each distinct term becomes one atom, whichever rules and lists use it, so the scanner
looks for it once. Each node records where it was written (``Source``) for
explanations, and each word term is marked for ``checks.lint``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..models import Severity
from ..yamlfile import PathKey, YamlDoc
from . import schema as S
from .lists import ListCycle, TermLists
from .problems import Problems, did_you_mean, source
from .terms import Atom, TermSyntaxError, case_atom, regex_atom, word_atom
from .tree import (
    AllOf,
    AnyOf,
    AtLeast,
    CompiledRule,
    Exceptions,
    InFields,
    Near,
    Node,
    NoneOf,
    Source,
    Term,
    can_match_empty,
)


class TermMark(NamedTuple):
    """One use of a term, for the checks that look at terms side by side."""

    rule: str
    context: str  # terms in one context (one `any`, one list use) should not repeat
    atom: Atom
    where: Source


class Compiler:
    def __init__(self, problems: Problems, lists: TermLists) -> None:
        self.problems = problems
        self.lists = lists
        self.atoms: list[Atom] = []
        self._atom_ids: dict[Atom, int] = {}
        self.marks: list[TermMark] = []

    def rule(self, rule: S.Rule, doc: YamlDoc, path: PathKey) -> CompiledRule | None:
        """The compiled rule, or None with the problems recorded."""
        before = self.problems.count()
        node = self._condition(rule.match, doc, (*path, "match"), rule.id)
        if node is None or self.problems.count() > before:
            return None
        if can_match_empty(node):
            self.problems.at(
                doc,
                (*path, "match"),
                f"rule {rule.id!r} matches items that contain none of its terms",
                "add an `all` or `any` next to `none`",
            )
            return None
        return CompiledRule(
            id=rule.id,
            title=rule.title,
            severity=Severity.parse(rule.severity),
            channel=rule.channel,
            digest=rule.digest,
            fields=tuple(rule.fields),
            condition=node,
            where=source(doc, (*path, "id")),
        )

    def exceptions(self, docs: list[YamlDoc]) -> Exceptions:
        feeds: dict[str, Source] = {}
        nodes: list[Node] = []
        where: Source | None = None
        for doc in docs:
            model = self.problems.validate(S.Exceptions, doc.data or {}, doc, ())
            if model is None:
                continue
            for i, feed in enumerate(model.feeds):
                feeds.setdefault(feed, source(doc, ("feeds", i)))
            for i, term in enumerate(model.terms):
                where = where or source(doc, ("terms",))
                node = self._node(term, doc, ("terms", i), "(exceptions)", "exceptions")
                if node is not None:
                    nodes.append(node)
        terms = AnyOf(tuple(nodes), where) if nodes else None
        return Exceptions(terms, feeds)

    def _atom(self, atom: Atom) -> int:
        if atom not in self._atom_ids:
            self._atom_ids[atom] = len(self.atoms)
            self.atoms.append(atom)
        return self._atom_ids[atom]

    def _node(self, value: Any, doc: YamlDoc, path: PathKey, rule: str, ctx: str) -> Node | None:
        if isinstance(value, S.NearTerm):
            # each near term is its own context: sharing a word with a sibling is fine
            sub = f"{ctx} near@{path}"
            a = self._node(value.near[0], doc, (*path, "near", 0), rule, sub)
            b = self._node(value.near[1], doc, (*path, "near", 1), rule, sub)
            if not (isinstance(a, Term) and isinstance(b, Term)):
                return None
            return Near(a.atom, b.atom, value.within, source(doc, path))
        if isinstance(value, S.ListRef):
            return self._list(value.list, doc, path, rule)
        if isinstance(value, S.Condition):
            return self._condition(value, doc, path, rule)
        try:
            atom = _atom_of(value)
        except TermSyntaxError as exc:
            self.problems.at(doc, path, str(exc), "fix or remove this term")
            return None
        where = source(doc, path)
        self.marks.append(TermMark(rule, ctx, atom, where))
        return Term(self._atom(atom), where)

    def _condition(self, value: S.Condition, doc: YamlDoc, path: PathKey, rule: str) -> Node | None:
        """One mapping: its keys (``all``, ``none``…) must all hold."""
        parts: list[Node] = []
        for key in ("all", "any", "none", "of"):
            items = getattr(value, key)
            if not items:
                continue
            kids = [self._node(c, doc, (*path, key, i), rule, key) for i, c in enumerate(items)]
            children = tuple(k for k in kids if k is not None)
            if len(children) < len(kids):
                return None
            where = source(doc, (*path, key))
            if key == "all":
                parts.append(AllOf(children, where))
            elif key == "any":
                parts.append(AnyOf(children, where))
            elif key == "none":
                parts.append(NoneOf(children, where))
            elif value.at_least is not None:
                parts.append(AtLeast(value.at_least, children, source(doc, (*path, "at_least"))))
        node = parts[0] if len(parts) == 1 else AllOf(tuple(parts), source(doc, path), True)
        if value.fields:
            node = InFields(tuple(value.fields), node, source(doc, (*path, "fields")))
        return node

    def _list(self, name: str, doc: YamlDoc, path: PathKey, rule: str) -> Node | None:
        """``{list: name}``: any of the list's terms, each located in its list file."""
        if name not in self.lists:
            self.problems.at(
                doc,
                (*path, "list"),
                f"undefined list {name!r}",
                did_you_mean(name, self.lists.models)
                or f"create rules/lists/{name}.yaml with a `terms:` list",
            )
            return None
        try:
            terms = self.lists.expand(name)
        except ListCycle:  # reported once by TermLists.check
            return None
        kids = [self._node(t.term, t.doc, t.path, rule, f"list {name}") for t in terms]
        children = tuple(k for k in kids if k is not None)
        if len(children) < len(kids):
            return None
        if not children:
            self.problems.at(doc, (*path, "list"), f"list {name!r} has no terms", "add terms to it")
            return None
        return AnyOf(children, source(doc, (*path, "list")), name)


def _atom_of(value: Any) -> Atom:
    if isinstance(value, S.CaseTerm):
        return case_atom(value.case)
    if isinstance(value, S.RegexTerm):
        return regex_atom(value.regex, value.case_sensitive)
    return word_atom(value)
