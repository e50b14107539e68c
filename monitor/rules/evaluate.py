"""A condition tree on the hits of one entry: does it hold.

``holds`` is the hot path: it runs for every candidate rule of every item, so each
node is a set test on ``found`` (the atoms hit in the fields looked at) and positions
are read only for ``near``.
"""

from __future__ import annotations

from .scan import Hits, RawHit
from .tree import AllOf, AnyOf, AtLeast, InFields, Near, Node, NoneOf, Term


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
