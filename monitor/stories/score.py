"""How alike two reports are, and whether that is enough to call them one story.

Each report is a set of tokens weighted by rarity (names and figures count more).
The score is the mean of two weighted cosines, over headline + lead and over the
headlines alone (headlines name the event); a title-only item is compared by headline
with headlines, since a long summary on the other side would only dilute it.

Names decide: reports whose headlines each name someone the other never mentions
(Ford vs Honda under one template headline) are two stories, whatever else they share.
A join also needs one shared token that is rare: common words alone ("AI data leak")
are a topic, not an event. The bar is lower for reports that share a rare name with a
figure, or whose headlines are about the same rarely named subject and share another
rare token ("Upbit reports $36 million loss in Solana hot-wallet breach" and "Upbit
hack attributed to North Korea's Lazarus", whose lead names Solana too).
Between two items of one outlet, the outlet's own name is not shared evidence: every
post on a vendor's blog names the vendor.
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
RARE_IDF = 4.5  # in under ~1% of items: a join needs one shared token this rare, and a
RARE_FACTOR = 0.75  # shared name this rare, with a figure or as the subject, lowers the
# bar to this share of the threshold
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
    """A report under the current counts: its tokens without its outlet's boilerplate,
    their weights and weight sums, and the names rare enough to decide."""

    full: frozenset[str]
    title: frozenset[str]
    weights: dict[str, float]
    norm_full: float
    norm_title: float
    subject: str  # the headline's first deciding name
    subjects: frozenset[str]  # the headline's deciding names
    deciders: frozenset[str]  # all deciding names


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
            weights = {t: self.weight(t, f.names) for t in f.full}
            subjects = self._deciding(f.subjects)
            found = _Vector(
                full,
                title,
                weights,
                sum(weights[t] for t in full),
                sum(weights[t] for t in title),
                next((s for s in f.subjects if s in subjects), ""),
                subjects,
                self._deciding(f.deciders),
            )
            self._vectors[doc.key] = found
        return found

    def compare(self, a: Doc, b: Doc) -> Pair:
        va, vb = self.vector(a), self.vector(b)
        fa, fb = a.features, b.features
        own = fa.own if a.source == b.source else frozenset()
        wa, wb = va.weights, vb.weights
        title, shared = _cosine(va.title, va.norm_title, wa, vb.title - own, vb.norm_title, wb)
        if fa.title_only or fb.title_only:
            score = title
        else:
            full, shared = _cosine(va.full, va.norm_full, wa, vb.full - own, vb.norm_full, wb)
            score = (full + title) / 2
        return Pair(score, self._bar(a, b, shared), self._names_agree(a, b), shared)

    def compare_clause(self, clause: frozenset[str], b: Doc, names: frozenset[str]) -> Pair:
        """One clause of a digest, as a title-only report, against a report's headline."""
        vb = self.vector(b)
        weights = {t: self.weight(t, names) for t in clause}
        norm = sum(weights.values())
        score, shared = _cosine(clause, norm, weights, vb.title, vb.norm_title, vb.weights)
        agree = bool(self._deciding(names & clause) & vb.full)  # only through a shared name
        bar = self.threshold + DIGEST_MARGIN if self._evident(shared) else math.inf
        return Pair(score, bar, agree, shared)

    def _bar(self, a: Doc, b: Doc, shared: frozenset[str]) -> float:
        if not self._evident(shared):
            return math.inf
        fa, fb = a.features, b.features
        both = self.vector(a).full & self.vector(b).full
        if a.source == b.source:
            both -= fa.own
        rare = [t for t in fa.names & fb.names & both if self.rarity.weight(t) >= RARE_IDF]
        figure = any(t.startswith("$") for t in both)
        subject = self.vector(a).subject
        # the same subject alone is no event ("NIO delivered 14,178 vehicles" is not the
        # NIO blackmail story): it lowers the bar only beside another rare shared token
        same = subject in rare and subject == self.vector(b).subject and len(rare) > 1
        if rare and (figure or same):
            return self.threshold * RARE_FACTOR
        return self.threshold

    def _evident(self, shared: frozenset[str]) -> bool:
        return any(self.rarity.weight(t) >= RARE_IDF for t in shared)

    def _deciding(self, names: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in names if self.rarity.weight(n) >= NAME_IDF)

    def _names_agree(self, a: Doc, b: Doc) -> bool:
        """False when the names say two stories: each headline is about someone the
        other report never mentions, and no organisation is named in both headlines;
        or both name someone (in the headline, then anywhere) and neither names the
        other's. Counted on the whole text: an outlet's boilerplate is still a name."""
        fa, fb = a.features, b.features
        va, vb = self.vector(a), self.vector(b)
        sa, sb = va.subject, vb.subject
        if sa and sb and sa not in fb.full and sb not in fa.full and not fa.known & fb.known:
            return False
        for ours, others in ((va.subjects, vb.subjects), (va.deciders, vb.deciders)):
            if ours and others and not ours & fb.full and not others & fa.full:
                return False
        return True


def _cosine(
    a: frozenset[str],
    norm_a: float,
    wa: dict[str, float],
    b: frozenset[str],
    norm_b: float,
    wb: dict[str, float],
) -> tuple[float, frozenset[str]]:
    """Weighted cosine of two token sets; a token shared counts the geometric mean of
    its two weights (a name in one report may be a plain word in the other)."""
    shared = a & b
    if not shared or not norm_a or not norm_b:
        return 0.0, shared
    overlap = sum(math.sqrt(wa[t] * wb[t]) for t in shared)
    return overlap / math.sqrt(norm_a * norm_b), shared
