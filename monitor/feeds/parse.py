"""Feed bytes → normalised entries. Pure: no network, no files, no clock but ``now``.

feedparser does the XML and encoding work; its HTML sanitiser and relative-URI
passes are switched off because they are most of its cost and we strip HTML
and resolve links ourselves (``text.py``, ``urls.py``, ``dates.py``).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..errors import ParseError
from ..models import Entry, ParsedFeed
from .dates import parse_date, sane_date
from .text import plain_text
from .urls import clean_link, url_key

SUMMARY_LIMIT = 1_000
CONTENT_LIMIT = 20_000
TITLE_LIMIT = 500


# A character reference to a UTF-16 surrogate (``&#xD800;``) makes feedparser's
# fallback parser raise, which would lose every entry of the feed for one character.
_SURROGATE_REF = re.compile(rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*5[5-7][0-9]{3});")


def _surrogate_safe(body: bytes) -> bytes:
    def fix(m: re.Match[bytes]) -> bytes:
        text = m.group()[2:-1]
        value = int(text[1:], 16) if text[:1] in (b"x", b"X") else int(text)
        return b"&#xFFFD;" if 0xD800 <= value <= 0xDFFF else m.group()

    return _SURROGATE_REF.sub(fix, body) if b"&#" in body else body


def parse_feed(
    body: bytes, *, feed_name: str, base_url: str = "", content_type: str = "", now: datetime
) -> ParsedFeed:
    """Parse one feed document. Raises ParseError only when it is not a feed at all."""
    # No content-location: with a base URL feedparser urljoins every element
    # (a third of its time); entry links are resolved against base_url below.
    headers = {"content-type": content_type} if content_type else {}
    try:
        doc = feedparser.parse(
            io.BytesIO(_surrogate_safe(body)),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser has no error tree of its own; anything is "not a feed"
        raise ParseError(f"not a readable feed: {exc.__class__.__name__}: {exc}") from exc
    if not doc.get("version") and not doc.entries:
        head = body[:512].lstrip().lower()
        looks_html = head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
        what = "an HTML page, not RSS or Atom" if looks_html else "not RSS or Atom"
        raise ParseError(f"the document is {what}")
    feed_link = str(doc.feed.get("link") or "")
    base = base_url if base_url.startswith(("http://", "https://")) else feed_link
    entries = tuple(entries_of(doc.entries, feed_name, base, now))
    warning = ""
    if doc.get("bozo"):
        bozo = doc.get("bozo_exception")
        warning = f"{bozo.__class__.__name__}: {bozo}"[:300] if bozo else "malformed feed"
    return ParsedFeed(
        entries=entries,
        warning=warning,
        title=plain_text(_str(doc.feed.get("title")), TITLE_LIMIT),
        publisher_interval=publisher_interval(doc.feed),
    )


_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 604800.0}
_PERIODS |= {"monthly": 30 * 86400.0, "yearly": 365 * 86400.0}


def publisher_interval(feed: Any) -> float | None:
    """Seconds between polls the document asks for: RSS ``<ttl>`` (minutes) and
    ``sy:updatePeriod`` / ``sy:updateFrequency`` (times per period); the longer wins.
    Junk values are ignored rather than failing the feed."""
    asks = []
    ttl = _str(feed.get("ttl")).strip()
    if ttl.isdigit() and int(ttl) > 0:
        asks.append(int(ttl) * 60.0)
    period = _PERIODS.get(_str(feed.get("sy_updateperiod")).strip().lower())
    if period:
        frequency = _str(feed.get("sy_updatefrequency")).strip() or "1"
        asks.append(period / int(frequency) if frequency.isdigit() and int(frequency) else period)
    return max(asks) if asks else None


def entries_of(raw: Iterable[Any], feed_name: str, base: str, now: datetime) -> Iterable[Entry]:
    """Entries from items shaped like feedparser's (a FeedParserDict, or a plain dict
    with the same keys: see ``fast.py``), one way whichever parser read them."""
    seen_guids: set[str] = set()
    for item in raw:
        try:
            entry = _entry(item, feed_name, base, now, seen_guids)
        except Exception:  # one broken entry never fails the feed; skip it
            continue
        if entry is not None:
            yield entry


def _entry(item: Any, feed: str, base: str, now: datetime, seen: set[str]) -> Entry | None:
    title = plain_text(_str(item.get("title")), TITLE_LIMIT)
    content = plain_text(
        " ".join(_str(c.get("value")) for c in item.get("content") or ()), CONTENT_LIMIT
    )
    summary = plain_text(_str(item.get("summary")), SUMMARY_LIMIT)
    if content and summary and content.startswith(summary.rstrip("…")):
        summary = plain_text(content, SUMMARY_LIMIT)
    link = clean_link(_str(item.get("link")), base)
    if not link:
        for alt in item.get("links") or ():
            link = clean_link(_str(alt.get("href")), base)
            if link:
                break
    if not (title or summary or link):
        return None
    # dict.get, not item.get: FeedParserDict maps missing keys to others with a
    # DeprecationWarning (updated → published), which we do not want to depend on
    raw = dict.get
    published_raw = raw(item, "published_parsed") or raw(item, "updated_parsed")
    published = _from_struct(published_raw) or parse_date(
        _str(raw(item, "published") or raw(item, "updated") or raw(item, "dc_date"))
    )
    ukey = url_key(link)
    return Entry(
        feed=feed,
        key=_key(_str(raw(item, "id")).strip(), ukey, title, _str(raw(item, "published")), seen),
        url_key=ukey,
        link=link,
        title=title or summary[:120] or link,
        summary=summary if summary != title else "",
        content=content if content != summary else "",
        author=plain_text(_str(item.get("author")), 200),
        categories=tuple(
            plain_text(_str(t.get("term")), 100) for t in raw(item, "tags") or () if t.get("term")
        ),
        published=sane_date(published, now),
    )


def _key(guid: str, ukey: str, title: str, date: str, seen: set[str]) -> str:
    """guid, else canonical URL, else title + date; a guid repeated in one document
    (publishers do that) is disambiguated by the URL."""
    if guid:
        basis = f"g:{guid}" if guid not in seen else f"g:{guid}|{ukey}"
        seen.add(guid)
    elif ukey:
        basis = f"u:{ukey}"
    else:
        basis = f"h:{title}|{date}"
    return hashlib.sha1(basis.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _from_struct(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
