"""Dates in UTC from the formats real feeds use, for what feedparser could not read.

python-dateutil reads the odd formats (``Jul 23, 2025 00:00:00-0500`` from a real
security blog, ``20 Dec 2022 10:00:00 EST``, ``20.12.2022``). It is lenient, so
a string must look like a date (a four-digit year) before it is asked. Nothing
here raises: a bad date in one entry must never fail the feed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil import parser as date_parser

_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_DOTTED = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{2,4}")  # 20.12.2022: day first, as in Europe
_ZONES = {  # the abbreviations feeds use; dateutil knows only UTC/GMT by itself
    name: int(offset * 3600)
    for name, offset in {
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "CET": 1,
        "CEST": 2,
        "BST": 1,
        "JST": 9,
        "IST": 5.5,
        "KST": 9,
    }.items()
}
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def parse_date(raw: str | None) -> datetime | None:
    """Best effort: a UTC datetime, or None."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        return _utc(parsedate_to_datetime(text))  # RFC 822, the common case, fast
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    if not _YEAR.search(text):
        return None
    try:
        value = date_parser.parse(text, tzinfos=_ZONES, dayfirst=bool(_DOTTED.match(text)))
    except (ValueError, OverflowError, date_parser.ParserError):
        return None
    return _utc(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    """Drop dates a feed cannot mean: before 1995 or more than a day in the future."""
    if value is None or value < EARLIEST or value > now + timedelta(days=1):
        return None
    return value
