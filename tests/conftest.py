"""Shared fixtures: real local servers (feeds over HTTP, Slack's Web API), configs,
and feed documents built from a few fields."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import yaml

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
RULES = REPO / "rules"
TOKEN = "xoxb-test-token"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")
BIG = 2_000_000  # bytes: the multi-megabyte corpus documents run in CI only (`--slow`)


def corpus_documents() -> list[object]:
    """Every document of the corpus's feeds (none without it), the big ones marked slow."""
    if not CORPUS.is_dir():
        return []
    return [
        pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.stat().st_size > BIG else [])
        for p in sorted(p for p in (CORPUS / "feeds").rglob("*") if p.is_file())
    ]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="also run the slow tests (CI does; ./run test not)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes of CPU (multi-megabyte documents); --slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass
class Item:
    title: str
    link: str
    guid: str | None = None
    summary: str = ""
    published: datetime | None = field(
        default_factory=lambda: datetime.now(UTC) - timedelta(hours=1)
    )


def rss(items: Sequence[Item], title: str = "Test feed") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
    ]
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title><link>{escape(it.link)}</link>")
        if it.guid:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        if it.summary:
            parts.append(f"<description>{escape(it.summary)}</description>")
        if it.published:
            parts.append(f"<pubDate>{format_datetime(it.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


NIO_A = Item(
    "NIO receives blackmail email demanding $2.25 million in bitcoin over user data",
    "https://carnews.example/2022/12/20/nio-blackmail",
    "carnews-1001",
    "NIO says an outside party claims to hold user data and car-sales data from before "
    "August 2021 and demands $2.25 million worth of bitcoin.",
)
NIO_B = Item(
    "Hackers demand US$2.25m in Bitcoin from Chinese EV maker Nio in extortion attempt",
    "https://wire.example/autos/nio-extortion",
    "wire-77",
    "Chinese electric-car maker Nio said it was the target of an extortion attempt after "
    "an outside party claimed to have taken its internal data.",
)
# a different NIO story, and an incident at another company
NIO_DELIVERIES = Item(
    "NIO delivered 14,178 vehicles in November, up 30% year on year",
    "https://carnews.example/nio-deliveries",
    "cn-2",
    "The EV maker NIO said deliveries rose as new models ramped up.",
)
ACME = Item(
    "Ransomware attack halts production at Acme Brakes plant",
    "https://a.example/acme",
    "a-1",
    "Acme Brakes, an auto supplier, said LockBit hit it.",
)
UNION = Item(
    "Senior union leaders share opinion on pension reform",
    "https://wire.example/politics/pensions",
    "wire-78",
    "Union officials said the reform was unfair to senior workers.",
)
AFFORD = Item(
    "How families can afford heating this winter, from Oxford to Bradford",
    "https://wire.example/money/heating",
    "wire-79",
    "Tips for households.",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's Slack secrets or MONITOR_* overrides."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "MONITOR_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def run_daemon(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from tests.running import Daemon

    started: list[Daemon] = []

    def start(config: Path, env: dict[str, str]) -> Daemon:
        daemon = Daemon(config, env, tmp_path / f"daemon-{len(started)}.log").start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def write_config(tmp_path: Path, feeds: Sequence[tuple[str, str]], **extra: object) -> Path:
    """A config file in tmp_path with its own database, the shipped rules unless given."""
    data: dict[str, object] = {
        "database": str(tmp_path / "data" / "monitor.db"),
        "rules": str(RULES),
        "tick": "1s",
        "defaults": {"interval": "1s", "max_age": "72h"},
        # the feed servers of the tests are on 127.0.0.1, refused without this
        "fetch": {"timeout": "5s", "connect_timeout": "2s", "allow_private": True},
        "metrics": {"listen": "127.0.0.1:0"},  # tests run side by side: any free port
        "feeds": [{"name": n, "url": u} for n, u in feeds],
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}  # type: ignore[dict-item]
        else:
            data[key] = value
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def slack_env(slack: FakeSlack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.base_url}


def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """DNS answers 127.0.0.1 for ``name`` (as after DNS rebinding, or a name the local
    server's certificate does not carry); every other name resolves as usual."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked = host.decode() if isinstance(host, bytes) else host
        return real("127.0.0.1" if asked == name else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
