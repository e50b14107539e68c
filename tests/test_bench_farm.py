"""The server of bench/farm.py (the 10,000-feed farm), in process: what the monitor's
fetcher will see from it. Quick: a farm of a few dozen feeds on three addresses."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import feedparser
import httpx
import pytest

from monitor.feeds.parser import ParseJob, parse_job
from monitor.models import ParserState

REPO = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_farm", REPO / "bench" / "farm.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_farm"] = module
    spec.loader.exec_module(module)
    return module


farm_module = _load()


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    farm = farm_module.Farm(size=30, entries=5, seed=1, age_hours=720, hosts=3)
    srv = farm_module.FarmServer(farm).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_feeds_are_spread_over_the_loopback_addresses(server: object) -> None:
    urls = server.command(["load", "30"])["urls"]  # type: ignore[attr-defined]
    hosts = {httpx.URL(u).host for u in urls}
    assert hosts == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert [httpx.URL(u).host for u in urls[:4]] == [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.2",
    ]


def test_200_with_etag_then_304_then_200_after_a_change(server: object) -> None:
    urls = server.command(["load", "30"])["urls"]  # type: ignore[attr-defined]
    server.command(["reset"])  # type: ignore[attr-defined]
    with httpx.Client() as client:
        first = client.get(urls[0])
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/rss+xml")
        etag = first.headers["etag"]
        doc = feedparser.parse(first.content)
        assert len(doc.entries) == 5 and not doc.bozo
        again = client.get(urls[0], headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(urls[0], headers={"If-None-Match": '"other"'}).status_code == 200
        stats = server.command(["stats"])  # type: ignore[attr-defined]
        assert stats["statuses"] == {"200": 2, "304": 1}
        assert stats["connections_opened"] == 1  # keep-alive
        assert stats["peak_connections_per_address"][0] == 1

        changed = server.command(["change", "1.0", "7"])["changed"]  # type: ignore[attr-defined]
        assert changed == 30
        after = client.get(urls[0], headers={"If-None-Match": etag})
        assert after.status_code == 200 and after.headers["etag"] != etag
        new = feedparser.parse(after.content)
        assert len(new.entries) == 5  # one new at the top, the oldest dropped
        assert new.entries[0].id not in {e.id for e in doc.entries}
        assert [e.id for e in new.entries[1:]] == [e.id for e in doc.entries[:4]]
        published = datetime(*new.entries[0].published_parsed[:6], tzinfo=UTC)
        assert (datetime.now(UTC) - published).total_seconds() < 900
        assert (
            client.get(urls[0], headers={"If-None-Match": after.headers["etag"]}).status_code == 304
        )


def test_atom_documents_change_too_and_stay_on_the_fast_parser(server: object) -> None:
    urls = server.command(["load", "30"])["urls"]  # type: ignore[attr-defined]
    server.command(["change", "1.0", "8", "quiet"])  # type: ignore[attr-defined]
    body = httpx.get(urls[2]).content  # feed 2: Atom
    doc = feedparser.parse(body)
    assert doc.version == "atom10" and len(doc.entries) == 5
    assert doc.entries[0].title.startswith("Quarterly newsletter")

    for url in urls[:3]:
        parsed = parse_job(
            ParseJob(feed="f", body=httpx.get(url).content, now=0.0, state=ParserState("", 0))
        )
        assert parsed.state.parser == "fast", parsed.refused  # both parsers agree


def test_sizes_unknown_paths_and_head(server: object) -> None:
    urls = server.command(["load", "30"])["urls"]  # type: ignore[attr-defined]
    server.command(["load", "10"])  # type: ignore[attr-defined]
    assert httpx.get(urls[9]).status_code == 200
    assert httpx.get(urls[10]).status_code == 404  # not served at this size
    assert httpx.get(urls[0].rsplit("/", 1)[0] + "/nope.xml").status_code == 404
    head = httpx.head(urls[0])
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(httpx.get(urls[0]).content)
    with pytest.raises(ValueError):
        server.command(["load", "31"])  # type: ignore[attr-defined]
