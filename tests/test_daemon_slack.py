"""End to end: `monitor run` as a subprocess with SLACK_APP_TOKEN, against the local
Web API and Socket Mode servers. People click the buttons of a real alert; every
envelope must be acked within Slack's 3 s (the fake records any that is not)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NIO_A, NIO_B, UNION, rss, slack_env, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import APP_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.running import Daemon, wait

pytestmark = pytest.mark.timeout(180)
SEC = "C0SECALERT"
ANALYST = "U0ANALYST"


@pytest.fixture
def sm(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(slack) as fake:
        yield fake
        assert fake.violations == []  # every envelope acked in time, once, without payload


def env(slack: FakeSlack) -> dict[str, str]:
    return {**slack_env(slack), "SLACK_APP_TOKEN": APP_TOKEN}


def events(daemon: Daemon, name: str) -> list[dict[str, Any]]:
    return [e for e in daemon.events() if e.get("event") == name]


def the_alert(slack: FakeSlack) -> dict[str, Any]:
    wait(lambda: len(slack.top_level()) == 1, what="the alert")
    (message,) = slack.top_level()
    current = slack.message(message["channel"], message["ts"])
    assert current is not None
    return current


def edited(slack: FakeSlack, text: str) -> dict[str, Any]:
    wait(lambda: any(text in json.dumps(u["blocks"]) for u in slack.updates), what=text)
    return next(u for u in slack.updates if text in json.dumps(u["blocks"]))


def test_mute_story_from_slack_holds_its_next_report(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, sm: FakeSocketMode, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/cn.xml", rss([NIO_A]))
    feeds.set_feed("/wire.xml", rss([UNION]))
    config = write_config(
        tmp_path, [("CarNews", feeds.url("/cn.xml")), ("Wire", feeds.url("/wire.xml"))]
    )
    daemon = run_daemon(config, env(slack))
    alert = the_alert(slack)
    assert "monitor_mute_story" in json.dumps(alert["blocks"])
    assert sm.wait_for_connection(1, timeout=30)
    click = sm.click(SEC, alert["ts"], "monitor_mute_story", user_id=ANALYST)
    assert sm.wait_for_ack(click) is not None
    update = edited(slack, ":mute: Story")
    assert "monitor_unmute_story" in json.dumps(update["blocks"])
    assert "from Slack by analyst (U0ANALYST)" in json.dumps(update["blocks"])

    feeds.set_feed("/wire.xml", rss([UNION, NIO_B]))  # the same story, from another outlet
    wait(
        lambda: any(e.get("muted") == 1 for e in events(daemon, "cycle.routed")),
        what="the second report, muted",
    )
    polls = feeds.count("/wire.xml")
    wait(lambda: feeds.count("/wire.xml") >= polls + 2, what="two more polls")
    assert daemon.stop() == 0
    assert len(slack.messages) == 1 and slack.replies(alert["ts"]) == []
    (action,) = events(daemon, "slack.action")
    assert (action["action"], action["user"], action["outcome"]) == (
        "monitor_mute_story", ANALYST, "done",
    )  # fmt: skip


def test_acknowledge_edits_the_message_and_a_stranger_changes_nothing(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, sm: FakeSocketMode, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    slack.add_user("U0LEAD", "lead", channels=[SEC])
    slack.add_usergroup("S0SECTEAM", ["U0LEAD"])
    feeds.set_feed("/cn.xml", rss([NIO_A]))
    config = write_config(
        tmp_path, [("CarNews", feeds.url("/cn.xml"))], slack={"actors": ["S0SECTEAM"]}
    )
    daemon = run_daemon(config, env(slack))
    alert = the_alert(slack)
    assert sm.wait_for_connection(1, timeout=30)

    for action in ("monitor_ack", "monitor_mute_feed", "monitor_noise"):
        sm.click(SEC, alert["ts"], action, user_id=ANALYST)  # not in slack.actors
    wait(lambda: len(slack.responses) == 3, what="three refusals")
    assert all(r["user"] == ANALYST and "slack.actors" in r["text"] for r in slack.responses)
    assert {r["response_type"] for r in slack.responses} == {"ephemeral"}

    sm.click(SEC, alert["ts"], "monitor_ack", user_id="U0LEAD")  # a member of the group
    update = edited(slack, "Acknowledged by <@U0LEAD>")
    assert not [b for b in update["blocks"] if b["type"] == "actions"]  # the row became a line
    assert update["ts"] == alert["ts"] and update["channel"] == SEC
    assert daemon.stop() == 0
    assert len(slack.updates) == 1 and len(slack.responses) == 3  # refusals edited nothing
    outcomes = [(e["user"], e["outcome"]) for e in events(daemon, "slack.action")]
    assert outcomes == [(ANALYST, "refused")] * 3 + [("U0LEAD", "done")]


def test_socket_down_drop_and_refresh_then_sigterm(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, sm: FakeSocketMode, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    # Socket Mode refused 3 times (each try is 2 requests: one quick retry): meanwhile
    # the daemon polls and delivers as ever
    slack.fail_next(6, status=503, methods=("apps.connections.open",))
    feeds.set_feed("/cn.xml", rss([NIO_A]))
    config = write_config(tmp_path, [("CarNews", feeds.url("/cn.xml"))])
    daemon = run_daemon(config, env(slack))
    alert = the_alert(slack)
    assert sm.connections == 0
    assert sm.wait_for_connection(1, timeout=60)
    assert len(events(daemon, "slack.socket_failed")) == 3

    assert sm.drop_connection() == 1  # a reset: no close frame
    assert sm.wait_for_connection(2, timeout=10)
    sm.click(SEC, alert["ts"], "monitor_noise", user_id=ANALYST)
    edited(slack, "Marked not relevant by <@U0ANALYST>")

    sm.send_disconnect()  # Slack's refresh
    assert sm.wait_for_connection(3, timeout=10)
    click = sm.click(SEC, alert["ts"], "monitor_ack", user_id=ANALYST)  # right away
    ack = sm.wait_for_ack(click)
    assert ack is not None and ack["delay"] < 1.0 and ack["connection"] == 3
    edited(slack, "Acknowledged by <@U0ANALYST>")
    command = sm.push_slash_command("/monitor", "status", ANALYST, SEC)
    assert sm.wait_for_ack(command) is not None
    wait(lambda: any("feeds" in (r["text"] or "") for r in slack.responses), what="/monitor")

    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    assert sm.wait_for(lambda f: f.open_connections == 0, timeout=5)
    assert events(daemon, "slack.socket_closed") and events(daemon, "daemon.stopped")
    assert [e["outcome"] for e in events(daemon, "slack.action")] == ["done", "done"]
