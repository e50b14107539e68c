"""/metrics and /healthz from the running daemon (a subprocess), parsed with
prometheus-client's own text parser and checked against what really happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import NIO_A, REPO, Item, rss, slack_env, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack
from tests.running import Daemon, wait

pytestmark = pytest.mark.timeout(180)

ATTACK = Item(
    "Ransomware attack halts production at automotive supplier Acmetronics",
    "https://a.example/acmetronics",
    "a-1",
    "Acmetronics, an automotive supplier, confirmed a ransomware attack.",
)


def base_url(daemon: Daemon) -> str:
    wait(
        lambda: any(e.get("event") == "metrics.listening" for e in daemon.events()),
        what="the metrics server",
    )
    event = next(e for e in daemon.events() if e.get("event") == "metrics.listening")
    return str(event["url"])


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}, read by Prometheus' own parser."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_happened_and_health_tells_a_stuck_outbox(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/a.xml", rss([NIO_A, ATTACK]))
    feeds.set_status("/broken.xml", 503)
    config = write_config(
        tmp_path,
        [("A", feeds.url("/a.xml")), ("Broken", feeds.url("/broken.xml"))],
        stories={"enabled": False},
        health={"stuck_after": "3s"},
        delivery={"max_backoff": "1s"},
    )
    slack.fail_next(1, status=429, retry_after=1, methods=("chat.postMessage",))
    daemon = run_daemon(config, slack_env(slack))
    url = base_url(daemon)
    wait(lambda: len(slack.messages) == 2, what="both alerts, after one 429")
    polls = feeds.count("/a.xml")
    wait(lambda: feeds.count("/a.xml") >= polls + 1, what="another poll")

    m = scrape(url)
    a_polls = feeds.count("/a.xml")
    assert value(m, "monitor_polls_total", outcome="ok") == 1  # then 304s
    assert value(m, "monitor_polls_total", outcome="not_modified") >= 1
    assert value(m, "monitor_polls_total", outcome="http_5xx") >= 1
    ok_polls = sum(
        value(m, "monitor_polls_total", outcome=o) for o in ("ok", "not_modified", "unchanged")
    )
    assert a_polls - 1 <= ok_polls <= a_polls
    assert value(m, "monitor_new_entries_total") == 2
    assert value(m, "monitor_fetched_bytes_total") == len(rss([NIO_A, ATTACK]))
    assert value(m, "monitor_fetch_duration_seconds_count") >= ok_polls
    assert value(m, "monitor_alerts_created_total", severity="critical", rule="auto-extortion") == 2
    assert value(m, "monitor_alerts_sent_total") == len(slack.messages) == 2
    assert value(m, "monitor_slack_rate_limited_total") == 1
    assert value(m, "monitor_slack_rate_limit_wait_seconds_total") == 1
    assert value(m, "monitor_outbox_pending") == 0
    assert value(m, "monitor_outbox_alerts", state="sent") == 2
    assert value(m, "monitor_feeds") == 2 and value(m, "monitor_feeds_failing") == 1
    assert value(m, "monitor_database_up") == 1
    assert value(m, "monitor_last_successful_cycle_timestamp_seconds") > 0
    assert value(m, "monitor_last_tick_timestamp_seconds") > 0
    assert value(m, "monitor_build_info", version="0.1.0", python=sys.version.split()[0]) == 1

    healthy = httpx.get(f"{url}/healthz", timeout=10)
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"

    # Slack goes down and a new alert waits: after stuck_after, the outbox is stuck
    slack.set_down(True)
    feeds.set_feed(
        "/a.xml",
        rss(
            [
                NIO_A,
                ATTACK,
                Item("Ransomware gang leaks Boltworks data", "https://a.example/b", "a-2"),
            ]
        ),
    )

    def unhealthy() -> bool:
        return httpx.get(f"{url}/healthz", timeout=10).status_code == 503

    wait(unhealthy, what="/healthz to report the stuck outbox")
    body = httpx.get(f"{url}/healthz", timeout=10).json()
    assert body["status"] == "unhealthy" and "outbox is stuck" in body["reasons"][0]
    assert body["pending"] == 1
    cli = subprocess.run(  # the same function answers `monitor health`
        [sys.executable, "-m", "monitor", "health", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))},
    )
    assert cli.returncode == 1 and "outbox is stuck" in cli.stderr
    m = scrape(url)
    assert value(m, "monitor_outbox_pending") == 1
    assert value(m, "monitor_outbox_oldest_pending_age_seconds") > 3
    assert value(m, "monitor_alerts_retried_total") >= 1

    slack.set_down(False)
    wait(lambda: not unhealthy(), what="health to recover once Slack answers")
    assert value(scrape(url), "monitor_alerts_sent_total") == 3
    assert daemon.stop() == 0


def test_metrics_can_be_switched_off(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/a.xml", rss([ATTACK]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml"))], metrics={"enabled": False})
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.messages) == 1, what="the alert")
    assert daemon.stop() == 0
    assert not any(e.get("event") == "metrics.listening" for e in daemon.events())


def test_health_json_from_the_command(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    cli = subprocess.run(
        [sys.executable, "-m", "monitor", "health", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))},
    )
    assert cli.returncode == 1
    assert json.loads(cli.stdout)["status"] == "unhealthy"
