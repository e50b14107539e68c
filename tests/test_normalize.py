from datetime import UTC, datetime

import pytest

from monitor.feeds.dates import parse_date, sane_date
from monitor.feeds.text import plain_text
from monitor.feeds.urls import clean_link, url_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("AT&amp;T &amp; Verizon", "AT&T & Verizon"),
        ("&lt;p&gt;escaped &lt;i&gt;twice&lt;/i&gt;&lt;/p&gt;", "escaped twice"),
        ("<script>alert(1)</script>text<style>p{}</style>", "text"),
        ("line\none\r\n  two\t three", "line one two three"),
        ("<!-- hidden -->shown", "shown"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("zero\u200bwidth\x00ctl", "zerowidthctl"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text(raw: str | None, expected: str) -> None:
    assert plain_text(raw) == expected


def test_plain_text_limit_adds_ellipsis() -> None:
    assert plain_text("a" * 50, limit=10) == "a" * 9 + "…"


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("https://Example.com/a?utm_source=x&id=3#frag", "", "https://example.com/a?id=3"),
        ("/news/1?fbclid=abc", "https://site.example/feed", "https://site.example/news/1"),
        ("javascript:alert(1)", "", ""),
        ("mailto:a@b", "", ""),
        ("", "https://x.example/", ""),
        ("  https://x.example/p  ", "", "https://x.example/p"),
    ],
)
def test_clean_link(raw: str, base: str, expected: str) -> None:
    assert clean_link(raw, base) == expected


def test_url_key_merges_scheme_www_and_trailing_slash() -> None:
    keys = {
        url_key(clean_link(u))
        for u in (
            "http://www.example.com/story/",
            "https://example.com/story",
            "https://EXAMPLE.com/story?utm_medium=rss",
        )
    }
    assert keys == {"example.com/story"}


def test_url_key_survives_malformed_port() -> None:
    # a real feed in the corpus has a "port" that is a time
    assert url_key("http://host.example:12:30/x") == "http://host.example:12:30/x"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jul 23, 2025 00:00:00-0500", datetime(2025, 7, 23, 5, tzinfo=UTC)),
        ("Tue, 20 Dec 2022 10:00:00 +0800", datetime(2022, 12, 20, 2, tzinfo=UTC)),
        ("2022-12-20T10:00:00Z", datetime(2022, 12, 20, 10, tzinfo=UTC)),
        ("2022-12-20 10:00:00", datetime(2022, 12, 20, 10, tzinfo=UTC)),
        ("20 Dec 2022 10:00:00 EST", datetime(2022, 12, 20, 15, tzinfo=UTC)),
        ("December 20, 2022", datetime(2022, 12, 20, tzinfo=UTC)),
        ("20.12.2022", datetime(2022, 12, 20, tzinfo=UTC)),
        ("yesterday-ish", None),
        ("", None),
    ],
)
def test_parse_date(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_sane_date_rejects_future_and_ancient() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert sane_date(datetime(2027, 1, 1, tzinfo=UTC), now) is None
    assert sane_date(datetime(1970, 1, 1, tzinfo=UTC), now) is None
    assert sane_date(datetime(2025, 12, 31, tzinfo=UTC), now) == datetime(2025, 12, 31, tzinfo=UTC)
