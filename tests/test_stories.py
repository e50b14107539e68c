"""One alert per story: grouping, threads, the first message edited, broadcasts,
digests, the breaker, mutes and ops alerts, against the local Slack server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import mutes
from monitor.config import Settings
from monitor.deliver.outbox import Outbox
from monitor.deliver.slack import BotSender, WebhookSender
from monitor.models import Entry, Match, Severity, TermHit
from monitor.ops import Ops
from monitor.store import NewAlert, PollResult, Store
from monitor.stories import StoryIndex, group
from tests.conftest import NIO_A, NIO_B, TOKEN, Item
from tests.fakes.slack_server import FakeSlack, validate_blocks

H = 3600.0


def entry(item: Item, feed: str) -> Entry:
    return Entry(
        feed=feed,
        key=item.guid or item.link,
        url_key=item.link,
        link=item.link,
        title=item.title,
        summary=item.summary,
    )


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
GLOBEX = Item(
    "Ransomware attack halts production at Globex Seating plant",
    "https://b.example/globex",
    "b-1",
    "Globex Seating said Akira hit its plants.",
)


def test_the_two_nio_reports_are_one_story_and_deliveries_another() -> None:
    items = [
        ("a", entry(NIO_A, "CarNews"), 0.0),
        ("d", entry(NIO_DELIVERIES, "CarNews"), 1 * H),
        ("b", entry(NIO_B, "Wire"), 5 * H),
    ]
    decisions = group(items)
    assert decisions["b"].joined and decisions["b"].story == decisions["a"].story
    assert "2.25m" in decisions["b"].shared
    assert decisions["d"].story != decisions["a"].story


def test_two_attacks_on_two_suppliers_are_two_stories() -> None:
    decisions = group([("a", entry(ACME, "X"), 0.0), ("g", entry(GLOBEX, "Y"), H)])
    assert not decisions["g"].joined


def test_reports_outside_the_window_do_not_join() -> None:
    decisions = group([("a", entry(NIO_A, "X"), 0.0), ("b", entry(NIO_B, "Y"), 80 * H)])
    assert not decisions["b"].joined


# -- delivery ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 12, 30, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def match(rule: str = "auto-extortion", severity: Severity = Severity.CRITICAL) -> Match:
    return Match(rule, rule, severity, None, (TermHit("nio", "title", 0, 3, "NIO"),))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "m.db") as s:
        s.sync_feeds([("CarNews", "u"), ("Wire", "u")], 0)
        yield s


def poll(
    store: Store,
    index: StoryIndex,
    feed: str,
    item: Item,
    m: Match,
    clock: Clock,
    digest: str | None = None,
    channel: str = "#security-alerts",
) -> PollResult:
    new = [NewAlert(entry(item, feed), (m,), channel, True, digest)]
    return store.record_poll(
        feed,
        clock(),
        clock() + 60,
        new,
        etag=None,
        last_modified=None,
        content_hash=None,
        max_alerts=20,
        grouper=index,
    )


def deliver(store: Store, sender, clock: Clock, **kw):  # type: ignore[no-untyped-def]
    return Outbox(store, sender, clock=clock, sleep=clock.sleep, **kw).deliver()


def test_follow_up_is_a_thread_reply_and_the_first_message_is_edited(
    store: Store, slack: FakeSlack
) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    poll(store, index, "CarNews", NIO_A, match(), clock)
    deliver(store, bot, clock)
    clock.now += H
    poll(store, index, "Wire", NIO_B, match(), clock)
    deliver(store, bot, clock)
    (root,) = slack.top_level()
    (reply,) = slack.replies(root["ts"])
    assert isinstance(reply["thread_ts"], str) and reply["thread_ts"] == root["ts"]
    assert not reply["orphan"] and not reply["reply_broadcast"]
    assert "Also reported by" in reply["text"] and "Wire" in reply["text"]
    (update,) = slack.updates
    assert update["ts"] == root["ts"] and update["channel"] == root["channel"]
    assert "Reported 2 times" in str(update["blocks"])
    for message in slack.messages + slack.updates:
        assert validate_blocks(message["blocks"]) == []


def test_broadcast_only_when_severity_rises(store: Store, slack: FakeSlack) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    poll(store, index, "CarNews", NIO_A, match("data-breach", Severity.MEDIUM), clock)
    poll(store, index, "Wire", NIO_B, match("auto-extortion", Severity.CRITICAL), clock)
    third = Item(
        NIO_B.title + " as NIO confirms", "https://third.example/nio", "t-1", NIO_B.summary
    )
    poll(store, index, "Wire", third, match("auto-extortion", Severity.CRITICAL), clock)
    deliver(store, bot, clock)
    (root,) = slack.top_level()
    replies = slack.replies(root["ts"])
    assert [r["reply_broadcast"] for r in replies] == [True, False]


def test_follow_up_waits_for_its_first_message(store: Store, slack: FakeSlack) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    poll(store, index, "CarNews", NIO_A, match(), clock)
    poll(store, index, "Wire", NIO_B, match(), clock)
    slack.fail_next(1, status=500, methods=("chat.postMessage",))
    deliver(store, bot, clock)  # the root fails once; the follow-up must not go first
    assert slack.messages == []
    clock.now += 3600
    deliver(store, bot, clock)
    clock.now += 10
    deliver(store, bot, clock)
    (root,) = slack.top_level()
    assert len(slack.replies(root["ts"])) == 1


def test_webhook_follow_up_is_one_compact_line(store: Store, slack: FakeSlack) -> None:
    clock, index = Clock(), StoryIndex()
    hook = WebhookSender(slack.webhook_url)
    poll(store, index, "CarNews", NIO_A, match(), clock)
    poll(store, index, "Wire", NIO_B, match(), clock)
    deliver(store, hook, clock)
    _, second = slack.messages
    assert second["text"].startswith("Also reported by") and len(second["blocks"]) == 2


def test_digest_is_one_message_grouped_by_rule(store: Store, slack: FakeSlack) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    for i in range(5):
        item = Item(f"Bitcoin price moves {i}", f"https://c.example/{i}", f"c{i}")
        poll(store, index, "Wire", item, match("bitcoin-news", Severity.LOW), clock)
    outbox = Outbox(store, bot, clock=clock, sleep=clock.sleep)
    assert outbox.deliver().sent == 0 and outbox.send_digests(8).sent == 0  # not due yet
    clock.now += 24 * H
    assert outbox.send_digests(8).sent == 5
    (message,) = slack.messages
    assert "bitcoin-news" in str(message["blocks"]) and "Daily digest" in message["text"]


def test_breaker_sends_one_digest_instead_of_many(store: Store, slack: FakeSlack) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    firms = (
        "Acme Alpha Amber Atlas Birch Cobalt Delta Ember Falcon Garnet Harbor Indigo "
        "Juniper Kestrel Lumen Maple Nimbus Onyx Pioneer Quartz Raven Sable Tundra Umber "
        "Vertex"
    ).split()
    for i, firm in enumerate(firms):
        item = Item(
            f"Data breach at {firm} Corp exposes customer records",
            f"https://z.example/{i}",
            f"z{i}",
        )
        poll(store, index, "Wire", item, match("data-breach", Severity.MEDIUM), clock)
    report = deliver(store, bot, clock, breaker=20)
    assert report.sent == 25 and len(slack.messages) == 1
    assert validate_blocks(slack.messages[0]["blocks"]) == []


def test_mutes_hold_posts_but_keep_grouping_and_expire(store: Store, slack: FakeSlack) -> None:
    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    mutes.add(store, "rule", "auto-extortion", until=clock() + 24 * H, reason="noisy", now=clock())
    poll(store, index, "CarNews", NIO_A, match(), clock)
    deliver(store, bot, clock)
    assert slack.messages == [] and store.alert_counts() == {"muted": 1}
    assert store.conn.execute("SELECT count(*) FROM stories").fetchone()[0] == 1
    clock.now += 25 * H
    assert mutes.active(store, clock()) == []
    poll(store, index, "Wire", NIO_DELIVERIES, match(), clock)
    deliver(store, bot, clock)
    assert len(slack.messages) == 1


def test_ops_alerts_fire_once_and_recover_once(store: Store, slack: FakeSlack) -> None:
    clock = Clock()
    settings = Settings(slack={"ops_channel": "#ops"}, feeds=[{"name": "Wire", "url": "u"}])
    ops = Ops(store, settings, clock)
    for _ in range(12):
        store.record_failure("Wire", clock(), clock() + 60, "HTTP 500")
        ops.check_feeds()
    store.record_unchanged(
        "Wire", clock(), clock() + 60, etag=None, last_modified=None, content_hash=None
    )
    ops.check_feeds()
    ops.check_feeds()
    ops.rules("rules/r.yaml:3:1: error: unknown key")
    ops.rules("rules/r.yaml:3:1: error: unknown key")
    ops.rules(None)
    deliver(store, BotSender(TOKEN, slack.base_url), clock)
    texts = [m["text"] for m in slack.messages]
    assert all(m["channel"] == "C0OPS" for m in slack.messages)
    assert len(texts) == 4, texts
    assert "failing" in texts[0] and "works again" in texts[1]
    assert "rule edit rejected" in texts[2] and "rules load again" in texts[3]


def test_guid_churn_is_reported_once(store: Store) -> None:
    clock = Clock()
    ops = Ops(store, Settings(), clock)
    assert ops.after_poll("Wire", PollResult(fresh=10, alerts=[], repeats=9)) is None
    ops.after_poll("Wire", PollResult(fresh=10, alerts=[], repeats=8))
    assert [k for k, _, _ in ops.firing()] == ["guid-churn:Wire"]
    ops.after_poll("Wire", PollResult(fresh=3, alerts=[], repeats=0))
    assert ops.firing() == []


def test_critical_alerts_mention_only_whom_the_config_names(store: Store, slack: FakeSlack) -> None:
    from tests.fakes.slack_server import live_mentions, message_mrkdwn_texts

    clock, index, bot = Clock(), StoryIndex(), BotSender(TOKEN, slack.base_url)
    evil = Item("<!channel> NIO blackmail <@U999EVIL>", "https://x.example/nio", "x1")
    poll(store, index, "CarNews", evil, match(), clock)
    poll(store, index, "Wire", ACME, match("data-breach", Severity.MEDIUM), clock)
    deliver(store, bot, clock, mentions={"critical": ["S0SECTEAM", "U0ONCALL"]})
    critical, medium = slack.messages
    live = [m for t in message_mrkdwn_texts(critical) for m in live_mentions(t)]
    pings = [m for m in live if not m.startswith("<http")]
    assert sorted(set(pings)) == ["<!subteam^S0SECTEAM>", "<@U0ONCALL>"]
    assert all(
        not live_mentions(t) or all(m.startswith("<http") for m in live_mentions(t))
        for t in message_mrkdwn_texts(medium)
    )
