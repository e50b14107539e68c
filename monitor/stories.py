"""Which items report the same story: pure features, a score, and a rolling index.

Same story means same event, not same company. The score combines what news
offers: shared names (capitalised words, domains, CJK terms), shared figures
($2.25M, 14,178, CVE ids), and the overlap of the rest of the wording, each
weighted by how rare it is among recent items (a word every story uses says
nothing). Two items join when they are close in time and the score passes a
threshold; the score and the shared terms are kept so a person can see why.
The daemon and `monitor stories test` use this same code.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import Entry

WINDOW = 72 * 3600.0
THRESHOLD = 0.26
PRIOR = 100
LEAD = 400  # characters of the summary compared
CANDIDATE_TOKENS = 20  # a new item is compared with items sharing one of its rarest words
COMMON_POSTING = 100  # ... unless more recent items than this have it (bounds the work)
SHORTLIST = 30  # candidates scored exactly, ranked by the rare words they share

_WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]+")
_FIGURE = re.compile(
    r"(?:[$€£¥]\s?)?\d[\d,.]*\s?(?:%|k\b|m\b|bn\b|b\b|tb\b|gb\b|million|billion|thousand)?",
    re.IGNORECASE,
)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)
_DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|de|fr|it|es|co|uk|jp|cn|au|br|ca|mx)\b")
_STOP = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "against",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "new",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "says",
        "said",
        "say",
        "report",
        "reports",
        "reported",
        "news",
        "update",
        "updates",
        "via",
        "per",
        "amid",
        "week",
        "today",
        "yesterday",
        "first",
        "last",
        "one",
        "two",
        "three",
        "year",
        "years",
        "day",
        "days",
        "time",
        "more",
        "than",
        "also",
        "could",
        "may",
        "might",
        "like",
        "get",
        "gets",
        "got",
        "make",
        "makes",
        "made",
        "il",
        "la",
        "le",
        "di",
        "del",
        "della",
        "che",
        "per",
        "con",
        "una",
        "un",
        "gli",
        "dei",
        "delle",
        "der",
        "die",
        "das",
        "und",
        "von",
        "zu",
        "den",
        "mit",
        # company suffixes say nothing about which company
        "corp",
        "inc",
        "ltd",
        "llc",
        "plc",
        "gmbh",
        "group",
        "company",
        "holdings",
    ]
)


@dataclass(frozen=True, slots=True)
class Features:
    words: frozenset[str]  # content words, lower case, crudely stemmed
    names: frozenset[str]  # capitalised words, acronyms, domains, CJK runs
    figures: frozenset[str]  # amounts and numbers, normalised; CVE ids
    proper: frozenset[str] = frozenset()  # names that are not just a sentence's first word
    all: frozenset[str] = frozenset()  # words, #names and $figures: what is compared


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _figure(raw: str) -> str | None:
    text = raw.lower().replace(",", "").replace(" ", "").strip(".")
    unit = ""
    for long, short in (("million", "m"), ("billion", "bn"), ("thousand", "k")):
        if text.endswith(long):
            text, unit = text[: -len(long)], short
    digits = text.lstrip("$€£¥")
    if not unit:
        for short in ("bn", "tb", "gb", "m", "k", "b", "%"):
            if digits.endswith(short):
                digits, unit = digits[: -len(short)], "bn" if short == "b" else short
                break
    try:
        value = float(digits)
    except ValueError:
        return None
    if not unit and (value < 100 or 1900 <= value <= 2100):
        return None  # small counts and years say little
    return f"{value:g}{unit}"


@functools.lru_cache(maxsize=8192)  # an item is featured when seen, decided and added
def features(title: str, summary: str = "") -> Features:
    """Pure: the grouping features of one item's title and summary."""
    # the lead says what happened; the rest of a long summary mostly adds noise and time
    text = f"{title}. {summary[:LEAD]}"
    words: set[str] = set()
    names: set[str] = set()
    proper: set[str] = set()
    sentence_start = True
    for match in _WORD.finditer(text):
        token = match.group()
        low = token.lower()
        first, sentence_start = sentence_start, text[match.end() : match.end() + 2] in (". ", ": ")
        if low in _STOP or len(low) < 3 or any(c.isdigit() for c in low) or _CJK_RUN.match(low):
            continue
        words.add(_stem(low))
        if (token.isupper() and len(token) >= 2) or token[0].isupper():
            names.add(low)
            if not first or token.isupper():  # a sentence's first word is capitalised anyway
                proper.add(low)
    for run in _CJK_RUN.findall(text):
        names.update(run[i : i + 2] for i in range(len(run) - 1))  # CJK bigrams
    domains = {d.lower() for d in _DOMAIN.findall(text.lower())}
    cjk = {run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)}
    names |= domains
    proper |= domains | cjk
    figures = {f for f in (_figure(m.group()) for m in _FIGURE.finditer(text)) if f}
    figures.update(c.upper() for c in _CVE.findall(text))
    every = frozenset(words | {f"#{n}" for n in names} | {f"${f}" for f in figures})
    return Features(
        frozenset(words), frozenset(names), frozenset(figures), frozenset(proper), every
    )


@dataclass(frozen=True, slots=True)
class Decision:
    story: str
    joined: bool  # False: the item opens a new story
    score: float = 0.0
    shared: tuple[str, ...] = ()
    matched_item: str = ""


@dataclass(eq=False)  # compared by identity: kept in sets of candidates
class _Doc:
    key: str
    story: str
    at: float
    source: str
    full: frozenset[str]  # title + summary tokens
    title: frozenset[str]  # title tokens
    anchors: frozenset[str] = frozenset()  # proper names and figures, for _names_agree
    norm_full: float = 0.0  # sums of weights when the item was added
    norm_title: float = 0.0


@dataclass
class _Rarity:
    """How rare each token is among the items seen (inverse document frequency)."""

    df: Counter[str] = field(default_factory=Counter)
    seen: int = 0
    # weights are memoised and forgotten when the count of items seen has moved by a
    # quarter (a logarithm barely moves): a logarithm per token per comparison was
    # most of a cycle's CPU
    _memo: dict[str, float] = field(default_factory=dict)
    _memo_seen: int = 0

    def add(self, tokens: Iterable[str]) -> None:
        self.df.update(tokens)
        self.seen += 1

    def weight(self, token: str) -> float:
        if abs(self.seen - self._memo_seen) > max(20, self.seen // 4):
            self._memo, self._memo_seen = {}, self.seen
        value = self._memo.get(token)
        if value is None:
            boost = 2.0 if token[0] == "$" else 1.5 if token[0] == "#" else 1.0
            # PRIOR items that lacked the token: with few items seen, every shared word
            # would otherwise look common and no two reports would ever join
            value = boost * math.log((self.seen + PRIOR) / (self.df.get(token, 0) + 1))
            self._memo[token] = value
        return value

    def norm(self, tokens: frozenset[str]) -> float:
        return sum(self.weight(t) for t in tokens)

    def cosine(
        self, a: frozenset[str], norm_a: float, b: frozenset[str], norm_b: float
    ) -> tuple[float, frozenset[str]]:
        shared = a & b
        if not shared or not norm_a or not norm_b:
            return 0.0, shared
        return sum(self.weight(t) for t in shared) / math.sqrt(norm_a * norm_b), shared


@dataclass
class StoryIndex:
    """Recent items and their stories; decides where a new item belongs.

    Score: the mean of two rarity-weighted cosines, over title + summary and
    over the title alone (titles name the event). Words a source puts in most of
    its own items (its name, its column titles) are ignored for that source.
    """

    window: float = WINDOW
    threshold: float = THRESHOLD
    docs: list[_Doc] = field(default_factory=list)
    full: _Rarity = field(default_factory=_Rarity)
    titles: _Rarity = field(default_factory=_Rarity)
    by_source: dict[str, Counter[str]] = field(default_factory=dict)
    source_items: Counter[str] = field(default_factory=Counter)
    postings: dict[str, list[_Doc]] = field(default_factory=dict)  # token → items with it
    _decided: tuple[Entry, _Doc] | None = None  # the item decide() just built

    def observe(self, entry: Entry) -> None:
        """Count an item's words for rarity (every item, matched or not)."""
        full, title = _tokens(entry)
        self.full.add(full)
        self.titles.add(title)
        self.by_source.setdefault(entry.feed, Counter()).update(full)
        self.source_items[entry.feed] += 1

    def _own(self, entry: Entry) -> tuple[frozenset[str], frozenset[str]]:
        full, title = _tokens(entry)
        n = self.source_items[entry.feed]
        if n < 4:
            return full, title
        counts = self.by_source.get(entry.feed, Counter())
        boiler = {t for t in full if counts[t] / n >= 0.25}
        return full - boiler, title - boiler

    def score(self, a: _Doc, b: _Doc) -> tuple[float, frozenset[str]]:
        full, shared = self.full.cosine(a.full, a.norm_full, b.full, b.norm_full)
        title, _ = self.titles.cosine(a.title, a.norm_title, b.title, b.norm_title)
        return (full + title) / 2, shared

    def decide(self, key: str, entry: Entry, at: float) -> Decision:
        """Where ``entry`` belongs; call ``add`` to record it."""
        doc = self._doc(key, key, entry, at)
        self._decided = (entry, doc)  # add() of the same item reuses it
        best: tuple[float, _Doc | None, frozenset[str]] = (0.0, None, frozenset())
        for other in self._candidates(doc):
            if abs(at - other.at) > self.window or other.key == key:
                continue
            value, shared = self.score(doc, other)
            if value > best[0]:
                best = (value, other, shared)
        value, match, shared = best
        if match is not None and value >= self.threshold and _names_agree(doc, match):
            ranked = sorted(shared, key=self.full.weight, reverse=True)
            readable = tuple(dict.fromkeys(t.lstrip("#$") for t in ranked))[:6]
            return Decision(match.story, True, round(value, 3), readable, match.key)
        return Decision(key, False, round(value, 3))

    def _candidates(self, doc: _Doc) -> list[_Doc]:
        """Items sharing this item's rarer words, best first, at most SHORTLIST: an
        item that shares only common words cannot pass the threshold, and scoring
        every item in the window against every new one is quadratic."""
        weight = self.full.weight
        rare = sorted(doc.full, key=weight, reverse=True)[:CANDIDATE_TOKENS]
        overlap: dict[_Doc, float] = {}
        for token in rare:
            posting = self.postings.get(token, ())
            if len(posting) <= COMMON_POSTING:
                # a word that many recent items share says little; skip its items
                w = weight(token)
                for other in posting:
                    overlap[other] = overlap.get(other, 0.0) + w
        ranked = sorted(overlap, key=overlap.__getitem__, reverse=True)
        return ranked[:SHORTLIST]

    def add(self, key: str, story: str, entry: Entry, at: float) -> None:
        last = self._decided
        if last is not None and last[0] is entry and last[1].key == key and last[1].at == at:
            doc = dataclasses.replace(last[1], story=story)
        else:
            doc = self._doc(key, story, entry, at)
        self._decided = None
        self.docs.append(doc)
        for token in doc.full:
            self.postings.setdefault(token, []).append(doc)

    def _doc(self, key: str, story: str, entry: Entry, at: float) -> _Doc:
        full, title = self._own(entry)
        feats = features(entry.title, entry.summary)
        anchors = frozenset({f"#{n}" for n in feats.proper} | {f"${f}" for f in feats.figures})
        return _Doc(
            key,
            story,
            at,
            entry.feed,
            full,
            title,
            anchors & full,
            self.full.norm(full),
            self.titles.norm(title),
        )

    def expire(self, now: float) -> None:
        self.docs = [d for d in self.docs if now - d.at <= self.window]
        self.postings = {}
        for doc in self.docs:
            for token in doc.full:
                self.postings.setdefault(token, []).append(doc)


def _names_agree(a: _Doc, b: _Doc) -> bool:
    """Reports that both name someone (a company, a place, a group) or a figure,
    but share none of them, are about different events: the same wording about
    two different victims is two stories."""
    return not (a.anchors and b.anchors) or bool(a.anchors & b.anchors)


def _tokens(entry: Entry) -> tuple[frozenset[str], frozenset[str]]:
    return features(entry.title, entry.summary).all, features(entry.title).all


def group(
    items: Iterable[tuple[str, Entry, float]],
    *,
    window: float = WINDOW,
    threshold: float = THRESHOLD,
) -> dict[str, Decision]:
    """Offline grouping (for `monitor stories test` and benchmarks), in time order.
    Rarity comes from all the items given, as the daemon's comes from all it has seen."""
    ordered = sorted(items, key=lambda it: it[2])
    index = StoryIndex(window=window, threshold=threshold)
    for _, entry, _ in ordered:
        index.observe(entry)
    out: dict[str, Decision] = {}
    for key, entry, at in ordered:
        decision = index.decide(key, entry, at)
        index.add(key, decision.story, entry, at)
        out[key] = decision
    return out
