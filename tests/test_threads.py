"""One alert per story, end to end below the daemon: a poll stores, the cycle groups
and routes, delivery posts. Threads, the first message edited, broadcasts, digests,
the breaker, mutes, mentions and ops alerts, against the local Slack server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.deliver.outbox import Delivery, DeliveryReport
from monitor.deliver.slack import BotSender
from monitor.deliver.webhook import WebhookSender
from monitor.models import Candidate, Entry, Match, Severity, TermHit
from monitor.ops import Ops
from monitor.pipeline import Pipeline
from monitor.store import PollResult, Store
from tests.builders import pipeline, poll
from tests.conftest import ACME, NIO_A, NIO_B, NIO_DELIVERIES, TOKEN, Item
from tests.fakes.slack_server import FakeSlack, live_mentions, message_mrkdwn_texts, validate_blocks

H = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 12, 30, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def match(rule: str = "auto-extortion", severity: Severity = Severity.CRITICAL) -> Match:
    return Match(rule, rule, severity, None, (TermHit("nio", "title", 0, 3, "NIO"),))


class World:
    """A store, the pipeline's grouping and routing step, and a clock."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.clock = Clock()
        self.settings = Settings(
            database=str(tmp_path / "m.db"),
            feeds=[{"name": "CarNews", "url": "u"}, {"name": "Wire", "url": "u"}],
            **settings,  # type: ignore[arg-type]
        )
        self.store = Store(tmp_path / "m.db")
        self.store.feeds.sync([("CarNews", "u"), ("Wire", "u")], 0)
        self.flow: Pipeline = pipeline(self.store, self.settings)
        self.flow.clock = self.clock

    def report(self, feed: str, item: Item, m: Match | None = None) -> PollResult:
        """One feed's poll brought this item; then the cycle groups and routes."""
        published = datetime.fromtimestamp(self.clock(), tz=UTC)
        e = Entry(
            feed=feed,
            key=item.guid or item.link,
            url_key=item.link,
            link=item.link,
            title=item.title,
            summary=item.summary,
            published=published,
        )
        result = poll(self.store, feed, [Candidate(e, (m or match(),))], now=self.clock())
        self.flow.grouper().observe([e])
        self.flow.group_and_route()
        return result

    def deliver(self, sender: object, *, once: bool = True) -> DeliveryReport:
        d = Delivery(
            self.store,
            sender,
            clock=self.clock,
            sleep=self.clock.sleep,  # type: ignore[arg-type]
            digest_hour=self.settings.slack.digest_hour,
        )
        return d.run(once=once)

    def close(self) -> None:
        self.flow.fetcher.close()
        self.store.close()


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    w = World(tmp_path)
    yield w
    w.close()


def test_follow_up_is_a_thread_reply_and_the_first_message_is_edited(
    world: World, slack: FakeSlack
) -> None:
    bot = BotSender(TOKEN, slack.base_url)
    world.report("CarNews", NIO_A)
    world.deliver(bot)
    world.clock.now += H
    world.report("Wire", NIO_B)
    world.deliver(bot)
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


def test_broadcast_only_when_severity_rises(world: World, slack: FakeSlack) -> None:
    bot = BotSender(TOKEN, slack.base_url)
    world.report("CarNews", NIO_A, match("data-breach", Severity.MEDIUM))
    world.report("Wire", NIO_B, match())
    third = Item(
        NIO_B.title + " as NIO confirms", "https://third.example/nio", "t-1", NIO_B.summary
    )
    world.report("Wire", third, match())
    world.deliver(bot)
    (root,) = slack.top_level()
    assert [r["reply_broadcast"] for r in slack.replies(root["ts"])] == [True, False]


def test_follow_up_waits_for_its_first_message(world: World, slack: FakeSlack) -> None:
    bot = BotSender(TOKEN, slack.base_url)
    world.report("CarNews", NIO_A)
    world.report("Wire", NIO_B)
    slack.fail_next(3, status=500, methods=("chat.postMessage",))  # the attempt and 2 retries
    world.deliver(bot, once=False)  # the root fails; the follow-up must not go first
    assert slack.messages == []
    world.clock.now += H
    world.deliver(bot, once=False)
    (root,) = slack.top_level()
    assert len(slack.replies(root["ts"])) == 1


def test_webhook_follow_up_is_one_compact_line(world: World, slack: FakeSlack) -> None:
    world.report("CarNews", NIO_A)
    world.report("Wire", NIO_B)
    world.deliver(WebhookSender(slack.webhook_url))
    _, second = slack.messages
    assert "Also reported by" in second["text"] and len(second["blocks"]) == 2


def test_digest_is_one_message_grouped_by_rule(world: World, slack: FakeSlack) -> None:
    bot = BotSender(TOKEN, slack.base_url)
    for i in range(5):
        item = Item(f"Bitcoin price moves {i} percent", f"https://c.example/{i}", f"c{i}")
        world.report("Wire", item, match("bitcoin-news", Severity.LOW))
    assert world.deliver(bot).sent == 0  # not due before the digest hour
    world.clock.now += 24 * H
    assert world.deliver(bot).sent == 5
    (message,) = slack.messages
    assert "bitcoin-news" in str(message["blocks"]) and "Daily digest" in message["text"]


def test_breaker_sends_one_digest_instead_of_many(tmp_path: Path, slack: FakeSlack) -> None:
    world = World(tmp_path, slack={"breaker": 20, "max_alerts_per_poll": 100})
    firms = (
        "Acme Alpha Amber Atlas Birch Cobalt Delta Ember Falcon Garnet Harbor Indigo "
        "Juniper Kestrel Lumen Maple Nimbus Onyx Pioneer Quartz Raven Sable Tundra Umber "
        "Vertex"
    ).split()
    published = datetime.fromtimestamp(world.clock(), tz=UTC)
    items = [
        Candidate(
            Entry(
                feed="Wire",
                key=f"z{i}",
                url_key=f"z.example/{i}",
                link=f"https://z.example/{i}",
                title=f"Data breach at {firm} Corp exposes customer records",
                published=published,
            ),
            (match("data-breach", Severity.MEDIUM),),
        )
        for i, firm in enumerate(firms)
    ]
    poll(world.store, "Wire", items, now=world.clock())  # one poll, one cycle
    world.flow.group_and_route()
    report = world.deliver(BotSender(TOKEN, slack.base_url))
    world.close()
    assert report.sent == 25 and len(slack.messages) == 1
    assert validate_blocks(slack.messages[0]["blocks"]) == []


def test_mutes_hold_posts_but_keep_grouping_and_expire(world: World, slack: FakeSlack) -> None:
    bot = BotSender(TOKEN, slack.base_url)
    world.store.mutes.add(
        "rule", "auto-extortion", until=world.clock() + 24 * H, reason="noisy", now=world.clock()
    )
    world.report("CarNews", NIO_A)
    world.deliver(bot)
    assert slack.messages == [] and world.store.outbox.counts() == {"muted": 1}
    assert world.store.db.one("SELECT count(*) FROM stories") == (1,)
    world.clock.now += 25 * H
    assert world.store.mutes.active(world.clock()) == []
    world.report("Wire", NIO_DELIVERIES)
    world.deliver(bot)
    assert len(slack.messages) == 1


def test_critical_alerts_mention_only_whom_the_config_names(
    tmp_path: Path, slack: FakeSlack
) -> None:
    world = World(tmp_path, slack={"mentions": {"critical": ["S0SECTEAM", "U0ONCALL"]}})
    evil = Item("<!channel> NIO blackmail <@U999EVIL>", "https://x.example/nio", "x1")
    world.report("CarNews", evil)
    world.report("Wire", ACME, match("data-breach", Severity.MEDIUM))
    world.deliver(BotSender(TOKEN, slack.base_url))
    world.close()
    critical, medium = slack.messages
    live = [m for t in message_mrkdwn_texts(critical) for m in live_mentions(t)]
    pings = [m for m in live if not m.startswith("<http")]
    assert sorted(set(pings)) == ["<!subteam^S0SECTEAM>", "<@U0ONCALL>"]
    assert all(
        all(m.startswith("<http") for m in live_mentions(t)) for t in message_mrkdwn_texts(medium)
    )


def test_ops_alerts_fire_once_and_recover_once(tmp_path: Path, slack: FakeSlack) -> None:
    world = World(tmp_path, slack={"ops_channel": "#ops"})
    ops = Ops(world.store, world.settings, world.clock)
    for _ in range(12):
        world.store.feeds.record_failure("Wire", world.clock(), world.clock() + 60, "HTTP 500")
        ops.check_feeds()
    from monitor.models import Validators

    world.store.feeds.record_unchanged("Wire", world.clock(), world.clock() + 60, Validators())
    ops.check_feeds()
    ops.check_feeds()
    ops.rules("rules/r.yaml:3:1: error: unknown key")
    ops.rules("rules/r.yaml:3:1: error: unknown key")
    ops.rules(None)
    world.deliver(BotSender(TOKEN, slack.base_url))
    world.close()
    texts = [m["text"] for m in slack.messages]
    assert all(m["channel"] == "C0OPS" for m in slack.messages)
    assert len(texts) == 4, texts
    assert "failing" in texts[0] and "works again" in texts[1]
    assert "rule edit rejected" in texts[2] and "rules load again" in texts[3]


def test_guid_churn_is_reported_once(world: World) -> None:
    from monitor.store import Inserted

    ops = Ops(world.store, Settings(), world.clock)

    def result(fresh: int, repeats: int) -> PollResult:
        e = Entry(feed="Wire", key="k", url_key="", link="", title="t")
        return PollResult([Inserted(i, e, "own" if i < repeats else "") for i in range(fresh)])

    ops.after_poll("Wire", result(10, 9))
    ops.after_poll("Wire", result(10, 8))
    assert [k for k, _, _ in ops.firing()] == ["guid-churn:Wire"]
    ops.after_poll("Wire", result(3, 0))
    assert ops.firing() == []
