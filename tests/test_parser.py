"""The parser a feed earns: feedparser until both parsers agree, the fast one after,
checked again now and then; the state survives restarts; the pool gives what
parsing here gives. Over the whole corpus, no document the fast path accepts
gives entries that differ from feedparser's."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.app import Monitor
from monitor.config import load_settings
from monitor.deliver.console import ConsoleSender
from monitor.errors import ParseError
from monitor.feeds.parse import parse_feed
from monitor.feeds.parser import (
    INLINE_BELOW,
    RECHECK_EVERY,
    RETRY_SLOW_EVERY,
    ParseJob,
    Parser,
    mode,
    parse_job,
)
from monitor.models import UNCHECKED, ParserState
from monitor.rules import load_rules
from monitor.store import Store
from tests.conftest import (
    BIG,
    CORPUS,
    RULES,
    Item,
    corpus_documents,
    needs_corpus,
    rss,
    write_config,
)
from tests.fakes.feed_server import FeedServer

NOW = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
PLAIN = rss(
    [Item(f"Story {i}", f"https://n.example/{i}", f"g{i}", f"<p>Text {i}</p>") for i in range(5)]
)
LATIN1 = PLAIN.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"')


def job(body: bytes, state: ParserState = UNCHECKED) -> ParseJob:
    return ParseJob("f", body, NOW, "https://n.example/feed", "", state)


def test_modes() -> None:
    assert mode(UNCHECKED) == "check"
    assert mode(ParserState("fast", RECHECK_EVERY - 1)) == "fast"
    assert mode(ParserState("fast", RECHECK_EVERY)) == "check"
    assert mode(ParserState("slow", RETRY_SLOW_EVERY - 1)) == "slow"
    assert mode(ParserState("slow", RETRY_SLOW_EVERY)) == "check"


def test_a_feed_earns_the_fast_parser_and_keeps_it_while_it_agrees() -> None:
    checked = parse_job(job(PLAIN))
    assert checked.state == ParserState("fast", 0) and checked.by == "feedparser"
    fast = parse_job(job(PLAIN, checked.state))
    assert fast.by == "fast" and fast.state == ParserState("fast", 1)
    assert fast.feed.entries == checked.feed.entries
    again = parse_job(job(PLAIN, ParserState("fast", RECHECK_EVERY)))
    assert again.by == "feedparser" and again.state == ParserState("fast", 0)


def test_an_odd_document_falls_back_to_feedparser_for_that_feed() -> None:
    odd = parse_job(job(LATIN1, ParserState("fast", 3)))
    assert odd.by == "feedparser" and odd.state == ParserState("slow", 0)
    assert "encoding" in odd.refused
    now = datetime.fromtimestamp(NOW, tz=UTC)
    assert odd.feed == parse_feed(LATIN1, feed_name="f", base_url="https://n.example/feed", now=now)
    slow = parse_job(job(PLAIN, odd.state))
    assert slow.by == "feedparser" and slow.state == ParserState("slow", 1)


def test_an_item_without_guid_never_takes_the_fast_path() -> None:
    body = rss([Item("No guid", "https://n.example/x", None, "text")])
    assert parse_job(job(body)).state.parser == "slow"


def test_the_pool_gives_what_parsing_here_gives() -> None:
    bodies = [PLAIN, LATIN1, b"<html><body>not a feed</body></html>"] * (INLINE_BELOW // 3 + 1)
    jobs = [(i, job(b)) for i, b in enumerate(bodies)]
    parser = Parser(2)
    try:
        pooled = dict(parser.map(jobs, expected=len(jobs)))
    finally:
        parser.close()
    inline = dict(Parser(0).map(jobs, expected=len(jobs)))
    assert pooled.keys() == inline.keys() == set(range(len(bodies)))
    for i, result in inline.items():
        if isinstance(result, BaseException):
            assert isinstance(result, ParseError) and isinstance(pooled[i], ParseError)
        else:
            assert pooled[i] == result


def test_the_parser_state_is_stored_and_survives_a_restart(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.set_feed("/plain.xml", PLAIN)
    feeds.set_feed("/latin.xml", LATIN1, content_type="application/rss+xml; charset=iso-8859-1")
    config = write_config(
        tmp_path, [("plain", feeds.url("/plain.xml")), ("latin", feeds.url("/latin.xml"))]
    )
    settings = load_settings(config)
    m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
    try:
        m.poll(due_only=False)
    finally:
        m.close()
    with Store(settings.database) as store:
        states = {s.name: s.parser for s in store.feeds.states()}
    assert states == {"plain": ParserState("fast", 0), "latin": ParserState("slow", 0)}


@needs_corpus
@pytest.mark.parametrize("path", corpus_documents())
def test_no_document_the_fast_path_accepts_differs(path: Path) -> None:
    """Both parsers over every corpus document: where the check accepts the fast
    parser, its entries are feedparser's, field for field."""
    body = path.read_bytes()
    try:
        checked = parse_job(job(body))
    except ParseError:
        return  # no feed at all: feedparser says so, whatever the state
    if checked.state.parser != "fast":
        return
    fast = parse_job(job(body, checked.state))
    assert fast.by == "fast"
    assert fast.feed.entries == checked.feed.entries


@needs_corpus
def test_the_fast_path_is_taken_for_plain_feeds_of_the_corpus(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Which corpus documents the fast path accepts (shown with ``pytest -s``)."""
    accepted, refused = [], []
    started = time.process_time()
    for p in sorted((CORPUS / "feeds").rglob("*.xml")):
        if p.stat().st_size > BIG:
            continue
        try:
            result = parse_job(job(p.read_bytes()))
        except ParseError:
            continue
        (accepted if result.state.parser == "fast" else refused).append((p.name, result.refused))
    with capsys.disabled():
        print(
            f"\nfast parser accepted {len(accepted)} of {len(accepted) + len(refused)} corpus "
            f"documents ({time.process_time() - started:.1f}s CPU):"
        )
        for name, _ in accepted:
            print(f"  {name}")
    assert len(accepted) >= 30
