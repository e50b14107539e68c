"""The compiled form of a rule: a tree of small frozen nodes over atom ids.

``compile.py`` builds it from the schema models; ``evaluate.py`` runs it with
``match`` statements; ``explain.py`` walks it to say why a rule did or did not fire.
Atoms are ints (indexes into the engine's atom table) so that evaluation is a set test.

Every node may carry ``where``, the place in a rule or list file it was written. It is
excluded from equality and never read while matching: it is there for explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Severity


@dataclass(frozen=True, slots=True)
class Source:
    """A place in a rule or list file, 1-based."""

    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Term:
    """One term: true when its atom was hit in the fields looked at."""

    atom: int
    where: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Two terms at most ``within`` tokens apart, in the same field."""

    a: int
    b: int
    within: int
    where: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every child holds. ``combined``: made from several keys of one mapping
    (``all`` + ``none``), which the author wrote side by side, not as ``all``."""

    children: tuple[Node, ...]
    where: Source | None = field(default=None, compare=False, repr=False)
    combined: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one child holds. ``list``: the named list it was expanded from.

    Most children are plain terms (every list of words): ``terms`` holds their atoms,
    so that they are tested as one set intersection; ``others`` are the rest."""

    children: tuple[Node, ...]
    where: Source | None = field(default=None, compare=False, repr=False)
    list: str = field(default="", compare=False)
    terms: frozenset[int] = field(init=False, compare=False, repr=False)
    others: tuple[Node, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        terms = frozenset(c.atom for c in self.children if isinstance(c, Term))
        others = tuple(c for c in self.children if not isinstance(c, Term))
        object.__setattr__(self, "terms", terms)  # derived once; the node stays frozen
        object.__setattr__(self, "others", others)


@dataclass(frozen=True, slots=True)
class NoneOf:
    """No child holds."""

    children: tuple[Node, ...]
    where: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AtLeast:
    """At least ``n`` of the children hold."""

    n: int
    children: tuple[Node, ...]
    where: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class InFields:
    """The child, looking only in these fields (a condition with ``fields:``)."""

    fields: tuple[str, ...]
    child: Node
    where: Source | None = field(default=None, compare=False, repr=False)


Node = Term | Near | AllOf | AnyOf | NoneOf | AtLeast | InFields


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One enabled rule, ready to match: what a Match reports, and its condition."""

    id: str
    title: str
    severity: Severity
    channel: str | None
    digest: str | None
    fields: tuple[str, ...]
    condition: Node
    where: Source | None = field(default=None, compare=False)  # its `id:`, for explanations


@dataclass(frozen=True, slots=True)
class Exceptions:
    """``exceptions.yaml``: items from these feeds, or matching ``terms``, never alert."""

    terms: Node | None = None
    feeds: Mapping[str, Source] = field(default_factory=dict)  # feed → where it is listed


def positive_atoms(node: Node) -> set[int]:
    """Atoms whose presence can make ``node`` true (not those under ``none``)."""
    match node:
        case Term(atom):
            return {atom}
        case Near(a, b):
            return {a, b}
        case NoneOf():
            return set()
        case InFields(_, child):
            return positive_atoms(child)
        case AllOf(children) | AnyOf(children) | AtLeast(_, children):
            return set().union(*(positive_atoms(c) for c in children))
    raise TypeError(node)


def narrowed_fields(node: Node) -> set[str]:
    """Fields named by ``fields:`` anywhere in the tree (the scan must cover them)."""
    match node:
        case Term() | Near():
            return set()
        case InFields(fields, child):
            return set(fields) | narrowed_fields(child)
        case AllOf(children) | AnyOf(children) | NoneOf(children) | AtLeast(_, children):
            return set().union(*(narrowed_fields(c) for c in children))
    raise TypeError(node)


def can_match_empty(node: Node) -> bool:
    """True when ``node`` holds for an item in which no term at all was found."""
    match node:
        case Term() | Near():
            return False
        case NoneOf():
            return True
        case InFields(_, child):
            return can_match_empty(child)
        case AnyOf(children):
            return any(can_match_empty(c) for c in children)
        case AllOf(children):
            return all(can_match_empty(c) for c in children)
        case AtLeast(n, children):
            return sum(can_match_empty(c) for c in children) >= n
    raise TypeError(node)
