"""Match many rules against an entry in one pass over its text.

Every term of every rule is compiled into shared lookup tables (words, phrase
starts, prefixes, case-sensitive tokens, CJK substrings, one combined regex
pre-filter). Scanning an entry walks each field's tokens once and collects the
hits; only rules that reference a hit term are then evaluated. So the cost
grows with the text and the hits, not with the number of rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..models import Entry, Match, Severity, TermHit
from .terms import HAS_CJK, TOKEN_RE, Atom

# A compiled condition: ("t", atom_id) | ("any"|"all"|"none", label, children)
#                      | ("atl", label, n, children) | ("near", a_id, b_id, within)
Node = tuple


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    severity: Severity
    channel: str | None
    digest: str | None
    fields: tuple[str, ...]
    condition: Node
    positive: frozenset[int]  # atoms whose hit can make the rule true
    open: bool = False  # may match without any hit (e.g. only `none`): always evaluated
    file: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class Hits:
    """Hits of one entry: atom id → list of (field, token index, TermHit)."""

    by_atom: dict[int, list[tuple[str, int, TermHit]]] = field(default_factory=dict)

    def add(self, atom: int, fld: str, index: int, hit: TermHit) -> None:
        self.by_atom.setdefault(atom, []).append((fld, index, hit))

    def in_fields(self, atom: int, fields: tuple[str, ...]) -> list[tuple[str, int, TermHit]]:
        return [h for h in self.by_atom.get(atom, ()) if h[0] in fields]


class Engine:
    def __init__(self, atoms: Sequence[Atom], rules: Sequence[CompiledRule],
                 exception_node: Node | None = None, exception_feeds: Iterable[str] = ()) -> None:
        self.atoms = list(atoms)
        self.rules = list(rules)
        self.exception_node = exception_node
        self.exception_feeds = frozenset(exception_feeds)
        self._words: dict[str, list[int]] = defaultdict(list)
        self._phrases: dict[str, list[tuple[int, tuple[str, ...], bool]]] = defaultdict(list)
        self._prefixes: dict[str, list[int]] = defaultdict(list)
        self._case: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        self._cjk: list[tuple[int, str]] = []
        self._regex: list[tuple[int, re.Pattern[str]]] = []
        for i, atom in enumerate(self.atoms):
            self._index(i, atom)
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._regex_gate = _combined([p for _, p in self._regex])
        self._by_atom: dict[int, list[CompiledRule]] = defaultdict(list)
        self._open = [r for r in self.rules if r.open]
        for rule in self.rules:
            for atom_id in rule.positive:
                self._by_atom[atom_id].append(rule)
        self.fields = tuple(sorted({f for r in self.rules for f in r.fields}
                                   | {"title", "summary", "content"}))

    def _index(self, i: int, atom: Atom) -> None:
        if atom.kind == "word":
            self._words[atom.key[0]].append(i)
        elif atom.kind == "prefix":
            self._prefixes[atom.key[0]].append(i)
        elif atom.kind == "phrase":
            self._phrases[atom.key[0]].append((i, atom.key, atom.prefix_last))
        elif atom.kind == "case":
            self._case[atom.key[0]].append((i, atom.key))
        elif atom.kind == "cjk":
            self._cjk.append((i, atom.key[0]))
        elif atom.kind == "regex":
            self._regex.append((i, re.compile(atom.key[0], atom.flags)))

    # -- scanning -------------------------------------------------------------

    def scan(self, entry: Entry, fields: Iterable[str] | None = None) -> Hits:
        hits = Hits()
        for fld in fields or self.fields:
            text = entry.text(fld)
            if text:
                self._scan_text(text, fld, hits)
        return hits

    def _scan_text(self, text: str, fld: str, hits: Hits) -> None:
        matches = list(TOKEN_RE.finditer(text))
        lows = [m.group().lower() for m in matches]
        words, phrases, prefixes, case = self._words, self._phrases, self._prefixes, self._case
        plens = self._prefix_lengths
        for idx, low in enumerate(lows):
            if low in words:
                m = matches[idx]
                for atom in words[low]:
                    hits.add(atom, fld, idx, _hit(self.atoms[atom], fld, m.start(), m.end(), text))
            if low in phrases:
                for atom, key, prefix_last in phrases[low]:
                    end = idx + len(key)
                    if end <= len(lows) and _seq_match(lows, idx, key, prefix_last):
                        start, stop = matches[idx].start(), matches[end - 1].end()
                        hits.add(atom, fld, idx, _hit(self.atoms[atom], fld, start, stop, text))
            for n in plens:
                if len(low) < n:
                    break
                for atom in prefixes.get(low[:n], ()):
                    m = matches[idx]
                    hits.add(atom, fld, idx, _hit(self.atoms[atom], fld, m.start(), m.end(), text))
            if case:
                orig = matches[idx].group()
                for atom, key in case.get(orig, ()):
                    end = idx + len(key)
                    if end <= len(matches) and all(
                        matches[idx + k].group() == key[k] for k in range(1, len(key))
                    ):
                        start, stop = matches[idx].start(), matches[end - 1].end()
                        hits.add(atom, fld, idx, _hit(self.atoms[atom], fld, start, stop, text))
        if self._cjk and HAS_CJK.search(text):
            low_text = text.lower()
            for atom, needle in self._cjk:
                pos = low_text.find(needle)
                if pos >= 0:
                    hits.add(atom, fld, _token_at(matches, pos),
                             _hit(self.atoms[atom], fld, pos, pos + len(needle), text))
        if self._regex_gate is not None and self._regex_gate.search(text):
            for atom, pattern in self._regex:
                found = pattern.search(text)
                if found:
                    hits.add(atom, fld, _token_at(matches, found.start()),
                             _hit(self.atoms[atom], fld, found.start(), found.end(), text))

    # -- evaluation -------------------------------------------------------------

    def match(self, entry: Entry, *, explain: bool = False) -> list[Match]:
        """Every enabled rule that matches, most severe first. Pure."""
        if entry.feed in self.exception_feeds:
            return []
        hits = self.scan(entry)
        if self.exception_node is not None and _eval(self.exception_node, hits, self.fields, None):
            return []
        candidates: dict[str, CompiledRule] = {r.id: r for r in self._open}
        for atom_id in hits.by_atom:
            for rule in self._by_atom.get(atom_id, ()):
                candidates[rule.id] = rule
        out = []
        for rule in candidates.values():
            trace: list[str] | None = [] if explain else None
            if _eval(rule.condition, hits, rule.fields, trace):
                out.append(self._as_match(rule, hits, trace))
        out.sort(key=lambda m: (-m.severity, m.rule_id))
        return out

    def _as_match(self, rule: CompiledRule, hits: Hits, trace: list[str] | None) -> Match:
        found = [h for a in sorted(rule.positive) for h in hits.in_fields(a, rule.fields)]
        found.sort(key=lambda h: (rule.fields.index(h[0]), h[2].start))
        unique: dict[tuple[str, int, int], TermHit] = {}
        for _, _, hit in found:
            unique.setdefault((hit.field, hit.start, hit.end), hit)
        return Match(rule_id=rule.id, title=rule.title, severity=rule.severity,
                     channel=rule.channel, hits=tuple(unique.values()), digest=rule.digest,
                     explain=tuple(trace or ()))


def _eval(node: Node, hits: Hits, fields: tuple[str, ...], trace: list[str] | None,
          depth: int = 0) -> bool:
    kind = node[0]
    if kind == "t":
        return bool(hits.in_fields(node[1], fields))
    if kind == "near":
        return _near(hits, fields, node[1], node[2], node[3])
    label, children = node[1], node[-1]
    if kind == "any":
        result = any(_eval(c, hits, fields, None) for c in children)
    elif kind == "all":
        result = all(_eval(c, hits, fields, None) for c in children)
    elif kind == "none":
        result = not any(_eval(c, hits, fields, None) for c in children)
    else:  # "atl"
        result = sum(_eval(c, hits, fields, None) for c in children) >= node[2]
    if trace is not None:
        mark = "✓" if result else "✗"
        matched = [_label(c, hits, fields) for c in children if c[0] in ("t", "near")
                   and _eval(c, hits, fields, None)]
        detail = f": {', '.join(matched)}" if matched else ""
        trace.append(f"{'  ' * depth}{mark} {label}{detail}")
        for child in children:
            if child[0] not in ("t", "near"):
                _eval(child, hits, fields, trace, depth + 1)
    return result


def _label(node: Node, hits: Hits, fields: tuple[str, ...]) -> str:
    atom_id = node[1]
    found = hits.in_fields(atom_id, fields)
    return found[0][2].text if found else str(atom_id)


def _near(hits: Hits, fields: tuple[str, ...], a: int, b: int, within: int) -> bool:
    left, right = hits.in_fields(a, fields), hits.in_fields(b, fields)
    return any(fa == fb and abs(ia - ib) <= within and ha.start != hb.start
               for fa, ia, ha in left for fb, ib, hb in right)


def _seq_match(lows: list[str], idx: int, key: tuple[str, ...], prefix_last: bool) -> bool:
    last = len(key) - 1
    for k in range(1, len(key)):
        tok = lows[idx + k]
        if k == last and prefix_last:
            if not tok.startswith(key[k]):
                return False
        elif tok != key[k]:
            return False
    return True


def _token_at(matches: list[re.Match[str]], pos: int) -> int:
    for i, m in enumerate(matches):
        if m.end() > pos:
            return i
    return len(matches)


def _hit(atom: Atom, fld: str, start: int, end: int, text: str) -> TermHit:
    return TermHit(term=atom.display, field=fld, start=start, end=end, text=text[start:end])


def _combined(patterns: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that matches wherever any term regex might, to skip the rest fast.
    Patterns with back-references cannot be combined safely and always run."""
    if not patterns:
        return None
    parts = []
    for p in patterns:
        if re.search(r"\\\d|\(\?P=|\(\?[aiLmsux]+\)", p.pattern):
            return re.compile("")  # gate always open
        flag = "(?i:" if p.flags & re.IGNORECASE else "(?:"
        parts.append(flag + p.pattern + ")")
    try:
        return re.compile("|".join(parts))
    except re.error:  # e.g. two patterns using the same group name
        return re.compile("")
