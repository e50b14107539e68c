"""Delivery against a local Slack Web API server, through slack_sdk."""

from pathlib import Path

import pytest

from monitor.deliver.outbox import Outbox
from monitor.deliver.slack import BotSender, WebhookSender
from monitor.models import Entry, Match, Severity, TermHit
from monitor.store import NewAlert, Store
from tests.conftest import TOKEN
from tests.fakes.slack_server import FakeSlack, live_mentions, message_mrkdwn_texts


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
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "m.db") as s:
        s.sync_feeds([("A", "u")], 0)
        yield s


def queue(
    store: Store, n: int = 1, channel: str = "#security-alerts", title: str = "Story"
) -> list[int]:
    hit = TermHit("x", "title", 0, 1, "x")
    items = [
        NewAlert(
            Entry(
                feed="A",
                key=f"k{i}-{title}",
                url_key=f"n.example/{title}/{i}",
                link=f"https://n.example/{i}",
                title=f"{title} {i}",
            ),
            (Match("r", "Rule", Severity.HIGH, None, (hit,)),),
            channel,
            True,
        )
        for i in range(n)
    ]
    return store.record_poll(
        "A", 1.0, 2.0, items, etag=None, last_modified=None, content_hash=None, max_alerts=100
    ).alerts


def outbox(store: Store, sender, clock: Clock, **kw) -> Outbox:  # type: ignore[no-untyped-def]
    return Outbox(store, sender, clock=clock, sleep=clock.sleep, **kw)


def bot(slack: FakeSlack, token: str = TOKEN) -> BotSender:
    return BotSender(token, slack.base_url)


def test_alerts_are_posted_once_with_ts_kept(store: Store, slack: FakeSlack) -> None:
    queue(store, 3)
    clock = Clock()
    report = outbox(store, bot(slack), clock).deliver()
    assert report.sent == 3 and len(slack.messages) == 3
    assert outbox(store, bot(slack), clock).deliver().sent == 0
    assert len(slack.messages) == 3
    rows = store.conn.execute("SELECT slack_channel, slack_ts FROM alerts").fetchall()
    assert {r[0] for r in rows} == {"C0SECALERT"}
    assert sorted(r[1] for r in rows) == sorted(m["ts"] for m in slack.messages)
    for m in slack.messages:
        assert not m.get("link_names") and m.get("parse") in (None, "none")


def test_feed_text_never_pings(store: Store, slack: FakeSlack) -> None:
    queue(store, 1, title="<!channel> <https://evil.example|bank>")
    outbox(store, bot(slack), Clock()).deliver()
    (message,) = slack.messages
    for text in message_mrkdwn_texts(message):
        targets = [m[1:].split("|")[0].rstrip(">") for m in live_mentions(text)]
        assert set(targets) <= {"https://n.example/0"}, text


def test_429_is_waited_out_in_once_mode(store: Store, slack: FakeSlack) -> None:
    queue(store, 2)
    slack.fail_next(1, status=429, retry_after=7)
    clock = Clock()
    report = outbox(store, bot(slack), clock, wait_out_429=True).deliver()
    assert report.sent == 2 and 7 in clock.slept


def test_429_is_retried_later_in_daemon_mode(store: Store, slack: FakeSlack) -> None:
    queue(store, 1)
    slack.fail_next(1, status=429, retry_after=40)
    clock = Clock()
    report = outbox(store, bot(slack), clock).deliver()
    assert report.retry == 1 and slack.messages == []
    row = store.conn.execute("SELECT state, next_attempt_at FROM alerts").fetchone()
    assert row[0] == "pending" and row[1] >= clock.now + 40
    clock.now += 41
    assert outbox(store, bot(slack), clock).deliver().sent == 1


def test_outage_then_recovery_delivers_everything(store: Store, slack: FakeSlack) -> None:
    queue(store, 5)
    clock = Clock()
    slack.set_down(True)
    report = outbox(store, bot(slack), clock).deliver()
    assert report.sent == 0 and report.retry == 3  # stops after three in a row
    slack.set_down(False)
    clock.now += 3600
    assert outbox(store, bot(slack), clock).deliver().sent == 5
    assert len(slack.messages) == 5


@pytest.mark.parametrize(
    ("token", "channel", "code"),
    [
        ("xoxb-wrong", "#security-alerts", "invalid_auth"),
        (TOKEN, "#no-such-channel", "channel_not_found"),
    ],
)
def test_permanent_errors_mark_failed(
    store: Store, slack: FakeSlack, token: str, channel: str, code: str
) -> None:
    queue(store, 1, channel=channel)
    report = outbox(store, bot(slack, token), Clock()).deliver()
    assert report.failed == 1 and code in report.errors[0]
    assert store.alert_counts() == {"failed": 1}


def test_crash_after_post_is_not_sent_twice(store: Store, slack: FakeSlack) -> None:
    (alert_id,) = queue(store, 1)
    sender, clock = bot(slack), Clock()
    # the post reached Slack, then the process died before marking it sent
    store.claim(alert_id, clock.now)
    from monitor.deliver.render import render_alert

    sender.post(render_alert(store.in_doubt()[0]), "#security-alerts", alert_id)
    fresh = bot(slack)  # a new process: no channel cache
    outbox(store, fresh, clock).deliver()
    assert len(slack.messages) == 1
    assert store.alert_counts() == {"sent": 1}


def test_crash_before_post_is_sent(store: Store, slack: FakeSlack) -> None:
    (alert_id,) = queue(store, 1)
    store.claim(alert_id, 1000.0)  # died before the post
    outbox(store, bot(slack), Clock()).deliver()
    assert len(slack.messages) == 1 and store.alert_counts() == {"sent": 1}


def test_webhook_delivery_and_errors(store: Store, slack: FakeSlack) -> None:
    queue(store, 2)
    clock = Clock()
    slack.fail_next(1, status=429, retry_after=3, methods=("webhook",))
    report = outbox(store, WebhookSender(slack.webhook_url), clock, wait_out_429=True).deliver()
    assert report.sent == 2 and [m["via"] for m in slack.messages] == ["webhook", "webhook"]
    queue(store, 1, title="other")
    bad = WebhookSender(slack.webhook_url.replace("XXXXXXXX", "nope"))
    assert outbox(store, bad, clock).deliver().failed == 1


def test_pacing_about_one_per_second_per_channel(store: Store, slack: FakeSlack) -> None:
    queue(store, 10)
    clock = Clock()
    outbox(store, bot(slack), clock).deliver()
    assert len(slack.messages) == 10
    assert sum(clock.slept) >= 5  # a burst of four, then about one a second


def test_every_pending_alert_is_attempted_past_one_page(store: Store, slack: FakeSlack) -> None:
    import monitor.deliver.outbox as outbox_module

    queue(store, 12)
    clock = Clock()
    page = outbox_module.PAGE
    outbox_module.PAGE = 5  # three pages
    try:
        report = outbox(store, bot(slack), clock, breaker=100).deliver()
    finally:
        outbox_module.PAGE = page
    assert report.sent == 12 and len(slack.messages) == 12
