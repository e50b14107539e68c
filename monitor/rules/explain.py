"""Why a rule fired on an item, branch by branch, with file:line.

``trace`` evaluates a whole condition tree, keeping every node's value, the hits of
its terms and where it was written. Slower than ``evaluate.holds`` and only run when
someone asks: ``Engine.match(explain=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import TermHit
from .evaluate import near_pairs
from .scan import Hits
from .terms import Atom
from .tree import AllOf, AnyOf, AtLeast, InFields, Near, Node, NoneOf, Source, Term

LEAVES = ("term", "near")


@dataclass(frozen=True, slots=True)
class Branch:
    """One node of a condition as evaluated on one item.

    ``kind``: all | any | list | none | at_least | fields (nodes with children),
    term | near (terms)."""

    kind: str
    label: str  # as the author wrote it: "any", "list automakers", "ransom*", "at_least 2 of 3"
    ok: bool
    where: Source | None = None
    children: tuple[Branch, ...] = ()
    hits: tuple[TermHit, ...] = ()  # a term's hits in the fields looked at
    need: int = 0  # at_least: how many children must hold


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
            return Branch("near", label, bool(pairs), where, hits=shown)
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


def _mark(branch: Branch) -> str:
    return "✓" if branch.ok else "✗"
