"""Delivery against a local Slack Web API server as strict as Slack at its strictest
(one message per second per channel, no burst, 429 with Retry-After, outages),
through slack_sdk. The server and the outbox share one fake clock, so the pace is
measured exactly and no test sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerts import AlertState, Role, Route
from monitor.deliver.outbox import Delivery
from monitor.deliver.slack import BotSender
from monitor.deliver.webhook import WebhookSender
from monitor.store import Store
from tests.builders import cand, entry, poll
from tests.conftest import TOKEN
from tests.fakes.slack_server import FakeSlack, live_mentions, message_mrkdwn_texts

SEC = "C0SECALERT"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def strict(clock: Clock):  # type: ignore[no-untyped-def]
    with FakeSlack(rate_limit_per_channel=1.0, clock=clock) as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "m.db") as s:
        s.feeds.sync([("A", "u")], 0)
        yield s


_made = [0]


def queue(
    store: Store,
    n: int = 1,
    channel: str = "#security-alerts",
    title: str = "Story",
    story: str | None = None,
    role: Role = Role.ROOT,
    state: AlertState = AlertState.PENDING,
    digest: str | None = None,
) -> list[int]:
    """n alerts through a poll into the outbox, routed as given."""
    start = _made[0]
    _made[0] += n
    items = [
        cand(entry(start + i, link=f"https://n.example/{start + i}", title=f"{title} {i}"))
        for i in range(n)
    ]
    poll(store, "A", items)
    routed = [
        (a, Route(state, channel, role=role, story=story or f"s{a.id}", digest=digest))
        for a in store.outbox.ungrouped()
    ]
    store.record_routes(routed, [], 1.0)
    return [a.id for a, _ in routed]


def delivery(store: Store, sender, clock: Clock, **kw) -> Delivery:  # type: ignore[no-untyped-def]
    return Delivery(store, sender, clock=clock, sleep=clock.sleep, **kw)


def bot(slack: FakeSlack, token: str = TOKEN) -> BotSender:
    return BotSender(token, slack.base_url)


def texts(slack: FakeSlack) -> list[str]:
    return [m["text"] for m in slack.messages]


def test_alerts_are_posted_once_with_ts_kept(store: Store, slack: FakeSlack, clock: Clock) -> None:
    ids = queue(store, 3)
    assert delivery(store, bot(slack), clock).run().sent == 3
    assert delivery(store, bot(slack), clock).run().sent == 0
    assert len(slack.messages) == 3
    sent = [store.outbox.get(i) for i in ids]
    assert {a.slack_channel for a in sent if a} == {SEC}
    assert sorted(a.slack_ts for a in sent if a) == sorted(m["ts"] for m in slack.messages)
    for m in slack.messages:
        assert not m.get("link_names") and m.get("parse") in (None, "none")


def test_feed_text_never_pings(store: Store, slack: FakeSlack, clock: Clock) -> None:
    queue(store, 1, title="<!channel> <https://evil.example|bank>")
    delivery(store, bot(slack), clock).run()
    (message,) = slack.messages
    for text in message_mrkdwn_texts(message):
        targets = [m[1:].split("|")[0].rstrip(">") for m in live_mentions(text)]
        assert all(t.startswith("https://n.example/") for t in targets), text


def test_paced_to_one_a_second_with_no_burst(store: Store, strict: FakeSlack, clock: Clock) -> None:
    queue(store, 10)
    report = delivery(store, bot(strict), clock).run(once=True)
    assert report.sent == 10 and strict.rate_limited == []
    assert texts(strict) == [f"[HIGH] Story {i} (A)" for i in range(10)]  # in order
    assert 9.0 <= sum(clock.slept) <= 9.5


def test_channels_drain_side_by_side(store: Store, strict: FakeSlack, clock: Clock) -> None:
    for channel in ("#security-alerts", "#ops", "#general"):
        queue(store, 4, channel=channel)
    report = delivery(store, bot(strict), clock).run(once=True)
    assert report.sent == 12 and strict.rate_limited == []
    assert sum(clock.slept) <= 3.5  # not 11: the three channels' gates open together


def test_a_429_holds_the_whole_channel_keeps_order_and_counts_no_attempt(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    ids = queue(store, 3)
    slack.fail_next(1, status=429, retry_after=7)
    report = delivery(store, bot(slack), clock).run()  # the daemon: does not block 7 s
    assert report.rate_limited == 1 and report.sent == 0 and slack.messages == []
    assert report.next_wake == pytest.approx(clock.now + 7)
    assert [store.outbox.get(i).attempts for i in ids] == [0, 0, 0]  # type: ignore[union-attr]
    clock.now += 7
    report = delivery(store, bot(slack), clock).run()
    # one run held the gate for all three: a new Delivery starts without that memory,
    # so it is the database order that keeps them in line
    assert report.sent == 3 and texts(slack) == [f"[HIGH] Story {i} (A)" for i in range(3)]


def test_a_429_is_waited_out_in_once_mode_within_the_budget(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 2)
    slack.fail_next(1, status=429, retry_after=7)
    report = delivery(store, bot(slack), clock).run(once=True)
    assert report.sent == 2 and report.waited >= 7
    queue(store, 1)
    slack.fail_next(1, status=429, retry_after=600)
    report = delivery(store, bot(slack), clock, max_wait_429=120).run(once=True)
    assert report.sent == 0 and report.next_wake == pytest.approx(clock.now + 600, abs=1)


def test_an_outage_closes_the_channel_then_the_queue_drains_in_order(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 5)
    slack.set_down(True)
    run = delivery(store, bot(slack), clock, max_backoff=300)
    report = run.run()
    assert report.sent == 0 and report.retried == 1  # one attempt, not one per alert
    posts = [r for r in slack.requests if r["path"].endswith("chat.postMessage")]
    assert len(posts) == 3  # slack_sdk's two quick retries inside the attempt
    assert report.next_wake is not None and 24 <= report.next_wake - clock.now <= 30
    slack.set_down(False)
    clock.now = report.next_wake
    assert run.run().sent == 5  # within one retry interval, in order
    assert texts(slack) == [f"[HIGH] Story {i} (A)" for i in range(5)]


def test_once_right_after_an_outage_tries_every_pending_alert_now(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    ids = queue(store, 8)
    slack.set_down(True)
    delivery(store, bot(slack), clock).run()
    assert store.outbox.get(ids[0]).next_attempt_at > clock.now  # type: ignore[union-attr]
    slack.set_down(False)
    # the daemon, restarted now, keeps the order: nothing goes before the first
    assert delivery(store, bot(slack), clock).run().sent == 0
    report = delivery(store, bot(slack), clock).run(once=True)
    assert report.sent == 8 and store.outbox.counts() == {"sent": 8}


def test_once_during_an_outage_says_when_the_daemon_retries(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 3)
    slack.set_down(True)
    report = delivery(store, bot(slack), clock).run(once=True)
    assert report.sent == 0 and report.next_wake is not None and report.next_wake > clock.now
    assert "an HTML error page" in report.errors[0] or "503" in report.errors[0]
    assert len(report.errors[0]) < 200  # a short line, never Slack's whole error page


@pytest.mark.parametrize(
    ("token", "channel", "code"),
    [
        ("xoxb-wrong", "#security-alerts", "invalid_auth"),
        (TOKEN, "#no-such-channel", "channel_not_found"),
    ],
)
def test_permanent_errors_mark_failed(
    store: Store, slack: FakeSlack, clock: Clock, token: str, channel: str, code: str
) -> None:
    queue(store, 1, channel=channel)
    report = delivery(store, bot(slack, token), clock).run()
    assert report.failed == 1 and code in report.errors[0]
    assert store.outbox.counts() == {"failed": 1}


def test_crash_after_post_is_not_sent_twice(store: Store, slack: FakeSlack, clock: Clock) -> None:
    (alert_id,) = queue(store, 1)
    assert store.outbox.claim(alert_id, clock.now)
    # the post reached Slack, then the process died before marking it sent
    from monitor.deliver.render import render_alert
    from monitor.deliver.sender import Post

    alert = store.outbox.get(alert_id)
    assert alert is not None
    bot(slack).post(Post(render_alert(alert), "#security-alerts", (alert_id,)))
    delivery(store, bot(slack), clock).run()  # a new process: no channel cache
    assert len(slack.messages) == 1 and store.outbox.counts() == {"sent": 1}


def test_crash_after_a_thread_reply_is_found_in_the_thread(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 1, story="nio")
    delivery(store, bot(slack), clock).run()
    (reply_id,) = queue(store, 1, story="nio", role=Role.FOLLOWUP, title="Other outlet")
    story = store.stories.get(store.outbox.get(reply_id).story_id)  # type: ignore[union-attr]
    assert story is not None and story.slack_ts
    store.outbox.claim(reply_id, clock.now)
    from monitor.deliver.render import render_followup
    from monitor.deliver.sender import Post

    message = render_followup(store.outbox.get(reply_id))  # type: ignore[arg-type]
    bot(slack).post(Post(message, SEC, (reply_id,), thread_ts=story.slack_ts))
    delivery(store, bot(slack), clock).run()
    assert len(slack.replies(story.slack_ts)) == 1  # found in the thread, not sent again


def test_crash_before_post_is_sent(store: Store, slack: FakeSlack, clock: Clock) -> None:
    (alert_id,) = queue(store, 1)
    store.outbox.claim(alert_id, clock.now)  # died before the post
    delivery(store, bot(slack), clock).run()
    assert len(slack.messages) == 1 and store.outbox.counts() == {"sent": 1}


def test_without_the_history_scope_an_alert_in_doubt_is_sent_again(
    store: Store, clock: Clock
) -> None:
    with FakeSlack(scopes={"chat:write"}) as slack:
        (alert_id,) = queue(store, 1)
        store.outbox.claim(alert_id, clock.now)
        delivery(store, bot(slack), clock).run()
        assert len(slack.messages) == 1 and store.outbox.counts() == {"sent": 1}
        asked = [r for r in slack.requests if "conversations" in r["path"]]
        assert asked and {r["error"] for r in asked} == {"missing_scope"}


def test_the_crash_check_needs_no_channels_read_once_a_channel_was_posted_to(
    store: Store, clock: Clock
) -> None:
    with FakeSlack(scopes={"chat:write", "channels:history"}) as slack:
        queue(store, 1)
        delivery(store, bot(slack), clock).run()
        (alert_id,) = queue(store, 1, title="second")
        store.outbox.claim(alert_id, clock.now)
        delivery(store, bot(slack), clock).run()  # a restart: the channel's ID is remembered
        asked = [r for r in slack.requests if "conversations" in r["path"]]
        assert [r["path"].rsplit("/", 1)[-1] for r in asked] == ["conversations.history"]
        assert asked[0]["ok"] and len(slack.messages) == 2


def test_webhook_delivery_and_errors(store: Store, slack: FakeSlack, clock: Clock) -> None:
    queue(store, 2)
    slack.fail_next(1, status=429, retry_after=3, methods=("webhook",))
    report = delivery(store, WebhookSender(slack.webhook_url), clock).run(once=True)
    assert report.sent == 2 and [m["via"] for m in slack.messages] == ["webhook", "webhook"]
    queue(store, 1, title="other")
    bad = WebhookSender(slack.webhook_url.replace("XXXXXXXX", "nope"))
    assert delivery(store, bad, clock).run().failed == 1


def test_every_pending_alert_is_attempted_past_one_page(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 12)
    report = delivery(store, bot(slack), clock, page=5).run(once=True)  # three pages
    assert report.sent == 12 and len(slack.messages) == 12


def test_followups_thread_under_the_root_and_the_root_counts_them(
    store: Store, strict: FakeSlack, clock: Clock
) -> None:
    queue(store, 1, story="nio")
    queue(store, 2, story="nio", role=Role.FOLLOWUP, title="Other outlet")
    report = delivery(store, bot(strict), clock).run(once=True)
    assert report.sent == 3 and strict.rate_limited == []
    (root,) = strict.top_level()
    replies = strict.replies(root["ts"])
    assert len(replies) == 2 and all(isinstance(r["thread_ts_raw"], str) for r in replies)
    (update,) = strict.updates  # one edit for both replies, at the pace
    assert update["ts"] == root["ts"] and "Reported 3 times" in str(update["blocks"])


def test_a_digest_is_never_a_threads_parent_nor_edited(
    store: Store, slack: FakeSlack, clock: Clock
) -> None:
    queue(store, 3, story="s", state=AlertState.DIGEST, digest="breaker")
    report = delivery(store, bot(slack), clock).run(once=True)
    (digest,) = slack.top_level()
    assert report.sent == 3 and "3 alerts at once" in digest["text"]
    # a later report of that story has no message of its own to thread under
    (later,) = queue(store, 1, story="s", role=Role.FOLLOWUP, title="Later")
    delivery(store, bot(slack), clock).run(once=True)
    assert len(slack.top_level()) == 2 and slack.replies(digest["ts"]) == []
    assert slack.updates == [] or all(u["ts"] != digest["ts"] for u in slack.updates)
    assert store.outbox.get(later).state == AlertState.SENT  # type: ignore[union-attr]
