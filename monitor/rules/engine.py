"""Match an entry against every rule: one scan, then only the rules that can hold.

Each rule is indexed by a *trigger*: a set of atoms at least one of which must
be present for the rule to possibly match (for ``all``, the rarest branch; for
``any``, every branch). Only rules whose trigger was hit are evaluated, on the
set of atoms found, so the cost follows the hits, not the number of rules.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from ..models import Entry, Match
from .evaluate import evidence, holds
from .explain import Branch, RuleTrace, summary, trace
from .scan import Hits, Scanner
from .schema import DEFAULT_FIELDS
from .terms import Atom
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
    Term,
    narrowed_fields,
    positive_atoms,
)


class Engine:
    def __init__(
        self,
        atoms: Sequence[Atom],
        rules: Sequence[CompiledRule],
        exceptions: Exceptions | None = None,
    ) -> None:
        self.atoms = list(atoms)
        self.scanner = Scanner(self.atoms)
        self.rules = list(rules)
        self.exceptions = exceptions or Exceptions()
        # rules sharing an atom (a common list) make it a poor trigger: prefer rare ones
        usage = Counter(a for r in self.rules for a in positive_atoms(r.condition))
        self._by_atom: dict[int, list[CompiledRule]] = defaultdict(list)
        self._open: list[CompiledRule] = []  # no trigger: evaluated for every entry
        for rule in self.rules:
            atoms_needed = _trigger(rule.condition, usage)
            if atoms_needed is None:
                self._open.append(rule)
                continue
            for atom_id in atoms_needed:
                self._by_atom[atom_id].append(rule)
        scanned = {*DEFAULT_FIELDS}
        for rule in self.rules:
            scanned |= {*rule.fields, *narrowed_fields(rule.condition)}
        self.fields = tuple(sorted(scanned))

    def scan(self, entry: Entry, fields: Iterable[str] | None = None) -> Hits:
        return self.scanner.scan(entry, fields or self.fields)

    def match(self, entry: Entry, *, explain: bool = False) -> list[Match]:
        """Every enabled rule that matches, most severe first. Pure."""
        if entry.feed in self.exceptions.feeds:
            return []
        hits = self.scan(entry)
        terms = self.exceptions.terms
        if terms is not None and holds(terms, hits, self.fields, hits.found(self.fields)):
            return []
        candidates: dict[str, CompiledRule] = {r.id: r for r in self._open}
        for atom_id in hits.by_atom:
            for rule in self._by_atom.get(atom_id, ()):
                candidates[rule.id] = rule
        out = []
        for rule in candidates.values():
            if holds(rule.condition, hits, rule.fields, hits.found(rule.fields)):
                out.append(self._as_match(rule, hits, explain))
        out.sort(key=lambda m: (-m.severity, m.rule_id))
        return out

    def explain(self, entry: Entry) -> list[RuleTrace]:
        """Every enabled rule on ``entry``, most severe first: whether it matched and,
        if not, which branch failed or which exception applied, with file:line."""
        hits = self.scan(entry)
        excepted = self._exception(entry, hits)
        out = []
        for rule in self.rules:
            condition = trace(rule.condition, hits, rule.fields, self.atoms)
            out.append(
                RuleTrace(
                    rule_id=rule.id,
                    title=rule.title,
                    severity=rule.severity,
                    where=rule.where,
                    matched=condition.ok and excepted is None,
                    condition=condition,
                    excepted_by=excepted,
                )
            )
        out.sort(key=lambda t: (-t.severity, t.rule_id))
        return out

    def _exception(self, entry: Entry, hits: Hits) -> Branch | None:
        """The feed or term of exceptions.yaml that silences ``entry``, if any."""
        if entry.feed in self.exceptions.feeds:
            return Branch("feed", entry.feed, True, self.exceptions.feeds[entry.feed])
        if self.exceptions.terms is None:
            return None
        return next(trace(self.exceptions.terms, hits, self.fields, self.atoms).present(), None)

    def _as_match(self, rule: CompiledRule, hits: Hits, explain: bool) -> Match:
        lines: list[str] = []
        if explain:
            lines = summary(trace(rule.condition, hits, rule.fields, self.atoms))
        return Match(
            rule_id=rule.id,
            title=rule.title,
            severity=rule.severity,
            channel=rule.channel,
            hits=evidence(rule.condition, hits, rule.fields),
            digest=rule.digest,
            explain=tuple(lines),
        )


def _trigger(node: Node, usage: Counter[int]) -> frozenset[int] | None:
    """Atoms of which at least one must be hit for ``node`` to hold; None if none must."""
    match node:
        case Term(atom):
            return frozenset({atom})
        case Near(a, b):  # both must be there: index the rarer
            return frozenset({min(a, b, key=lambda x: usage[x])})
        case InFields(_, child):
            return _trigger(child, usage)
        case NoneOf():
            return None
        case AnyOf():
            subs = [_trigger(c, usage) for c in node.others]
            if any(s is None for s in subs):
                return None
            return node.terms.union(*subs)  # type: ignore[arg-type]
        case AllOf(children):
            known = _cheapest_first(children, usage)
            return known[0] if known else None
        case AtLeast(n, children):
            # at least n of k hold, so one of any k-n+1 of them does
            need = len(children) - n + 1
            known = _cheapest_first(children, usage)
            return frozenset().union(*known[:need]) if len(known) >= need else None
    raise TypeError(f"not a condition node: {node!r}")


def _cheapest_first(children: tuple[Node, ...], usage: Counter[int]) -> list[frozenset[int]]:
    subs = (_trigger(c, usage) for c in children)
    return sorted((s for s in subs if s is not None), key=lambda s: sum(usage[a] for a in s))
