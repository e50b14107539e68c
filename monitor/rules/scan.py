"""One pass over an entry's text against every term of every rule.

All terms are compiled into shared lookup tables: whole words, phrase starts,
prefixes (behind a cheap head check), case-sensitive tokens, CJK substrings, and
regular expressions behind a literal each must contain. Scanning walks each
field's tokens once; its cost grows with the text, not with the number of rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..models import Entry, TermHit
from .terms import HAS_CJK, TOKEN_RE, Atom

try:  # the regex parser, to find the literal a pattern cannot match without
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons
    _sre_parse = None


RawHit = tuple[str, int, int, int]  # field, token index, start, end


@dataclass
class Hits:
    """Hits of one entry: atom id → list of (field, token index, start, end).

    TermHit objects are made only for hits a matching rule reports (``term_hit``):
    most hits of a large rule set belong to rules that do not match."""

    atoms: Sequence[Atom]
    by_atom: dict[int, list[RawHit]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    _found: dict[tuple[str, ...], frozenset[int]] = field(default_factory=dict)

    def add(self, atom: int, fld: str, index: int, start: int, end: int) -> None:
        self.by_atom.setdefault(atom, []).append((fld, index, start, end))

    def in_fields(self, atom: int, fields: tuple[str, ...]) -> list[RawHit]:
        return [h for h in self.by_atom.get(atom, ()) if h[0] in fields]

    def term_hit(self, atom: int, raw: RawHit) -> TermHit:
        fld, _, start, end = raw
        text = self.texts[fld][start:end]
        return TermHit(term=self.atoms[atom].display, field=fld, start=start, end=end, text=text)

    def found(self, fields: tuple[str, ...]) -> frozenset[int]:
        """Atoms hit in any of these fields (computed once per fields tuple)."""
        cached = self._found.get(fields)
        if cached is None:
            cached = frozenset(
                a for a, hs in self.by_atom.items() if any(h[0] in fields for h in hs)
            )
            self._found[fields] = cached
        return cached


class Scanner:
    def __init__(self, atoms: Sequence[Atom]) -> None:
        self.atoms = list(atoms)
        self._words: dict[str, list[int]] = defaultdict(list)
        self._phrases: dict[str, list[tuple[int, tuple[str, ...], bool]]] = defaultdict(list)
        self._prefixes: dict[str, list[int]] = defaultdict(list)
        self._case: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        self._cjk: list[tuple[int, str]] = []
        self._regex: list[tuple[int, re.Pattern[str], str, bool]] = []
        for i, atom in enumerate(self.atoms):
            self._index(i, atom)
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        shortest = self._prefix_lengths[0] if self._prefix_lengths else 0
        self._prefix_min = shortest
        self._prefix_heads = frozenset(p[:shortest] for p in self._prefixes)

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
            ignore_case = bool(atom.flags & re.IGNORECASE)
            literal = required_literal(atom.key[0])
            gate = literal.lower() if ignore_case else literal
            self._regex.append((i, re.compile(atom.key[0], atom.flags), gate, ignore_case))

    def scan(self, entry: Entry, fields: Iterable[str]) -> Hits:
        hits = Hits(self.atoms)
        for fld in fields:
            text = entry.text(fld)
            if text:
                hits.texts[fld] = text
                self._scan_text(text, fld, hits)
        return hits

    def _scan_text(self, text: str, fld: str, hits: Hits) -> None:
        add = hits.add
        matches = list(TOKEN_RE.finditer(text))
        origs = [m.group() for m in matches]
        lows = [o.lower() for o in origs]
        words, phrases, prefixes, case = self._words, self._phrases, self._prefixes, self._case
        plens, pmin, heads = self._prefix_lengths, self._prefix_min, self._prefix_heads
        count = len(lows)
        for idx, low in enumerate(lows):
            found = words.get(low)
            if found:
                m = matches[idx]
                for atom in found:
                    add(atom, fld, idx, m.start(), m.end())
            starts = phrases.get(low)
            if starts:
                for atom, key, prefix_last in starts:
                    end = idx + len(key)
                    if end <= count and _seq_match(lows, idx, key, prefix_last):
                        add(atom, fld, idx, matches[idx].start(), matches[end - 1].end())
            if pmin and len(low) >= pmin and low[:pmin] in heads:
                for n in plens:
                    if len(low) < n:
                        break
                    for atom in prefixes.get(low[:n], ()):
                        m = matches[idx]
                        add(atom, fld, idx, m.start(), m.end())
            if case:
                for atom, key in case.get(origs[idx], ()):
                    end = idx + len(key)
                    if end <= count and all(origs[idx + k] == key[k] for k in range(1, len(key))):
                        add(atom, fld, idx, matches[idx].start(), matches[end - 1].end())
        low_text = text.lower() if (self._cjk or self._regex) else ""
        if self._cjk and HAS_CJK.search(text):
            for atom, needle in self._cjk:
                pos = low_text.find(needle)
                if pos >= 0:
                    add(atom, fld, _token_at(matches, pos), pos, pos + len(needle))
        for atom, pattern, gate, ignore_case in self._regex:
            if gate and gate not in (low_text if ignore_case else text):
                continue
            hit = pattern.search(text)
            if hit:
                add(atom, fld, _token_at(matches, hit.start()), hit.start(), hit.end())


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match must contain, or ''.

    Only top-level literals count: anything inside a group, a repeat or an
    alternation may be skipped by some match.
    """
    if _sre_parse is None:
        return ""
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # the pattern compiled already; be safe anyway
        return ""
    best, run = "", ""
    literal = _sre_parse.LITERAL
    for op, arg in parsed:
        if op is literal:
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best if len(best) >= 2 else ""


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
