"""Routing is pure: channel precedence, digests, mutes, roles, caps and the breaker,
as tables of cases, and the same plan whatever the order of the batch."""

from __future__ import annotations

import random

import pytest

from monitor.alerts import (
    Alert,
    AlertKind,
    AlertPayload,
    AlertState,
    Grouping,
    MatchInfo,
    Mute,
    Role,
)
from monitor.config import SlackConfig
from monitor.models import Severity
from monitor.route import KnownStory, Placement, route

SEV = Severity


def alert(
    n: int,
    severity: Severity = SEV.HIGH,
    feed: str = "A",
    rule: str = "r",
    rule_channel: str | None = None,
    rule_digest: str | None = None,
) -> Alert:
    info = MatchInfo(rule, "Rule", severity, ("x",), ("title",), rule_channel, rule_digest)
    payload = AlertPayload(title=f"Story {n}", feed=feed, published=1000.0 + n, matches=(info,))
    return Alert(
        id=n,
        kind=AlertKind.ALERT,
        feed=feed,
        rule_id=rule,
        severity=severity,
        channel="#default",
        state=AlertState.NEW,
        payload=payload,
        created_at=2000.0,
        entry_id=n,
    )


def plan(batch, slack=None, feeds=None, mutes=(), known=None):  # type: ignore[no-untyped-def]
    return route(
        batch,
        slack or SlackConfig(channel="#default"),
        feed_channels=feeds or {},
        mutes=mutes,
        known=known,
    )


def routes(batch, **kw):  # type: ignore[no-untyped-def]
    return {a.id: r for a, r in plan(batch, **kw).routes}


@pytest.mark.parametrize(
    ("rule_channel", "feed_channel", "severity_channels", "severity", "expected"),
    [
        ("#rule", "#feed", {"high": "#sev"}, SEV.HIGH, "#rule"),
        (None, "#feed", {"high": "#sev"}, SEV.HIGH, "#feed"),
        (None, None, {"high": "#sev"}, SEV.HIGH, "#sev"),
        (None, None, {"critical": "#sev"}, SEV.HIGH, "#default"),
        (None, None, {}, SEV.CRITICAL, "#default"),
    ],
)
def test_channel_precedence(rule_channel, feed_channel, severity_channels, severity, expected):  # type: ignore[no-untyped-def]
    slack = SlackConfig(channel="#default", severity_channels=severity_channels)
    r = routes(
        [Placement(alert(1, severity, rule_channel=rule_channel))],
        slack=slack,
        feeds={"A": feed_channel},
    )
    assert r[1].channel == expected


@pytest.mark.parametrize(
    ("severity", "rule_digest", "digests", "state", "digest"),
    [
        (SEV.CRITICAL, None, {}, AlertState.PENDING, None),
        (SEV.MEDIUM, None, {}, AlertState.PENDING, None),
        (SEV.LOW, None, {}, AlertState.DIGEST, "daily"),  # low never alerts on its own
        (SEV.INFO, None, {"info": "hourly"}, AlertState.DIGEST, "hourly"),
        (SEV.HIGH, "hourly", {}, AlertState.DIGEST, "hourly"),  # the rule's own digest wins
        (SEV.HIGH, None, {"high": "daily"}, AlertState.DIGEST, "daily"),
    ],
)
def test_digests(severity, rule_digest, digests, state, digest):  # type: ignore[no-untyped-def]
    slack = SlackConfig(channel="#default", digests=digests)
    r = routes([Placement(alert(1, severity, rule_digest=rule_digest))], slack=slack)
    assert (r[1].state, r[1].digest) == (state, digest)


@pytest.mark.parametrize(
    ("mute", "muted"),
    [
        (("feed", "A"), True),
        (("feed", "B"), False),
        (("rule", "r"), True),
        (("story", "7"), True),
        (("story", "8"), False),
    ],
)
def test_mutes(mute, muted):  # type: ignore[no-untyped-def]
    m = Mute(1, mute[0], mute[1], None, "", 0.0)
    known = {"s": KnownStory(7, SEV.HIGH, has_message=True)}
    r = routes([Placement(alert(1), story="s", joined=True)], mutes=[m], known=known)
    assert (r[1].state == AlertState.MUTED) == muted


def test_mentions_come_from_config_for_posting_roots_only() -> None:
    slack = SlackConfig(channel="#d", mentions={"critical": ["S0123ABC"]})
    batch = [
        Placement(alert(1, SEV.CRITICAL), story="s1"),
        Placement(alert(2, SEV.CRITICAL), story="s1", joined=True),
        Placement(alert(3, SEV.HIGH), story="s3"),
    ]
    r = routes(batch, slack=slack)
    assert [r[i].mentions for i in (1, 2, 3)] == [("S0123ABC",), (), ()]


def test_a_story_has_one_root_and_followups_in_its_thread() -> None:
    batch = [
        Placement(alert(1), story="s"),
        Placement(
            alert(2, SEV.CRITICAL, feed="B"),
            story="s",
            joined=True,
            grouping=Grouping(0.5, ("nio",)),
        ),
        Placement(alert(3, feed="C"), story="s", joined=True),
    ]
    r = routes(batch)
    assert [r[i].role for i in (1, 2, 3)] == [Role.ROOT, Role.FOLLOWUP, Role.FOLLOWUP]
    assert r[2].broadcast and not r[3].broadcast  # more severe than its story: also in channel
    assert r[2].grouping == Grouping(0.5, ("nio",))


def test_a_story_whose_root_went_to_a_digest_posts_its_next_report_on_its_own() -> None:
    """A digest is never a thread's parent."""
    batch = [
        Placement(alert(1, SEV.LOW), story="s"),
        Placement(alert(2, SEV.HIGH, feed="B"), story="s", joined=True),
        Placement(alert(3, SEV.HIGH, feed="C"), story="s", joined=True),
    ]
    r = routes(batch)
    assert (r[1].state, r[2].role, r[2].state, r[3].role) == (
        AlertState.DIGEST,
        Role.ROOT,
        AlertState.PENDING,
        Role.FOLLOWUP,
    )


@pytest.mark.parametrize(("has_message", "role"), [(True, Role.FOLLOWUP), (False, Role.ROOT)])
def test_a_report_joining_an_earlier_story(has_message, role):  # type: ignore[no-untyped-def]
    known = {"s": KnownStory(7, SEV.MEDIUM, has_message)}
    r = routes([Placement(alert(1, SEV.HIGH), story="s", joined=True)], known=known)
    assert r[1].role == role
    assert r[1].broadcast == (role == Role.FOLLOWUP)


def test_at_most_n_roots_per_feed_and_one_summary() -> None:
    slack = SlackConfig(channel="#d", max_alerts_per_poll=3, breaker=100)
    batch = [Placement(alert(i), story=f"s{i}") for i in range(5)]
    p = plan(batch, slack=slack)
    states = [r.state for _, r in p.routes]
    assert states.count(AlertState.PENDING) == 3 and states.count(AlertState.SUMMARIZED) == 2
    (summary,) = p.summaries
    assert summary.feed == "A" and len(summary.items) == 2 and summary.channel == "#d"


def test_the_breaker_turns_many_roots_for_one_channel_into_one_digest() -> None:
    slack = SlackConfig(channel="#d", breaker=3, max_alerts_per_poll=100)
    batch = [Placement(alert(i, feed=f"F{i}"), story=f"s{i}") for i in range(4)]
    batch.append(Placement(alert(9, feed="G"), story="s0", joined=True))
    r = routes(batch, slack=slack)
    assert {(x.state, x.digest) for x in r.values()} == {(AlertState.DIGEST, "breaker")}
    assert r[9].role == Role.FOLLOWUP  # goes with its story into the digest


def test_the_plan_does_not_depend_on_the_order_of_the_batch() -> None:
    slack = SlackConfig(channel="#d", max_alerts_per_poll=2, breaker=5)
    batch = [
        Placement(alert(i, SEV(i % 5), feed="AB"[i % 2]), story=f"s{i % 4}", joined=i >= 4)
        for i in range(12)
    ]
    expected = plan(batch, slack=slack)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = batch[:]
        rng.shuffle(shuffled)
        assert plan(shuffled, slack=slack) == expected
