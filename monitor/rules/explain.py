"""Why a rule did (or did not) fire on an item, branch by branch, with file:line.

``trace`` evaluates a whole condition tree, keeping every node's value, the hits of
its terms and where it was written. Slower than ``evaluate.holds`` and only run when
someone asks: ``Engine.explain`` for every rule, ``Engine.match(explain=True)``.

    RuleTrace           one rule on one item: matched or not, and why
    └── Branch          one node of its condition, evaluated (a tree of them)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..models import Severity, TermHit
from .evaluate import near_pairs
from .scan import Hits
from .terms import Atom
from .tree import AllOf, AnyOf, AtLeast, InFields, Near, Node, NoneOf, Source, Term

LEAVES = ("term", "near", "feed")


@dataclass(frozen=True, slots=True)
class Branch:
    """One node of a condition as evaluated on one item.

    ``kind``: all | any | list | none | at_least | fields (nodes with children),
    term | near (terms), feed (an excepted feed)."""

    kind: str
    label: str  # as the author wrote it: "any", "list automakers", "ransom*", "at_least 2 of 3"
    ok: bool
    where: Source | None = None
    children: tuple[Branch, ...] = ()
    hits: tuple[TermHit, ...] = ()  # a term's hits in the fields looked at
    need: int = 0  # at_least: how many children must hold
    note: str = ""  # why a near term failed: a word missing, or the two too far apart

    @property
    def held(self) -> int:
        """How many children hold."""
        return sum(c.ok for c in self.children)

    def present(self) -> Iterator[Branch]:
        """The terms found under this branch (for ``none``: what suppressed the item)."""
        if self.kind in LEAVES:
            if self.ok:
                yield self
            return
        for child in self.children:
            if child.ok:
                yield from child.present()

    def culprits(self) -> list[Branch]:
        """For a branch that failed, the branches that made it fail: the terms present
        under ``none``, and otherwise the false children (of a list, only those with
        branches of their own: a list has many terms, and none was found)."""
        if self.ok:
            return []
        if self.kind == "none":
            return list(self.present())
        if self.kind == "list":
            return [c for c in self.children if not c.ok and c.kind not in LEAVES]
        return [c for c in self.children if not c.ok]


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One enabled rule on one item: whether it matched and, if not, why not."""

    rule_id: str
    title: str
    severity: Severity
    where: Source | None  # the rule's `id:` in its file
    matched: bool  # the condition holds and no exception applies: ``match`` reports it
    condition: Branch
    excepted_by: Branch | None = None  # the feed or term of exceptions.yaml that applied

    def why_not(self) -> list[str]:
        """Lines for a person: each failed branch with its file:line. Empty if it matched."""
        if self.matched:
            return []
        lines = [f"{self.rule_id} ({self.severity.label}, {self.where}) did not fire:"]
        if self.excepted_by is not None:
            lines.append(f"  excepted by exceptions.yaml: {_describe(self.excepted_by)}")
        if not self.condition.ok:
            lines += _blame(self.condition, 1)
        return lines

    def lines(self) -> list[str]:
        """The whole condition, one line per branch (terms not found under a list are
        counted rather than listed)."""
        verdict = "matched" if self.matched else "did not fire"
        head = [f"{self.rule_id} ({self.severity.label}, {self.where}): {verdict}"]
        if self.excepted_by is not None:
            head.append(f"  excepted by exceptions.yaml: {_describe(self.excepted_by)}")
        return head + _tree(self.condition, 1)


def trace(node: Node, hits: Hits, fields: tuple[str, ...], atoms: Sequence[Atom]) -> Branch:
    """Evaluate ``node`` like ``evaluate.holds`` does, keeping every branch."""
    match node:
        case Term(atom, where):
            if atom not in hits.found(fields):  # most terms of a list: skip the hit lists
                return Branch("term", atoms[atom].display, False, where)
            found = tuple(hits.term_hit(atom, h) for h in hits.in_fields(atom, fields))
            return Branch("term", atoms[atom].display, True, where, hits=found)
        case Near(a, b, within, where):
            pairs = near_pairs(hits, fields, a, b, within)
            ends = [(a, ha) for ha, _ in pairs] + [(b, hb) for _, hb in pairs]
            shown = tuple(dict.fromkeys(hits.term_hit(x, h) for x, h in ends))
            label = f"near [{atoms[a].display}, {atoms[b].display}] within {within}"
            missing = [atoms[x].display for x in (a, b) if x not in hits.found(fields)]
            note = (
                f"{' and '.join(map(repr, missing))} not found"
                if missing
                else f"not within {within} words of each other in one field"
            )
            return Branch("near", label, bool(pairs), where, hits=shown, note=note)
        case AllOf(children, where, combined):
            kids = tuple(trace(c, hits, fields, atoms) for c in children)
            label = "all of" if combined else "all"
            return Branch("all", label, all(k.ok for k in kids), where, kids)
        case AnyOf(children, where, name):
            kids = tuple(trace(c, hits, fields, atoms) for c in children)
            kind, label = ("list", f"list {name}") if name else ("any", "any")
            return Branch(kind, label, any(k.ok for k in kids), where, kids)
        case NoneOf(children, where):
            kids = tuple(trace(c, hits, fields, atoms) for c in children)
            return Branch("none", "none", not any(k.ok for k in kids), where, kids)
        case AtLeast(n, children, where):
            kids = tuple(trace(c, hits, fields, atoms) for c in children)
            label = f"at_least {n} of {len(kids)}"
            return Branch("at_least", label, sum(k.ok for k in kids) >= n, where, kids, need=n)
        case InFields(narrowed, child, where):
            kid = trace(child, hits, narrowed, atoms)
            return Branch("fields", f"in {', '.join(narrowed)}", kid.ok, where, (kid,))
    raise TypeError(f"not a condition node: {node!r}")


def summary(branch: Branch, depth: int = 0) -> list[str]:
    """Compact lines for ``Match.explain``: each branch with the terms found right in it."""
    found = [c.hits[0].text for c in branch.children if c.kind in LEAVES and c.ok and c.hits]
    detail = f": {', '.join(found)}" if found else ""
    at = f"  ({branch.where})" if branch.where else ""
    out = [f"{'  ' * depth}{_mark(branch)} {branch.label}{detail}{at}"]
    for child in branch.children:
        if child.kind not in LEAVES:
            out += summary(child, depth + 1)
    return out


def _blame(branch: Branch, depth: int) -> list[str]:
    pad = "  " * depth
    out = [f"{pad}✗ {_name(branch)}{_failure(branch)}"]
    for culprit in branch.culprits():
        if culprit.ok:  # a term present under `none`
            out.append(f"{pad}  {_describe(culprit)}")
        else:
            out += _blame(culprit, depth + 1)
    return out


def _failure(branch: Branch) -> str:
    n = len(branch.children)
    if branch.kind == "all":
        return f": {n - branch.held} of {n} branches false"
    if branch.kind == "none":
        return ": a term it excludes is present"
    if branch.kind == "at_least":
        held = ", ".join(_name(c) for c in branch.children if c.ok)
        return f": {branch.held} of {n} hold{f' ({held})' if held else ''}, {branch.need} needed"
    if branch.kind == "list":
        return f": none of its {n} terms found"
    if branch.kind == "any":
        return f": none of its {n} branches holds"
    if branch.kind == "near":
        return f": {branch.note}"
    if branch.kind == "term":
        return ": not found"
    return ""


def _tree(branch: Branch, depth: int) -> list[str]:
    pad = "  " * depth
    out = [f"{pad}{_mark(branch)} {_describe(branch) if branch.kind in LEAVES else _name(branch)}"]
    missing = 0
    for child in branch.children:
        if branch.kind == "list" and not child.ok:
            missing += 1
        else:
            out += _tree(child, depth + 1)
    if missing:
        other = " other" if missing < len(branch.children) else ""
        out.append(f"{pad}  ✗ {missing}{other} terms of the list not found")
    return out


def _name(branch: Branch) -> str:
    label = f"{branch.label!r}" if branch.kind in ("term", "feed") else f"`{branch.label}`"
    return f"{label} at {branch.where}" if branch.where else label


def _describe(branch: Branch) -> str:
    """A term or feed, where it is written, and where it was found."""
    seen = dict.fromkeys(f"{h.text!r} in {h.field}" for h in branch.hits)
    found = f", found {', '.join(seen)}" if seen else ""
    return f"{'feed ' if branch.kind == 'feed' else ''}{_name(branch)}{found}"


def _mark(branch: Branch) -> str:
    return "✓" if branch.ok else "✗"
