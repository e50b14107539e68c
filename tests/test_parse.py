from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.feeds.parse import parse_feed
from tests.conftest import REPO, corpus_documents, needs_corpus

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def parse(body: bytes | str, base: str = "https://site.example/feed") -> list:
    data = body.encode() if isinstance(body, str) else body
    return list(parse_feed(data, feed_name="t", base_url=base, now=NOW).entries)


# The only corpus documents that are no feed at all, so the only ones that may raise.
NOT_FEEDS = {
    "feed-rs-xml_sample_1.xml",  # plain XML, no RSS or Atom
    "feedparser-illformed-rss_empty_document.xml",
    "rss-parser-unrecognized.xml",
}


@needs_corpus
@pytest.mark.parametrize("path", corpus_documents())
def test_every_corpus_document_goes_through(path: Path) -> None:
    """No exception escapes but ParseError, and that only for the documents that are
    no feed; every entry of the others is clean."""
    body = path.read_bytes()
    if path.name in NOT_FEEDS:
        with pytest.raises(ParseError):
            parse_feed(body, feed_name="c", base_url="https://c.example/", now=NOW)
        return
    parsed = parse_feed(body, feed_name="c", base_url="https://c.example/", now=NOW)
    for entry in parsed.entries:
        assert entry.key and isinstance(entry.title, str)
        assert entry.published is None or entry.published.tzinfo is not None
        assert "<script" not in entry.title.lower() and "<!--" not in entry.title


def test_sample_feeds_parse_with_dates_and_links() -> None:
    for path in (REPO / "examples" / "feeds").iterdir():
        entries = parse(path.read_bytes(), base="")
        assert entries, path
        for e in entries:
            assert e.published is not None, (path, e.title)
            assert e.link.startswith("https://"), (path, e.title, e.link)


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One &amp; only</title><link>/a/1?utm_source=rss</link><guid>g1</guid>
<description>&lt;p&gt;Hello &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Jul 23, 2025 00:00:00-0500</pubDate></item>
<item><title>Two</title><link>https://site.example/a/2</link><guid>g1</guid>
<pubDate>not a date</pubDate></item>
<item><title>Three</title><link>https://site.example/a/3</link>
<pubDate>Sat, 01 Jan 2050 00:00:00 GMT</pubDate></item>
<item><title>Bad link</title><link>http://host.example:12:30/x</link><guid>g4</guid></item>
</channel></rss>"""


def test_entries_are_normalised() -> None:
    one, two, three, bad = parse(RSS)
    assert one.title == "One & only"
    assert one.summary == "Hello there"
    assert one.link == "https://site.example/a/1"
    assert one.published == datetime(2025, 7, 23, 5, tzinfo=UTC)
    assert two.published is None  # unreadable
    assert three.published is None  # absurd: in the future
    assert one.key != two.key  # a guid repeated in one document is told apart by URL
    assert bad.title == "Bad link"  # a malformed link does not fail the entry


def test_keys_are_stable_across_parses() -> None:
    assert [e.key for e in parse(RSS)] == [e.key for e in parse(RSS)]


def test_key_falls_back_to_link_then_title() -> None:
    doc = """<rss version="2.0"><channel><title>T</title>
    <item><title>A</title><link>https://s.example/a</link></item>
    <item><title>B</title></item></channel></rss>"""
    a, b = parse(doc)
    a2, b2 = parse(doc.replace("<title>A</title>", "<title>A edited</title>"))
    assert a.key == a2.key  # same link: same identity though the title changed
    assert b.key == b2.key


def test_atom_xml_base_and_html_summary() -> None:
    doc = """<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/news/">
    <title>A</title><id>urn:a</id><updated>2025-01-01T00:00:00Z</updated>
    <entry><title type="html">&lt;b&gt;Bold&lt;/b&gt; move</title><id>urn:1</id>
    <link href="story-1"/><updated>2025-01-01T00:00:00+01:00</updated>
    <summary type="html">&lt;p&gt;Para&amp;amp;graph&lt;/p&gt;</summary></entry></feed>"""
    (entry,) = parse(doc, base="")
    assert entry.title == "Bold move"
    assert entry.link == "https://atom.example/news/story-1"
    assert entry.published == datetime(2024, 12, 31, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Login</body></html>",
        b"\x00\xff\x13garbage bytes",
        b"",
    ],
)
def test_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)


def test_html_page_is_named_as_such() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse(b"<!doctype html><html><head><title>x</title></head><body></body></html>")


def test_latin1_without_declaration() -> None:
    doc = (
        '<rss version="2.0"><channel><title>T</title><item><title>Caf\xe9 cr\xe8me'
        "</title><link>https://s.example/c</link></item></channel></rss>"
    ).encode("latin-1")
    (entry,) = parse(doc)
    assert entry.title == "Café crème"
