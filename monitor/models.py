"""The typed values passed between stages: fetch → parse → match → group → route.

Frozen dataclasses, because these are built by the thousand on the hot path and
never change once made. Configuration and rule files are pydantic models instead
(``config.py``, ``rules/schema.py``): that is where untrusted input is validated.
The outbox's own models (alerts, routes, stories) are in ``alerts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class Severity(IntEnum):
    """Ordered so that ``max()`` picks the most severe. Medium and above alert."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, name: str) -> Severity:
        return cls[name.strip().upper()]

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def alerts(self) -> bool:
        """Low and info only ever go to digests, never to an immediate alert."""
        return self >= Severity.MEDIUM


SEVERITIES = tuple(s.label for s in sorted(Severity, reverse=True))  # critical … info


@dataclass(frozen=True, slots=True)
class Validators:
    """What a feed's last good fetch told us, to ask only for what changed."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced. ``body`` is None when nothing changed (304 or same bytes).

    ``url`` is where the answer came from (after redirects). ``fresh_for``: seconds
    the publisher asks us to wait before asking again (``Cache-Control: max-age`` or
    ``Expires`` − ``Date``; 0 for ``no-cache``), None when it does not say."""

    url: str
    status: str  # "ok" | "not_modified" | "unchanged"
    body: bytes | None = None
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    # seconds the answer may be cached (Cache-Control max-age, else Expires - Date):
    # the publisher asks not to be polled again before then; None when it says nothing
    fresh_for: float | None = None
    elapsed: float = 0.0  # seconds the fetch took, headers to last byte
    size: int = 0  # bytes received (also when the body turned out unchanged)

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified, self.content_hash)


@dataclass(frozen=True, slots=True)
class Entry:
    """One normalised feed item. Text is plain (HTML stripped, entities decoded)."""

    feed: str
    key: str  # stable identity within the feed
    url_key: str  # canonical URL used to dedupe across feeds ("" when no link)
    link: str  # cleaned link for display (tracking parameters removed)
    title: str
    summary: str = ""
    content: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    published: datetime | None = None  # UTC; None when missing or absurd

    def text(self, name: str) -> str:
        """The text of one matchable field by name (see rules ``fields``)."""
        if name == "categories":
            return " · ".join(self.categories)
        if name == "feed":
            return self.feed
        return str(getattr(self, name))


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    warning: str = ""  # the parser's complaint about a malformed but readable document
    title: str = ""  # the feed's own title (a name for `monitor feeds add`)
    # seconds between polls the document asks for (RSS <ttl>, sy:updatePeriod and
    # sy:updateFrequency; the longer when both are given); None when it says nothing
    publisher_interval: float | None = None


@dataclass(frozen=True, slots=True)
class ParserState:
    """Which parser a feed has earned (``feeds/parser.py``): "" never checked, "fast"
    (both parsers agreed at the last check) or "slow"; ``since``: parses since then."""

    parser: str = ""
    since: int = 0


UNCHECKED = ParserState()  # a feed no parser has read yet


@dataclass(frozen=True, slots=True)
class TermHit:
    """Where a rule term matched: field, character span, and the text there."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """One rule that matched one entry, and why."""

    rule_id: str
    title: str
    severity: Severity
    channel: str | None
    hits: tuple[TermHit, ...]
    digest: str | None = None
    explain: tuple[str, ...] = ()

    @property
    def terms(self) -> list[str]:
        """The terms that made the rule fire, as written in the text, each once, longest
        first (the engine orders the hits so: see rules/evaluate.py)."""
        seen: dict[str, str] = {}
        for hit in self.hits:
            seen.setdefault(hit.text.lower(), hit.text)
        return list(seen.values())


@dataclass(frozen=True, slots=True)
class Candidate:
    """A new entry that may alert: it matched rules and is recent enough."""

    entry: Entry
    matches: tuple[Match, ...]  # most severe first; never empty

    @property
    def top(self) -> Match:
        return self.matches[0]
