"""The fast parser: fastfeedparser (lxml, a native core), about 30× faster than feedparser.

It is not trusted on its own word. On our corpus it is silently wrong on about one
document in nine (summaries cut mid-tag, mojibake kept, guids invented from links,
entries dropped), so ``parser.py`` uses it for a feed only after both parsers gave
identical entries for that feed, and checks again now and then. This module adds the
checks that need no second parse: it refuses (raises ``NotPlain``) any document that
is not plainly RSS 2.0 or Atom in UTF-8, whose item count it cannot confirm, or where
an item lacks a guid (fastfeedparser would make one up from the link, and an entry's
identity must never depend on which parser read it).

Its items are turned into dicts with feedparser's key names and go through the
same ``entries_of`` as feedparser's, so every other rule of normalisation is shared.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..models import ParsedFeed
from .parse import TITLE_LIMIT, _surrogate_safe, entries_of, publisher_interval
from .text import plain_text


class NotPlain(Exception):
    """The document is one the fast parser is not trusted with: feedparser reads it."""


_HEAD = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml(?P<decl>[^>]*)\?>\s*)?(?:<!--.*?-->\s*|<\?xml-stylesheet[^>]*>\s*)*"
    rb"<(?P<root>rss|feed)[\s>]",
    re.S,
)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_RSS_ITEM = re.compile(rb"<item[\s>/]")
_ATOM_ENTRY = re.compile(rb"<entry[\s>/]")
_RSS_GUID = re.compile(rb"<guid[\s>]")
_ATOM_ID = re.compile(rb"<id[\s>]")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


def parse_fast(body: bytes, *, feed_name: str, base_url: str, now: datetime) -> ParsedFeed:
    """Entries as ``parse_feed`` gives them, or ``NotPlain`` when the document is odd."""
    head = _HEAD.match(body[:4096])
    if head is None:
        raise NotPlain("not plainly RSS 2.0 or Atom")
    encoding = _ENCODING.search(head.group("decl") or b"")
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NotPlain(f"declared encoding {encoding.group(1).decode()}")
    if _DOCTYPE.search(body):
        raise NotPlain("a DOCTYPE or entity declaration")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotPlain("not valid UTF-8") from exc
    atom = head.group("root") == b"feed"
    expected = len((_ATOM_ENTRY if atom else _RSS_ITEM).findall(body))
    ids = len((_ATOM_ID if atom else _RSS_GUID).findall(body))
    if ids < expected:
        raise NotPlain("an item without a guid")

    import fastfeedparser  # here: only the processes that parse pay for importing it

    try:
        doc = fastfeedparser.parse(_surrogate_safe(body))
    except Exception as exc:  # anything it cannot read, feedparser reads
        raise NotPlain(f"{exc.__class__.__name__}: {exc}"[:200]) from exc
    items = doc.get("entries") or []
    if len(items) != expected:
        raise NotPlain(f"{len(items)} entries for {expected} items")
    feed_link = str((doc.get("feed") or {}).get("link") or "")
    base = base_url if base_url.startswith(("http://", "https://")) else feed_link
    raw = [_as_feedparser(item) for item in items]
    if any(not r.get("id") for r in raw):
        raise NotPlain("an item without a guid")
    entries = tuple(entries_of(raw, feed_name, base, now))
    if len(entries) != expected:
        raise NotPlain("an item was skipped")
    return ParsedFeed(
        entries=entries,
        title=plain_text(str((doc.get("feed") or {}).get("title") or ""), TITLE_LIMIT),
        publisher_interval=_publisher_interval(body),
    )


_CHANNEL_HEAD = re.compile(rb"<(?:item|entry)[\s>/]")
_ASKS = {
    "ttl": re.compile(rb"<ttl>\s*([^<]{1,20})</ttl>"),
    "sy_updateperiod": re.compile(rb"<sy:updatePeriod>\s*([^<]{1,20})</sy:updatePeriod>"),
    "sy_updatefrequency": re.compile(rb"<sy:updateFrequency>\s*([^<]{1,20})</sy:updateFrequency>"),
}


def _publisher_interval(body: bytes) -> float | None:
    """What the channel asks (<ttl>, sy:), read from the bytes before the first item
    with feedparser's key names, so ``parse.publisher_interval`` decides the same."""
    first = _CHANNEL_HEAD.search(body)
    head = body[: first.start()] if first else body[:8192]
    found = {}
    for key, pattern in _ASKS.items():
        if m := pattern.search(head):
            found[key] = m.group(1).decode("utf-8", "replace")
    return publisher_interval(found)


def _as_feedparser(item: Any) -> dict[str, Any]:
    """fastfeedparser's item with feedparser's key names."""
    summary = item.get("description")
    contents: list[Any] = list(item.get("content") or ())
    if len(contents) == 1 and contents[0].get("value") == summary:
        contents = []  # an RSS description copied into content by fastfeedparser
    out: dict[str, Any] = {
        "title": item.get("title"),
        "summary": summary,
        "content": [{"value": c.get("value")} for c in contents],
        "link": item.get("link"),
        "links": [{"href": x.get("href")} for x in item.get("links") or ()],
        "id": item.get("id"),
        "author": item.get("author"),
        "tags": [{"term": t.get("term")} for t in item.get("tags") or ()],
    }
    for name in ("published", "updated"):
        value = item.get(name)
        if value:
            when = _iso(value)
            if when is None:
                raise NotPlain(f"unreadable {name} date {value!r}")
            out[f"{name}_parsed"] = when.utctimetuple()
            out[name] = value
    return out


def _iso(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
