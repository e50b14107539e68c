"""Many feeds at once (``Fetcher.fetch_all``) and the poll that consumes them: outcomes
handed over as they complete, bounded concurrency and memory, ``stop()`` honoured."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Monitor
from monitor.config import load_settings
from monitor.deliver.console import ConsoleSender
from monitor.errors import FetchError, HTTPStatusError, TransportError
from monitor.feeds.fetch import Fetcher
from monitor.models import FetchResult, Validators
from monitor.rules import load_rules
from monitor.store import Store
from tests.conftest import NIO_A, RULES, rss, write_config
from tests.fakes.feed_server import DEFAULT_FEED, FeedServer


def jobs(urls: list[str]) -> list[tuple[str, str, Validators]]:
    return [(url, url, Validators()) for url in urls]


def test_outcomes_are_handed_over_as_each_completes(feeds: FeedServer) -> None:
    feeds.set_slow("/slow.xml", 1.0)
    for i in range(5):
        feeds.set_feed(f"/f{i}.xml", DEFAULT_FEED)
    urls = [feeds.url("/slow.xml")] + [feeds.url(f"/f{i}.xml") for i in range(5)]
    started = time.monotonic()
    seen: list[tuple[str, float]] = []
    with Fetcher(per_host=10, allow_private=True) as fetcher:
        for url, outcome in fetcher.fetch_all(jobs(urls)):
            assert isinstance(outcome, FetchResult)
            seen.append((url, time.monotonic() - started))
    assert [u for u, _ in seen][-1] == feeds.url("/slow.xml")
    assert all(at < 0.5 for _, at in seen[:-1]), seen  # not held back by the slow one


def test_every_outcome_is_a_result_or_the_error_of_that_feed(
    feeds: FeedServer, tmp_path: Path
) -> None:
    feeds.set_feed("/ok.xml", DEFAULT_FEED)
    feeds.set_status("/gone.xml", 410)
    (tmp_path / "local.xml").write_bytes(DEFAULT_FEED)
    urls = [
        feeds.url("/ok.xml"),
        feeds.url("/gone.xml"),
        str(tmp_path / "local.xml"),
        f"file://{tmp_path / 'local.xml'}",
        str(tmp_path / "missing.xml"),
        "http://[not a url",
    ]
    with Fetcher(allow_private=True) as fetcher:
        outcomes = dict(fetcher.fetch_all(jobs(urls)))
    assert set(outcomes) == set(urls)
    ok, gone, local, file_url, missing, bad = (outcomes[u] for u in urls)
    assert isinstance(ok, FetchResult) and ok.body == DEFAULT_FEED
    assert isinstance(gone, HTTPStatusError) and gone.status == 410
    assert isinstance(local, FetchResult) and local.body == DEFAULT_FEED
    assert isinstance(file_url, FetchResult) and file_url.body == DEFAULT_FEED
    assert isinstance(missing, TransportError)
    assert isinstance(bad, FetchError)


def test_at_most_concurrency_fetches_at_once(feeds: FeedServer) -> None:
    for i in range(12):
        feeds.set_slow(f"/s{i}.xml", 0.2)
    urls = [feeds.url(f"/s{i}.xml") for i in range(12)]
    with Fetcher(concurrency=3, per_host=10, allow_private=True) as fetcher:
        assert len(list(fetcher.fetch_all(jobs(urls)))) == 12
    assert feeds.max_in_flight == 3


def test_stop_starts_nothing_new_and_hands_over_what_was_in_flight(feeds: FeedServer) -> None:
    for i in range(20):
        feeds.set_slow(f"/s{i}.xml", 0.3)
    urls = [feeds.url(f"/s{i}.xml") for i in range(20)]
    stopped_at: list[float] = []
    got = []
    with Fetcher(concurrency=4, per_host=4, allow_private=True) as fetcher:
        for url, outcome in fetcher.fetch_all(jobs(urls), stop=lambda: bool(stopped_at)):
            got.append(url)
            assert isinstance(outcome, FetchResult)  # in flight at stop: finished, not cut
            if not stopped_at:
                stopped_at.append(time.monotonic())
        time.sleep(0.4)  # anything started after the stop would have arrived by now
    assert len(got) < 10
    assert sorted(r["path"][1:] for r in feeds.requests) == sorted(u.rsplit("/", 1)[1] for u in got)
    # nothing started once the stop was seen (a few ms after it was set)
    assert max(r["time"] for r in feeds.requests) < stopped_at[0] + 0.05


def test_leaving_early_cancels_what_is_in_flight_and_frees_the_host(feeds: FeedServer) -> None:
    feeds.set_feed("/fast.xml", DEFAULT_FEED)
    for i in range(3):
        feeds.set_hang(f"/hang{i}.xml")
    urls = [feeds.url("/fast.xml")] + [feeds.url(f"/hang{i}.xml") for i in range(3)]
    with Fetcher(timeout=30, per_host=4, allow_private=True) as fetcher:
        started = time.monotonic()
        for _url, _outcome in fetcher.fetch_all(jobs(urls)):
            break
        assert time.monotonic() - started < 2
        assert fetcher.slots.active == {}  # every host slot given back
        assert fetcher.fetch(feeds.url("/fast.xml")).status == "ok"


def test_memory_is_bounded_when_parsing_is_slower_than_fetching(feeds: FeedServer) -> None:
    """100 bodies of 200 kB (20 MB in all), a consumer that takes 5 ms each, and room
    for 8 in flight + 4 waiting: what is held at once stays near 12 bodies."""
    size = 200_000
    for i in range(100):
        feeds.set_feed(f"/b{i}.xml", bytes([65 + i % 26]) * size, etag=False)
    urls = [feeds.url(f"/b{i}.xml") for i in range(100)]
    count = 0
    with Fetcher(concurrency=8, backlog=4, per_host=8, allow_private=True) as fetcher:
        tracemalloc.start()
        for _url, outcome in fetcher.fetch_all(jobs(urls)):
            assert isinstance(outcome, FetchResult) and outcome.body is not None
            count += 1
            time.sleep(0.005)
            del outcome
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == 100
    assert peak < 20 * size, f"peak {peak:,} bytes for bodies of {size:,}"


# -- the poll that consumes them ---------------------------------------------------------


@pytest.fixture
def monitor(tmp_path: Path, feeds: FeedServer):  # type: ignore[no-untyped-def]
    feeds.set_slow("/slow.xml", 1.5, body=rss([NIO_A]))
    feeds.set_feed("/fast.xml", rss([NIO_A]))
    for i in range(6):
        feeds.set_slow(f"/later{i}.xml", 0.2, body=rss([]))
    names = [("Slow", "/slow.xml"), ("Fast", "/fast.xml")]
    names += [(f"Later{i}", f"/later{i}.xml") for i in range(6)]
    config = write_config(tmp_path, [(n, feeds.url(p)) for n, p in names], fetch={"concurrency": 2})
    settings = load_settings(config)
    m = Monitor(settings, Store(settings.database), load_rules(RULES), ConsoleSender())
    yield m
    m.close()


def test_the_poll_records_each_feed_as_its_fetch_completes(monitor: Monitor) -> None:
    recorded: list[tuple[str, int]] = []

    def progress(outcome: Any) -> None:
        polled = {s.name for s in monitor.store.feeds.states() if s.last_poll_at}
        recorded.append((outcome.name, len(polled)))

    report = monitor.poll(due_only=False, progress=progress)
    assert len(report.outcomes) == 8 and not report.errors
    assert recorded[0] == ("Fast", 1)  # stored before the slow feed had answered
    assert recorded[-1][0] == "Slow"


def test_the_poll_stops_starting_fetches_at_stop_and_records_those_in_hand(
    monitor: Monitor, feeds: FeedServer
) -> None:
    stopping: list[bool] = []
    report = monitor.poll(
        due_only=False, stop=lambda: bool(stopping), progress=lambda o: stopping.append(True)
    )
    names = [o.name for o in report.outcomes]
    assert names[0] == "Fast" and "Slow" in names  # in flight at the stop: finished
    # concurrency 2: when Fast completed, Later0 took its place before the stop was seen
    assert [n for n in names if n.startswith("Later")] == ["Later0"]
    assert sorted(r["path"] for r in feeds.requests) == ["/fast.xml", "/later0.xml", "/slow.xml"]
    states = {s.name: s for s in monitor.store.feeds.states()}
    assert states["Slow"].last_poll_at and states["Later0"].last_poll_at
    assert not states["Later1"].last_poll_at  # stays due: polled next time
