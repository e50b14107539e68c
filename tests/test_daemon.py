"""End to end: `monitor run` as a subprocess, feeds over HTTP, Slack's Web API local."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import NIO_A, NIO_B, REPO, UNION, Item, rss, slack_env, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack
from tests.running import Daemon, wait

pytestmark = pytest.mark.timeout(180)


def polled(daemon: Daemon) -> int:
    return sum(1 for e in daemon.events() if e.get("event") == "feed.polled")


def titles(slack: FakeSlack) -> collections.Counter[str]:
    return collections.Counter(m["text"] for m in slack.top_level())


def story(i: int, feed: str) -> Item:
    """A distinct event: each names its own (made-up) company."""
    letters = "".join(chr(97 + int(c)) if c.isdigit() else c for c in feed)
    company = f"{letters.capitalize()}{chr(97 + i)}tronics"
    return Item(
        f"Ransomware attack on supplier {company} halts production",
        f"https://{feed}.example/story/{i}",
        f"{feed}-{i}",
    )


def test_new_items_alert_once_and_sigterm_stops_cleanly(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/a.xml", rss([NIO_A, UNION]))
    feeds.set_feed("/b.xml", rss([story(1, "b")]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml")), ("B", feeds.url("/b.xml"))])
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.top_level()) == 2, what="two alerts")
    polls = feeds.count("/a.xml")
    wait(lambda: feeds.count("/a.xml") >= polls + 2, what="two more polls")
    assert len(slack.top_level()) == 2  # nothing new, nothing sent
    assert any(r["headers"].get("if-none-match") for r in feeds.requests)
    feeds.set_feed("/a.xml", rss([NIO_A, UNION, story(2, "a")]))
    wait(lambda: len(slack.top_level()) == 3, what="the new item's alert")
    polls = feeds.count("/a.xml")
    wait(lambda: feeds.count("/a.xml") >= polls + 2, what="two more polls")
    assert max(titles(slack).values()) == 1
    assert all("Senior union" not in t for t in titles(slack))
    assert daemon.stop() == 0
    assert any(e.get("event") == "daemon.stopped" for e in daemon.events())


@pytest.mark.slow  # four restarts, ~20 s (CI); the soak (test_soak.py) kills 20 times
def test_kill_9_mid_cycle_loses_nothing_and_repeats_nothing(
    tmp_path: Path, feeds: FeedServer, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    channels = {
        "security-alerts": "C0SECALERT",
        "ops": "C0OPS",
        "general": "C0GENERAL",
        "autos": "C0AUTOS",
    }
    names = list(channels)
    with FakeSlack(channels=channels) as slack:
        expected = set()
        config_feeds = []
        for f in range(8):
            items = [story(i, f"f{f}") for i in range(4)]
            expected |= {it.title for it in items}
            feeds.set_feed(f"/f{f}.xml", rss(items))
            config_feeds.append(
                {"name": f"F{f}", "url": feeds.url(f"/f{f}.xml"), "channel": f"#{names[f % 4]}"}
            )
        feeds.set_slow("/slow.xml", 1.5, body=rss([story(9, "slow")]))
        expected.add(story(9, "slow").title)
        config_feeds.append({"name": "Slow", "url": feeds.url("/slow.xml")})
        config = write_config(tmp_path, [])
        data = yaml.safe_load(config.read_text())
        data["feeds"] = config_feeds
        config.write_text(yaml.safe_dump(data))
        env = slack_env(slack)
        for target in (0, 1, 6):
            daemon = run_daemon(config, env)
            # die at a different point each time: mid-poll (the slow feed still out),
            # at the first post, mid-delivery
            if target == 0:
                wait(lambda d=daemon: polled(d) >= 1, what="a feed stored, mid-poll")
            else:
                wait(lambda t=target: len(slack.messages) >= t, what="some posts")
            daemon.stop(signal.SIGKILL)
        daemon = run_daemon(config, env)
        wait(lambda: len(slack.messages) >= len(expected), timeout=60, what="every alert")
        polls = feeds.count("/slow.xml")
        wait(lambda: feeds.count("/slow.xml") > polls, what="another full cycle")
        daemon.stop()
        got = collections.Counter(
            m["text"].split("] ", 1)[1].rsplit(" (", 1)[0] for m in slack.messages
        )
        assert set(got) == expected
        assert max(got.values()) == 1, [t for t, n in got.items() if n > 1]


def test_slack_outage_then_recovery_delivers_every_pending_alert(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/a.xml", rss([story(i, "a") for i in range(3)]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml"))], delivery={"max_backoff": "1s"})
    slack.set_down(True)
    daemon = run_daemon(config, slack_env(slack))
    wait(
        lambda: any(e.get("event") == "alert.retry_later" for e in daemon.events()),
        what="an attempt during the outage",
    )
    outputs: list[str] = []

    def status_shows_the_failure() -> bool:
        # the failed alert is retried at once (max_backoff 1s), and while a retry is
        # in flight it is `sending`, which status does not list: ask until it shows
        status = subprocess.run(
            [sys.executable, "-m", "monitor", "status", "--config", str(config), "--json"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))},
        )
        outputs.append(status.stdout)
        return bool(json.loads(status.stdout)["failed"])

    wait(status_shows_the_failure, what="status to list the failing alert")
    data = json.loads(outputs[-1])
    assert data["alerts"].get("pending", 0) + data["alerts"].get("sending", 0) == 3
    assert "503" in (data["failed"][0]["error"] or "")
    assert "<html" not in outputs[-1].lower()
    slack.set_down(False)
    wait(lambda: len(slack.messages) == 3, timeout=40, what="delivery after the outage")
    polls = feeds.count("/a.xml")
    wait(lambda: feeds.count("/a.xml") >= polls + 2, what="two more polls")
    assert len(slack.messages) == 3
    daemon.stop()


def test_failing_feed_backs_off_and_does_not_stop_the_others(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_status("/broken.xml", 500)
    feeds.set_html("/html.xml")
    feeds.set_feed("/ok.xml", rss([NIO_B]))
    config = write_config(
        tmp_path,
        [
            ("Broken", feeds.url("/broken.xml")),
            ("Html", feeds.url("/html.xml")),
            ("Ok", feeds.url("/ok.xml")),
        ],
    )
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.messages) == 1, what="the good feed's alert")
    wait(lambda: feeds.count("/ok.xml") >= 7, what="seven polls of the good feed")
    daemon.stop()
    # interval 1s: the good feed is polled every second, the broken one backs off 1s, 2s,
    # 4s, 8s: at most 4 polls in the 7 or so seconds the good one took 7
    assert feeds.count("/broken.xml") <= 4
    failures = [e for e in daemon.events() if e.get("event") == "feed.failed"]
    assert {e["feed"] for e in failures} == {"Broken", "Html"}
    assert any("HTML" in str(e["error"]) for e in failures)


def test_rule_edits_reload_live_and_bad_edits_never_take_effect(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "id: ransom\ntitle: Ransomware\nseverity: high\nmatch: {any: [ransomware]}\n"
    )
    feeds.set_feed("/a.xml", rss([story(1, "a")]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml"))], rules=str(rules))
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.messages) == 1, what="first alert")
    (rules / "r.yaml").write_text(
        "id: ransom\ntitle: Ransomware\nseverity: high\nmatch: {any: [ransomware]}\nbogus: 1\n"
    )
    wait(
        lambda: any(e.get("event") == "rules.invalid" for e in daemon.events()),
        what="the bad edit to be rejected",
    )
    feeds.set_feed("/a.xml", rss([story(1, "a"), story(2, "a")]))
    wait(lambda: len(slack.messages) == 2, what="old rules still alerting")
    (rules / "more.yaml").write_text(
        "id: phish\ntitle: Phishing\nseverity: medium\nmatch: {any: [phishing]}\n"
    )
    (rules / "r.yaml").write_text(
        "id: ransom\ntitle: Ransomware\nseverity: high\nmatch: {any: [ransomware]}\n"
    )
    wait(
        lambda: any(e.get("event") == "rules.reloaded" for e in daemon.events()),
        what="the good edit to load",
    )
    feeds.set_feed(
        "/a.xml",
        rss(
            [
                story(1, "a"),
                story(2, "a"),
                Item("Phishing wave hits banks", "https://a.example/p", "p1"),
            ]
        ),
    )
    wait(lambda: len(slack.messages) == 3, what="the new rule's alert")
    daemon.stop()
    errors = [e for e in daemon.events() if e.get("event") == "rules.invalid"]
    assert len(errors) == 1 and "r.yaml:5:1" in str(errors[0]["error"])


def test_two_reports_of_one_story_give_one_message_and_one_thread_reply(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/cn.xml", rss([NIO_A]))
    feeds.set_feed("/wire.xml", rss([UNION]))
    config = write_config(
        tmp_path, [("CarNews", feeds.url("/cn.xml")), ("Wire", feeds.url("/wire.xml"))]
    )
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.messages) == 1, what="the first report's alert")
    polls = feeds.count("/wire.xml")
    wait(lambda: feeds.count("/wire.xml") > polls, what="a later cycle")
    feeds.set_feed("/wire.xml", rss([UNION, NIO_B]))
    wait(lambda: len(slack.messages) == 2, what="the second report")
    wait(lambda: len(slack.updates) == 1, what="the first message to be edited")
    polls = feeds.count("/wire.xml")
    wait(lambda: feeds.count("/wire.xml") >= polls + 2, what="two more polls")
    daemon.stop()
    (root,) = slack.top_level()
    (reply,) = slack.replies(root["ts"])
    assert "NIO receives blackmail" in root["text"]
    assert reply["thread_ts"] == root["ts"] and "Wire" in reply["text"]
    assert "Reported 2 times" in str(slack.updates[0]["blocks"])
