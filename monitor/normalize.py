"""Pure helpers that turn untrusted feed fields into clean values.

Plain text from HTML, canonical URLs for dedupe, and dates in UTC from the
formats real feeds use. None of these raise on bad input: a malformed field in
one entry must never fail the feed.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_BLOCK_RE = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.I | re.S)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)|<![A-Za-z\[][^>]*>", re.S)
_TAG_RE = re.compile(r"</?[a-zA-Z][^<>]*>|<!\[CDATA\[|\]\]>")
_WS_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def plain_text(value: str | None, limit: int = 0) -> str:
    """Strip tags, decode entities (twice, for double-escaped HTML), fold spaces."""
    if not value:
        return ""
    text = value
    for _ in range(2):
        if "<" in text:
            text = _COMMENT_RE.sub(" ", _BLOCK_RE.sub(" ", text))
            text = _TAG_RE.sub(" ", text)
        if "&" not in text:
            break
        text = html.unescape(text)
        if "<" not in text:
            break
    text = _WS_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# Query parameters that identify a click, not a page.
_TRACKING = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "yclid",
        "igshid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "cmpid",
        "ncid",
        "sr_share",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    ]
)


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low.startswith("utm_") or low in _TRACKING


def clean_link(link: str | None, base: str = "") -> str:
    """Absolute link without fragment or tracking parameters; '' when unusable."""
    if not link:
        return ""
    raw = link.strip()
    try:
        absolute = urljoin(base, raw) if base else raw
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return ""
        query = urlencode(
            [
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not _is_tracking(k)
            ]
        )
        return urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, "")
        )
    except ValueError:
        # e.g. a "port" that is really a time ("http://host:12:30/…"): keep nothing
        return ""


def url_key(link: str) -> str:
    """Canonical form for dedupe: http/https and ``www.`` merged, trailing slash dropped."""
    if not link:
        return ""
    try:
        parts = urlsplit(link)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return link
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{host}{path}" + (f"?{query}" if query else "")


_EXTRA_FORMATS = (
    "%b %d, %Y %H:%M:%S%z",  # Jul 23, 2025 00:00:00-0500 (seen in a security blog)
    "%b %d, %Y %H:%M:%S",
    "%B %d, %Y %H:%M:%S%z",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %b %Y %H:%M:%S %z",
    "%d %B %Y %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)
_TZ_COLON = re.compile(r"([+-]\d\d):(\d\d)$")
_TZ_NAMES = {
    "UTC": "+0000",
    "GMT": "+0000",
    "Z": "+0000",
    "EST": "-0500",
    "EDT": "-0400",
    "CST": "-0600",
    "CDT": "-0500",
    "MST": "-0700",
    "MDT": "-0600",
    "PST": "-0800",
    "PDT": "-0700",
    "CET": "+0100",
    "CEST": "+0200",
    "BST": "+0100",
    "JST": "+0900",
}


def parse_date(raw: str | None) -> datetime | None:
    """Best effort for the date strings feedparser could not read. UTC or None."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        return _utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    text = _TZ_COLON.sub(r"\1\2", text)
    head, _, tail = text.rpartition(" ")
    if tail.upper() in _TZ_NAMES:
        text = f"{head} {_TZ_NAMES[tail.upper()]}"
    for fmt in _EXTRA_FORMATS:
        for candidate in (text, text.replace(" +", "+").replace(" -", "-")):
            try:
                return _utc(datetime.strptime(candidate, fmt))
            except ValueError:
                continue
    return None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    """Drop dates a feed cannot mean: before 1995 or more than a day in the future."""
    if value is None or value < EARLIEST or value > now + timedelta(days=1):
        return None
    return value
