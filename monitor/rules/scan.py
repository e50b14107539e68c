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
from typing import Any

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
        # (atom, pattern, strings one of which a match needs (may be empty), ignore case)
        self._regex: list[tuple[int, re.Pattern[str], tuple[str, ...], bool]] = []
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
            ignore_case = _ignores_case(atom.key[0], atom.flags)
            needed = required_literals(atom.key[0])
            gate = tuple(n.lower() for n in needed) if ignore_case else needed
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
            if gate:
                haystack = low_text if ignore_case else text
                if not any(g in haystack for g in gate):
                    continue
            hit = pattern.search(text)
            if hit:
                add(atom, fld, _token_at(matches, hit.start()), hit.start(), hit.end())


def required_literal(pattern: str) -> str:
    """The longest run of plain characters every match must contain, or ''.

    Only top-level literals count: anything inside a group, a repeat or an
    alternation may be skipped by some match.
    """
    needed = required_literals(pattern)
    return needed[0] if len(needed) == 1 else ""


def required_literals(pattern: str) -> tuple[str, ...]:
    """Strings of which every match contains at least one, or () when none is known.

    Looks inside groups, repeats of at least one, and alternations, so that
    ``(?:lockbit|blackcat)\\b`` gives ``("blackcat", "lockbit")``. Of the choices
    (one per place in the pattern) it keeps the one whose shortest string is longest.
    """
    if _sre_parse is None:
        return ()
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # the pattern compiled already; be safe anyway
        return ()
    found = _needed(list(parsed))
    if not found or min(len(s) for s in found) < 2:
        return ()
    return tuple(sorted(found, key=lambda s: (-len(s), s)))


def _needed(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """For a sequence of regex items: a set of strings one of which every match holds."""
    best: frozenset[str] | None = None

    def better(cand: frozenset[str] | None) -> None:
        nonlocal best
        # the longest shortest string; on a tie, fewer strings to look for
        if cand and (best is None or _rank(cand) > _rank(best)):
            best = cand

    run = ""
    for op, arg in items:
        if op is _sre_parse.LITERAL:
            run += chr(arg)
            continue
        better(frozenset({run}) if run else None)
        run = ""
        if op is _sre_parse.SUBPATTERN:
            better(_needed(list(arg[-1])))
        elif op in (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT) and arg[0] >= 1:
            better(_needed(list(arg[2])))
        elif op is _sre_parse.BRANCH:
            alternatives = [_needed(list(branch)) for branch in arg[1]]
            if all(alternatives):
                better(frozenset().union(*alternatives))  # type: ignore[arg-type]
    better(frozenset({run}) if run else None)
    return best


def _rank(strings: frozenset[str]) -> tuple[int, int]:
    return min(map(len, strings)), -len(strings)


def _ignores_case(pattern: str, flags: int) -> bool:
    """True when any part of the pattern matches regardless of case, ``(?i:…)`` too:
    then the pre-check compares lowercased text (a wrong guess only costs a search)."""
    if flags & re.IGNORECASE:
        return True
    try:
        if re.compile(pattern, flags).flags & re.IGNORECASE:
            return True
    except re.error:
        return True
    return re.search(r"\(\?[aLmsux-]*i", pattern) is not None


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
