"""Evaluate every rule's condition on the hits of one scan (see ``scan.py``).

Each rule is indexed by a *trigger*: a set of atoms at least one of which must
be present for the rule to possibly match (for ``all``, the rarest branch; for
``any``, every branch). Only rules whose trigger was hit are evaluated, on the
set of atoms found, so the cost follows the hits, not the number of rules.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import Entry, Match, Severity, TermHit
from .scan import Hits, Scanner
from .terms import Atom

# A compiled condition:
#   ("t", atom)                          a term
#   ("near", atom_a, atom_b, within)     two terms close together
#   ("any"|"all"|"none", label, children)
#   ("atl", label, n, children)          at least n of the children
#   ("in", fields, child)                the child, looking only in these fields
#   ("aset", label, atoms, children)     `any` of plain terms, as one set test (built here)
Node = tuple[Any, ...]


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    severity: Severity
    channel: str | None
    digest: str | None
    fields: tuple[str, ...]
    condition: Node
    positive: frozenset[int]  # atoms whose hits explain a match
    open: bool = False  # may match without any hit: always evaluated
    file: str = ""
    tags: tuple[str, ...] = ()
    extra_fields: tuple[str, ...] = ()  # named by conditions narrowed with `fields:`

    @property
    def scan_fields(self) -> tuple[str, ...]:
        return self.fields + tuple(f for f in self.extra_fields if f not in self.fields)


class Engine:
    def __init__(
        self,
        atoms: Sequence[Atom],
        rules: Sequence[CompiledRule],
        exception_node: Node | None = None,
        exception_feeds: Iterable[str] = (),
    ) -> None:
        self.atoms = list(atoms)
        self.scanner = Scanner(self.atoms)
        self.rules = list(rules)
        self.exception_node = _sets(exception_node) if exception_node else None
        self.exception_feeds = frozenset(exception_feeds)
        self._conditions = {r.id: _sets(r.condition) for r in self.rules}
        usage = Counter(a for r in self.rules for a in r.positive)
        self._by_atom: dict[int, list[CompiledRule]] = defaultdict(list)
        self._open = [r for r in self.rules if r.open]
        for rule in self.rules:
            trigger = _trigger(rule.condition, usage)
            if trigger is None:
                self._open.append(rule)
                continue
            for atom_id in trigger:
                self._by_atom[atom_id].append(rule)
        self.fields = tuple(
            sorted({f for r in self.rules for f in r.scan_fields} | {"title", "summary", "content"})
        )

    def scan(self, entry: Entry, fields: Iterable[str] | None = None) -> Hits:
        return self.scanner.scan(entry, fields or self.fields)

    def match(self, entry: Entry, *, explain: bool = False) -> list[Match]:
        """Every enabled rule that matches, most severe first. Pure."""
        if entry.feed in self.exception_feeds:
            return []
        hits = self.scan(entry)
        exc = self.exception_node
        if exc is not None and _eval(exc, hits, self.fields, hits.found(self.fields), None):
            return []
        candidates: dict[str, CompiledRule] = {r.id: r for r in self._open}
        for atom_id in hits.by_atom:
            for rule in self._by_atom.get(atom_id, ()):
                candidates[rule.id] = rule
        out = []
        for rule in candidates.values():
            trace: list[str] | None = [] if explain else None
            found = hits.found(rule.fields)
            if _eval(self._conditions[rule.id], hits, rule.fields, found, trace):
                out.append(_as_match(rule, hits, trace))
        out.sort(key=lambda m: (-m.severity, m.rule_id))
        return out


def _as_match(rule: CompiledRule, hits: Hits, trace: list[str] | None) -> Match:
    fields = rule.scan_fields
    found = [(a, h) for a in hits.by_atom if a in rule.positive for h in hits.in_fields(a, fields)]
    found.sort(key=lambda ah: (fields.index(ah[1][0]), ah[1][2], ah[0]))
    unique: dict[tuple[str, int, int], TermHit] = {}
    for atom, raw in found:
        key = (raw[0], raw[2], raw[3])
        if key not in unique:
            unique[key] = hits.term_hit(atom, raw)
    return Match(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        channel=rule.channel,
        hits=tuple(unique.values()),
        digest=rule.digest,
        explain=tuple(trace or ()),
    )


def _sets(node: Node) -> Node:
    """Rewrite `any` over plain terms (every list reference) as one set test."""
    kind = node[0]
    if kind in ("t", "near"):
        return node
    if kind == "in":
        return ("in", node[1], _sets(node[2]))
    children = [_sets(c) for c in node[-1]]
    if kind == "any" and all(c[0] == "t" for c in children):
        return ("aset", node[1], frozenset(c[1] for c in children), children)
    return (*node[:-1], children)


def _trigger(node: Node, usage: Counter[int]) -> frozenset[int] | None:
    """Atoms of which at least one must be hit for ``node`` to hold; None if none must."""
    kind = node[0]
    if kind == "t":
        return frozenset({node[1]})
    if kind == "near":  # both must be there: index the rarer
        return frozenset({min(node[1], node[2], key=lambda a: usage[a])})
    if kind == "in":
        return _trigger(node[2], usage)
    if kind == "none":
        return None
    subs = [_trigger(c, usage) for c in node[-1]]
    if kind == "any":
        if any(s is None for s in subs):
            return None
        return frozenset().union(*subs)  # type: ignore[arg-type]
    known = sorted((s for s in subs if s is not None), key=lambda s: sum(usage[a] for a in s))
    if kind == "all":
        return known[0] if known else None
    need = len(subs) - node[2] + 1  # at least n of k: one of any k-n+1 children is true
    if len(known) < need:
        return None
    return frozenset().union(*known[:need])


def _eval(
    node: Node,
    hits: Hits,
    fields: tuple[str, ...],
    found: frozenset[int],
    trace: list[str] | None,
    depth: int = 0,
) -> bool:
    """``found``: the atoms hit in ``fields``, passed down so each node is a set test."""
    kind = node[0]
    if kind == "t":
        return node[1] in found
    if kind == "aset" and trace is None:
        return not found.isdisjoint(node[2])
    if kind == "near":
        return _near(hits, fields, node[1], node[2], node[3])
    if kind == "in":  # a condition narrowed to some fields
        return _eval(node[2], hits, node[1], hits.found(node[1]), trace, depth)
    children = node[-1]
    if kind == "aset":
        result = not found.isdisjoint(node[2])
    elif kind == "any":
        result = any(_eval(c, hits, fields, found, None) for c in children)
    elif kind == "all":
        result = all(_eval(c, hits, fields, found, None) for c in children)
    elif kind == "none":
        result = not any(_eval(c, hits, fields, found, None) for c in children)
    else:  # "atl"
        result = sum(_eval(c, hits, fields, found, None) for c in children) >= node[2]
    if trace is not None:
        _trace(node, result, hits, fields, found, trace, depth)
    return result


def _trace(
    node: Node,
    result: bool,
    hits: Hits,
    fields: tuple[str, ...],
    found: frozenset[int],
    trace: list[str],
    depth: int,
) -> None:
    leaves = [c for c in node[-1] if c[0] in ("t", "near")]
    matched = [_label(c, hits, fields) for c in leaves if _eval(c, hits, fields, found, None)]
    detail = f": {', '.join(matched)}" if matched else ""
    trace.append(f"{'  ' * depth}{'✓' if result else '✗'} {node[1]}{detail}")
    for child in node[-1]:
        if child[0] not in ("t", "near"):
            _eval(child, hits, fields, found, trace, depth + 1)


def _label(node: Node, hits: Hits, fields: tuple[str, ...]) -> str:
    found = hits.in_fields(node[1], fields)
    return hits.term_hit(node[1], found[0]).text if found else str(node[1])


def _near(hits: Hits, fields: tuple[str, ...], a: int, b: int, within: int) -> bool:
    left, right = hits.in_fields(a, fields), hits.in_fields(b, fields)
    return any(
        fa == fb and abs(ia - ib) <= within and sa != sb
        for fa, ia, sa, _ in left
        for fb, ib, sb, _ in right
    )
