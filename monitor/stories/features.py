"""What grouping compares of one item: its tokens, which of them are names, and
whether it is title-only or a digest. Pure (the cache only saves repeated work)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..models import Entry
from .aliases import KNOWN, PLACE, Aliases
from .background import Background
from .digest import clauses, is_digest
from .text import Token, Words, tokenize

LEAD = 400  # characters of the summary compared: the lead says what happened
TITLE_ONLY = 40  # a summary shorter than this (once a repeated title is cut) adds nothing
CACHE = 4096  # items featured: each is featured when observed and again when assigned
_SUFFIX = re.compile(r"\s+[|\-–—:]\s+([^|\-–—:]+)$")  # "… | UpGuard", "… - SecurityWeek"


@dataclass(frozen=True, slots=True)
class Features:
    title: frozenset[str]  # tokens of the headline
    full: frozenset[str]  # tokens of the headline and the summary's lead
    names: frozenset[str]  # tokens written as a name somewhere (places included)
    deciders: frozenset[str]  # names that tell stories apart: names but not places
    subjects: tuple[str, ...] = ()  # the headline's deciders in order: the first is
    # usually whom the story is about (the victim, the actor)
    known: frozenset[str] = frozenset()  # organisations from the alias table in the headline
    own: frozenset[str] = frozenset()  # the outlet's own name: shared by all its items
    title_only: bool = False  # no summary worth comparing
    digest: bool = False  # a round-up of many stories (digest.py)
    clauses: tuple[frozenset[str], ...] = ()  # a digest's parts, each maybe one story
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)  # token → text


class Featurizer:
    """Features of entries with one alias table and one background table."""

    def __init__(self, aliases: Aliases, background: Background) -> None:
        self.aliases = aliases
        self.background = background
        self._cache: dict[tuple[str, str, str], Features] = {}
        self._own: dict[str, frozenset[str]] = {}
        self._words: Words = {}

    def __call__(self, entry: Entry) -> Features:
        key = (entry.feed, entry.title, entry.summary)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= CACHE:
                self._cache.clear()
            found = self._cache[key] = self._features(entry)
        return found

    def tokens(self, text: str, *, headline: bool = False) -> list[Token]:
        return tokenize(
            text, self.aliases, self.background.capitalised, headline=headline, words=self._words
        )

    def _features(self, entry: Entry) -> Features:
        # the outlet's own name appended to headlines ("… | UpGuard") and signing off
        # summaries ("The post … appeared first on SecurityWeek") says which outlet, not
        # which story; in the headline itself it may be the subject (a vendor's blog)
        own = self._own.get(entry.feed)
        if own is None:
            own = self._own[entry.feed] = frozenset(t.text for t in self.tokens(entry.feed))
        title = self.tokens(_strip_own(entry.title, own, self), headline=True)
        summary = _lead(entry.title, entry.summary)
        lead = [t for t in self.tokens(summary) if t.text not in own]
        labels: dict[str, str] = {}
        for token in (*title, *lead):
            labels.setdefault(token.text, token.label)
        title_set = frozenset(t.text for t in title)
        full = title_set | {t.text for t in lead}
        digest = is_digest(entry.title)
        parts: tuple[frozenset[str], ...] = ()
        if digest:
            texts = clauses(entry.title, entry.summary[: LEAD * 2])
            parts = tuple(
                frozenset(t.text for t in self.tokens(c, headline=True) if t.text not in own)
                for c in texts
            )
        names = _names(title) | _names(lead)
        places = {t.text for t in (*title, *lead) if t.kind == PLACE}
        return Features(
            title=title_set,
            full=full,
            names=names,
            deciders=names - places,
            subjects=tuple(dict.fromkeys(t.text for t in title if t.name and t.kind != PLACE)),
            known=frozenset(t.text for t in title if t.kind == KNOWN),
            own=own,
            title_only=len(summary) < TITLE_ONLY or full == title_set,
            digest=digest,
            clauses=tuple(p for p in parts if len(p) >= 2),
            labels=labels,
        )


def _names(tokens: Iterable[Token]) -> frozenset[str]:
    return frozenset(t.text for t in tokens if t.name)


def _strip_own(title: str, own: frozenset[str], featurizer: Featurizer) -> str:
    """The headline without a trailing "| Outlet" or "- Outlet"."""
    match = _SUFFIX.search(title)
    if match and {t.text for t in featurizer.tokens(match[1])} <= own:
        return title[: match.start()]
    return title


def _lead(title: str, summary: str) -> str:
    """The summary's first LEAD characters, without a repeat of the headline."""
    text = summary.strip()
    if title and text.lower().startswith(title.strip().lower()):
        text = text[len(title.strip()) :].lstrip(" .:-–—")
    return text[:LEAD]
