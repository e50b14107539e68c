"""The story index: recent reports and their stories, and where a new report belongs.

Per poll cycle the daemon calls ``observe`` with every new item (word counts), then
``assign`` once with all alerting reports of the cycle. ``assign`` puts its batch in
one canonical order (time, headline, key) and decides each report against the index
as it stands, earlier reports of the batch included: the same batch in any order
gives the same decisions, and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..models import Entry
from .aliases import Aliases, load_aliases
from .background import Background, load_background
from .features import Features, Featurizer
from .models import Decision, Doc, Report
from .rarity import Rarity
from .score import Pair, Scorer

WINDOW = 72 * 3600.0  # reports this close in time can be one story
THRESHOLD = 0.26  # score needed to join a story (see score.py)
CANDIDATE_TOKENS = 20  # a report is compared with reports sharing its headline, names,
# figures or one of this many of its rarest other tokens
COMMON_POSTING = 100  # ... unless more recent reports than this have it (bounds the work)
SHORTLIST = 30  # candidates scored in full, ranked by the rare tokens they share
SHOWN = 6  # shared tokens kept in a decision


class Grouper:
    def __init__(
        self,
        *,
        window: float,
        threshold: float,
        background: Background | None = None,
        aliases: Aliases | None = None,
    ) -> None:
        self.window = window
        self.threshold = threshold
        self.featurize = Featurizer(aliases or load_aliases(None), background or load_background())
        self.rarity = Rarity(self.featurize.background)
        self.scorer = Scorer(self.rarity, threshold)
        self._docs: dict[str, Doc] = {}  # every report inside the window
        self._story: dict[str, str] = {}  # report key → story key
        self._postings: dict[str, set[str]] = {}  # token → keys of reports (not digests)
        self._now = 0.0  # the latest time known: stands in for items with no date

    # -- counting -----------------------------------------------------------------------

    def observe(self, entries: Iterable[Entry]) -> None:
        """Count words for rarity: every new item, alerting or not. An item counts until
        its published time leaves the window; an undated one from the latest time the
        grouper knows (the last ``expire`` or report): on a restart, call ``expire(now)``
        before observing the recent items, or they are forgotten at the first expire."""
        for entry in entries:
            at = entry.published.timestamp() if entry.published else self._now
            self.rarity.add(at, entry.feed, self.featurize(entry).full)
        self.scorer.reset()

    def expire(self, now: float) -> None:
        """Forget reports and counted items older than the window."""
        self._now = max(self._now, now)
        cutoff = now - self.window
        for key in [k for k, d in self._docs.items() if d.at < cutoff]:
            self._drop(key)
        self.rarity.expire(cutoff)
        self.scorer.reset()

    # -- grouping -----------------------------------------------------------------------

    def assign(self, batch: Sequence[Report]) -> list[Decision]:
        """Decide and record one cycle's reports; decisions come back in batch order."""
        decided: dict[str, Decision] = {}
        for report in sorted(batch, key=lambda r: (r.at, r.entry.title, r.key)):
            decision = self.decide(report)
            self._add(report, decision.story)
            decided[report.key] = decision
        return [decided[r.key] for r in batch]

    def warm(self, entries: Iterable[Entry], reports: Iterable[tuple[Report, str]]) -> None:
        """Warm-up on restart, after ``expire(now)``: what ``observe`` counted for
        ``entries`` and what ``assign`` recorded for ``reports`` (each with the story the
        database has it in). The same as observing, then adding each report; but a
        report's text is usually among the entries, so it is featurized once, not twice
        (the featurizer's cache is far smaller than a window of news)."""
        undated = self._now  # observe's time for undated items: before any report moves it
        known: dict[tuple[str, str, str], Features] = {}
        for report, story in reports:
            self._add(report, story)
            e = report.entry
            known[(e.feed, e.title, e.summary)] = self._docs[report.key].features
        for entry in entries:
            at = entry.published.timestamp() if entry.published else undated
            features = known.get((entry.feed, entry.title, entry.summary))
            self.rarity.add(at, entry.feed, (features or self.featurize(entry)).full)
        self.scorer.reset()

    def move(self, key: str, story: str) -> None:
        """A person split or merged stories: this report now belongs to ``story``."""
        if key in self._story:
            self._story[key] = story

    def decide(self, report: Report) -> Decision:
        """Where ``report`` belongs, without recording it (``assign`` records)."""
        doc = self._doc(report)
        f = doc.features
        if f.digest:
            pairs = [(self._clause_pair(doc, other), other) for other in self._candidates(doc)]
        else:
            pairs = [(self.scorer.compare(doc, other), other) for other in self._candidates(doc)]
        if not pairs:
            return Decision(report.key, report.key, False)
        # best first; equal scores fall to the earlier report, then the smaller key
        pair, other = min(pairs, key=lambda p: (not p[0].joins, -p[0].score, p[1].at, p[1].key))
        shared = self._readable(pair, doc, other)
        if pair.joins:
            story = self._story[other.key]
            return Decision(report.key, story, True, round(pair.score, 3), shared, other.key)
        return Decision(report.key, report.key, False, round(pair.score, 3), shared, other.key)

    def _clause_pair(self, doc: Doc, other: Doc) -> Pair:
        names = doc.features.names
        pairs = [self.scorer.compare_clause(c, other, names) for c in doc.features.clauses]
        return max(pairs, key=lambda p: (p.joins, p.score), default=Pair(0, 1, False, frozenset()))

    def _candidates(self, doc: Doc) -> list[Doc]:
        """Reports in the window that share this one's telling tokens, best first, at most
        SHORTLIST: scoring every report against every new one would be quadratic. The
        headline, names and figures always count: a foreign-language lead is all rare
        words, and the name it shares with an English report is not among the rarest."""
        f = doc.features
        telling = f.title.union(f.names, *f.clauses)
        rest = sorted(f.full - telling, key=lambda t: (-self.rarity.weight(t), t))
        overlap: dict[str, float] = {}
        for token in sorted(telling) + rest[:CANDIDATE_TOKENS]:
            posting = self._postings.get(token, ())
            if len(posting) <= COMMON_POSTING:
                w = self.rarity.weight(token)
                for key in posting:
                    overlap[key] = overlap.get(key, 0.0) + w
        ranked = sorted(overlap, key=lambda k: (-overlap[k], k))
        near = (self._docs[k] for k in ranked if k != doc.key)
        return [d for d in near if abs(d.at - doc.at) <= self.window][:SHORTLIST]

    def _readable(self, pair: Pair, doc: Doc, other: Doc) -> tuple[str, ...]:
        names = doc.features.names | other.features.names
        ranked = sorted(pair.shared, key=lambda t: (-self.scorer.weight(t, names), t))
        labels = {**other.features.labels, **doc.features.labels}
        return tuple(dict.fromkeys(labels.get(t, t) for t in ranked))[:SHOWN]

    # -- the index ----------------------------------------------------------------------

    def _doc(self, report: Report) -> Doc:
        return Doc(report.key, report.at, report.entry.feed, self.featurize(report.entry))

    def _add(self, report: Report, story: str) -> None:
        self._drop(report.key)
        doc = self._doc(report)
        self._docs[doc.key] = doc
        self._story[doc.key] = story
        self._now = max(self._now, doc.at)
        if not doc.features.digest:  # a digest never opens a story others can join
            for token in doc.features.full:
                self._postings.setdefault(token, set()).add(doc.key)

    def _drop(self, key: str) -> None:
        doc = self._docs.pop(key, None)
        self._story.pop(key, None)
        self.scorer.forget(key)
        if doc is not None:
            for token in doc.features.full:
                keys = self._postings.get(token)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._postings[token]
