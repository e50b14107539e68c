"""How alike two reports are, and whether that is enough to call them one story.

Each report is a set of tokens weighted by rarity (names and figures count more).
The score is the mean of two weighted cosines, over headline + lead and over the
headlines alone (headlines name the event); a title-only item is compared by headline
with headlines, since a long summary on the other side would only dilute it.

Names decide: reports whose headlines each name someone the other never mentions
(Ford vs Honda under one template headline) are two stories, whatever else they share.
A join also needs one shared token that is rare: common words alone ("AI data leak")
are a topic, not an event. The bar is lower for reports sharing a rare name and a figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .models import Doc
from .rarity import Rarity

NAME_BOOST = 1.5  # a shared name says more than a shared word
FIGURE_BOOST = 1.5  # ... and so does a shared figure
NAME_IDF = 3.0  # names in more than ~5% of items decide nothing
EVIDENCE_IDF = 4.5  # a join needs a shared token this rare (in under ~1% of items)
RARE_IDF = 5.0  # a name this rare, shared with a figure, lowers the bar
RARE_FACTOR = 0.75  # ... to this share of the threshold
DIGEST_MARGIN = 0.15  # a digest's clause must pass the threshold by this much


@dataclass(frozen=True, slots=True)
class Pair:
    score: float
    bar: float  # the score this pair had to reach
    agree: bool  # False: the names say these are two stories
    shared: frozenset[str]

    @property
    def joins(self) -> bool:
        return self.agree and self.score >= self.bar


@dataclass(frozen=True, slots=True)
class _Vector:
    """A report's tokens without its outlet's boilerplate, and their weight sums."""

    full: frozenset[str]
    title: frozenset[str]
    norm_full: float
    norm_title: float


class Scorer:
    """Scores pairs under one state of the counts; ``reset`` when the counts change."""

    def __init__(self, rarity: Rarity, threshold: float) -> None:
        self.rarity = rarity
        self.threshold = threshold
        self._vectors: dict[str, _Vector] = {}

    def reset(self) -> None:
        self._vectors.clear()

    def forget(self, key: str) -> None:
        self._vectors.pop(key, None)

    def weight(self, token: str, names: frozenset[str]) -> float:
        w = self.rarity.weight(token)
        if token.startswith("$"):
            return w * FIGURE_BOOST
        return w * NAME_BOOST if token in names else w

    def vector(self, doc: Doc) -> _Vector:
        found = self._vectors.get(doc.key)
        if found is None:
            f = doc.features
            boiler = self.rarity.boilerplate(doc.source)
            full, title = f.full - boiler, f.title - boiler
            found = _Vector(full, title, self._norm(full, f.names), self._norm(title, f.names))
            self._vectors[doc.key] = found
        return found

    def _norm(self, tokens: Iterable[str], names: frozenset[str]) -> float:
        return sum(self.weight(t, names) for t in tokens)

    def compare(self, a: Doc, b: Doc) -> Pair:
        va, vb = self.vector(a), self.vector(b)
        fa, fb = a.features, b.features
        title, shared = self._cosine(
            va.title, va.norm_title, fa.names, vb.title, vb.norm_title, fb.names
        )
        if fa.title_only or fb.title_only:
            score = title
        else:
            full, shared = self._cosine(
                va.full, va.norm_full, fa.names, vb.full, vb.norm_full, fb.names
            )
            score = (full + title) / 2
        return Pair(score, self._bar(a, b, shared), self._names_agree(a, b), shared)

    def compare_clause(self, clause: frozenset[str], b: Doc, names: frozenset[str]) -> Pair:
        """One clause of a digest, as a title-only report, against a report's headline."""
        vb = self.vector(b)
        norm = self._norm(clause, names)
        score, shared = self._cosine(
            clause, norm, names, vb.title, vb.norm_title, b.features.names
        )
        agree = bool(self._deciding(names & clause) & vb.full)  # only through a shared name
        bar = self.threshold + DIGEST_MARGIN if self._evident(shared) else math.inf
        return Pair(score, bar, agree, shared)

    def _cosine(
        self,
        a: frozenset[str],
        norm_a: float,
        names_a: frozenset[str],
        b: frozenset[str],
        norm_b: float,
        names_b: frozenset[str],
    ) -> tuple[float, frozenset[str]]:
        shared = a & b
        if not shared or not norm_a or not norm_b:
            return 0.0, shared
        overlap = sum(
            math.sqrt(self.weight(t, names_a) * self.weight(t, names_b)) for t in shared
        )
        return overlap / math.sqrt(norm_a * norm_b), shared

    def _bar(self, a: Doc, b: Doc, shared: frozenset[str]) -> float:
        if not self._evident(shared):
            return math.inf
        both = self.vector(a).full & self.vector(b).full
        names = a.features.names & b.features.names & both
        rare = any(self.rarity.weight(t) >= RARE_IDF for t in names)
        figure = any(t.startswith("$") for t in both)
        return self.threshold * RARE_FACTOR if rare and figure else self.threshold

    def _evident(self, shared: frozenset[str]) -> bool:
        return any(self.rarity.weight(t) >= EVIDENCE_IDF for t in shared)

    def _deciding(self, names: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in names if self.rarity.weight(n) >= NAME_IDF)

    def _names_agree(self, a: Doc, b: Doc) -> bool:
        """False when the names say two stories: each headline is about someone the
        other report never mentions, and no organisation is named in both headlines;
        or both name someone (in the headline, then anywhere) and neither names the
        other's. Counted on the whole text: an outlet's boilerplate is still a name."""
        fa, fb = a.features, b.features
        sa, sb = self._subject(fa.subjects), self._subject(fb.subjects)
        if sa and sb and sa not in fb.full and sb not in fa.full and not fa.known & fb.known:
            return False
        for mine, theirs in ((fa.subjects, fb.subjects), (fa.deciders, fb.deciders)):
            ours, others = self._deciding(mine), self._deciding(theirs)
            if ours and others and not ours & fb.full and not others & fa.full:
                return False
        return True

    def _subject(self, subjects: tuple[str, ...]) -> str:
        return next((s for s in subjects if self.rarity.weight(s) >= NAME_IDF), "")
