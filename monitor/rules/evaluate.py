"""A condition tree on the hits of one entry: does it hold, and which hits made it.

``holds`` is the hot path: it runs for every candidate rule of every item, so each
node is a set test on ``found`` (the atoms hit in the fields looked at) and positions
are read only for ``near``. ``evidence`` runs only for rules that matched.
"""

from __future__ import annotations

from ..models import TermHit
from .scan import Hits, RawHit
from .schema import FIELDS
from .tree import AllOf, AnyOf, AtLeast, InFields, Near, Node, NoneOf, Term

_FIELD_RANK = {name: i for i, name in enumerate(FIELDS)}


def holds(node: Node, hits: Hits, fields: tuple[str, ...], found: frozenset[int]) -> bool:
    """``found``: the atoms hit in ``fields``, passed down so that most nodes are set tests."""
    # Class patterns without arguments, most frequent first: binding attributes in the
    # pattern (``Term(atom)``) costs three times as much, and this runs ~50 times an item.
    match node:
        case Term():
            return node.atom in found
        case AnyOf():
            if not found.isdisjoint(node.terms):
                return True
            for child in node.others:  # noqa: SIM110
                if holds(child, hits, fields, found):
                    return True
            return False
        case AllOf():
            for child in node.children:  # noqa: SIM110 - a loop, not all(): no generator
                if not holds(child, hits, fields, found):
                    return False
            return True
        case Near():
            a, b = node.a, node.b
            return a in found and b in found and bool(near_pairs(hits, fields, a, b, node.within))
        case NoneOf():
            for child in node.children:  # noqa: SIM110
                if holds(child, hits, fields, found):
                    return False
            return True
        case InFields():
            return holds(node.child, hits, node.fields, hits.found(node.fields))
        case AtLeast():
            return sum(holds(c, hits, fields, found) for c in node.children) >= node.n
    raise TypeError(f"not a condition node: {node!r}")


def near_pairs(
    hits: Hits, fields: tuple[str, ...], a: int, b: int, within: int
) -> list[tuple[RawHit, RawHit]]:
    """Hits of ``a`` and ``b`` in one field at most ``within`` tokens apart (not one span)."""
    right = hits.in_fields(b, fields)
    return [
        (ha, hb)
        for ha in hits.in_fields(a, fields)
        for hb in right
        if ha[0] == hb[0] and abs(ha[1] - hb[1]) <= within and ha[2] != hb[2]
    ]


def evidence(node: Node, hits: Hits, fields: tuple[str, ...]) -> tuple[TermHit, ...]:
    """The hits that made ``node`` (which holds) hold: those of branches that are true,
    none under ``none``. A hit inside a longer hit is dropped; longest first."""
    raw: list[tuple[int, RawHit]] = []
    _collect(node, hits, fields, hits.found(fields), raw)
    return _clean(raw, hits)


def _collect(
    node: Node,
    hits: Hits,
    fields: tuple[str, ...],
    found: frozenset[int],
    out: list[tuple[int, RawHit]],
) -> bool:
    """Like ``holds``, appending to ``out`` the hits of the branches that hold. A node
    that does not hold leaves ``out`` as it was, so a failed branch reports nothing."""
    match node:
        case Term():
            if node.atom not in found:
                return False
            out += [(node.atom, h) for h in hits.in_fields(node.atom, fields)]
            return True
        case AllOf():
            mark = len(out)
            for child in node.children:
                if not _collect(child, hits, fields, found, out):
                    del out[mark:]
                    return False
            return True
        case AnyOf():
            present = node.terms & found
            for atom in present:
                out += [(atom, h) for h in hits.in_fields(atom, fields)]
            held = bool(present)
            for child in node.others:  # every branch that holds, not just the first
                held = _collect(child, hits, fields, found, out) or held
            return held
        case Near():
            a, b = node.a, node.b
            pairs = near_pairs(hits, fields, a, b, node.within) if a in found and b in found else []
            for ha, hb in pairs:
                out += [(a, ha), (b, hb)]
            return bool(pairs)
        case NoneOf():
            return holds(node, hits, fields, found)  # what is absent explains nothing
        case InFields():
            return _collect(node.child, hits, node.fields, hits.found(node.fields), out)
        case AtLeast():
            mark = len(out)
            count = sum(_collect(c, hits, fields, found, out) for c in node.children)
            if count < node.n:
                del out[mark:]
            return count >= node.n
    raise TypeError(f"not a condition node: {node!r}")


def _clean(raw: list[tuple[int, RawHit]], hits: Hits) -> tuple[TermHit, ...]:
    # In (field, start, -end, atom) order, a span comes after every span of its field that
    # starts earlier, or at the same place and is longer; the same span from several atoms
    # comes lowest atom first. So a span ending no later than the farthest end seen so far
    # repeats a span, or lies inside a longer one ("hit" inside "hit by"): dropped.
    kept = []
    reach: dict[str, int] = {}
    for fld, start, neg_end, atom, hit in sorted((h[0], h[2], -h[3], a, h) for a, h in raw):
        if reach.get(fld, -1) >= -neg_end:
            continue
        reach[fld] = -neg_end
        kept.append((start + neg_end, _FIELD_RANK.get(fld, 99), start, atom, hit))
    kept.sort()  # longest first, then by field and place
    return tuple(hits.term_hit(atom, hit) for *_, atom, hit in kept)
