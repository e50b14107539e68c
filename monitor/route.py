"""Where each new alert goes, and how: pure, from the settings, the mutes in force,
and the story each alert joined. The one place that decides.

For one cycle's batch of new alerts (every feed polled in the cycle):
- channel: the rule's ``channel``, else the feed's, else ``slack.severity_channels``,
  else ``slack.channel``;
- state: muted (feed, rule or story mute), digest (the rule's ``digest:``, else the
  severity's entry in ``slack.digests``; low and info always), else pending;
- role: the story's first report that posts on its own is its root (a top-level
  message); later reports are follow-ups in its thread. A story whose first report
  went to a digest, was muted or summed up has no message of its own: its next
  report that posts becomes its root. A digest is never a thread's parent;
- more than ``slack.max_alerts_per_poll`` roots from one feed: the rest summed up in
  one message; more than ``slack.breaker`` roots for one channel: one digest (its
  stories' follow-ups in the same batch go with them);
- mentions (config ids only) for a root that posts now.
The result never depends on the order of the batch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .alerts import BREAKER, Alert, AlertState, Grouping, Mute, Role, Route, Summary, SummaryItem
from .config import SlackConfig
from .models import Severity


@dataclass(frozen=True, slots=True)
class Placement:
    """A new alert and the story the grouping put it in (``story`` None: stories off)."""

    alert: Alert
    story: str | None = None
    joined: bool = False
    grouping: Grouping | None = None


@dataclass(frozen=True, slots=True)
class KnownStory:
    """What routing needs of a story from earlier cycles."""

    id: int
    severity: Severity
    has_message: bool  # its root posts, or posted, as its own top-level message


@dataclass(frozen=True, slots=True)
class Plan:
    routes: list[tuple[Alert, Route]]
    summaries: list[Summary]


def _order(p: Placement) -> tuple[float, str, str, int]:
    a = p.alert
    return (a.payload.published or a.created_at, a.feed, a.payload.title, a.id)


def route(
    batch: Sequence[Placement],
    slack: SlackConfig,
    *,
    feed_channels: Mapping[str, str | None],
    mutes: Sequence[Mute] = (),
    known: Mapping[str, KnownStory] | None = None,
) -> Plan:
    known = known or {}
    muted = {(m.kind, m.value) for m in mutes}
    ordered = sorted(batch, key=_order)
    opened = {p.story for p in ordered if not p.joined}
    roots: dict[str, Alert] = {}  # story key → the alert that opens it in this batch
    routes: dict[int, Route] = {}
    for p in ordered:  # roots first: a follow-up's role depends on its root's route
        story = known.get(p.story) if p.story else None
        if p.joined and (story is not None or p.story in opened or p.story in roots):
            continue
        routes[p.alert.id] = _base(p, slack, feed_channels, muted, story)
        if p.story is not None and story is None:
            roots.setdefault(p.story, p.alert)
    summaries = _cap_per_feed(ordered, routes, slack.max_alerts_per_poll)
    _trip_breaker(routes, slack.breaker)
    for p in ordered:
        if p.alert.id in routes:
            continue
        assert p.story is not None
        story = known.get(p.story)
        r = _base(p, slack, feed_channels, muted, story)
        root = roots.get(p.story)
        root_route = routes[root.id] if root is not None else None
        in_breaker = root_route is not None and root_route.digest == BREAKER
        if (story is not None and story.has_message) or _posts(root_route) or in_breaker:
            severity = story.severity if story else root.severity if root else Severity.INFO
            r = replace(r, role=Role.FOLLOWUP, broadcast=p.alert.severity > severity, mentions=())
            if in_breaker and r.state == AlertState.PENDING:
                r = replace(r, state=AlertState.DIGEST, digest=BREAKER)
        elif r.state == AlertState.PENDING:
            roots[p.story] = p.alert  # this report posts as the story's own message
        routes[p.alert.id] = r
    return Plan([(p.alert, routes[p.alert.id]) for p in ordered], summaries)


def channel_for(alert: Alert, slack: SlackConfig, feed_channel: str | None) -> str:
    top = alert.payload.matches[0] if alert.payload.matches else None
    return (
        (top.channel if top else None)
        or feed_channel
        or slack.severity_channels.get(alert.severity.label)
        or slack.channel
    )


def _base(
    p: Placement,
    slack: SlackConfig,
    feed_channels: Mapping[str, str | None],
    muted: set[tuple[str, str]],
    story: KnownStory | None,
) -> Route:
    a = p.alert
    top = a.payload.matches[0] if a.payload.matches else None
    rule = top.rule if top else a.rule_id
    digest = (top.digest if top else None) or slack.digests.get(a.severity.label)
    if digest is None and not a.severity.alerts:
        digest = "daily"  # low and info never alert on their own
    if (
        ("feed", a.feed) in muted
        or ("rule", rule) in muted
        or (story is not None and ("story", str(story.id)) in muted)
    ):
        state = AlertState.MUTED
    elif digest:
        state = AlertState.DIGEST
    else:
        state = AlertState.PENDING
    mentions = (
        tuple(slack.mentions.get(a.severity.label, ())) if state == AlertState.PENDING else ()
    )
    return Route(
        state=state,
        channel=channel_for(a, slack, feed_channels.get(a.feed)),
        role=Role.ROOT,
        story=p.story,
        digest=digest if state == AlertState.DIGEST else None,
        mentions=mentions,
        grouping=p.grouping,
    )


def _posts(r: Route | None) -> bool:
    return r is not None and r.state == AlertState.PENDING


def _cap_per_feed(
    ordered: Sequence[Placement], routes: dict[int, Route], cap: int
) -> list[Summary]:
    """Roots past the cap in one feed's poll become one summary message."""
    posted: Counter[str] = Counter()
    over: dict[str, list[Alert]] = defaultdict(list)
    for p in ordered:
        r = routes.get(p.alert.id)
        if r is None or r.state != AlertState.PENDING:
            continue
        posted[p.alert.feed] += 1
        if posted[p.alert.feed] > cap:
            over[p.alert.feed].append(p.alert)
            routes[p.alert.id] = replace(r, state=AlertState.SUMMARIZED, mentions=())
    out = []
    for feed, alerts in sorted(over.items()):
        top = max(alerts, key=lambda a: (a.severity, -a.id))
        out.append(
            Summary(
                feed=feed,
                channel=routes[top.id].channel,
                alert_ids=tuple(a.id for a in alerts),
                items=tuple(
                    SummaryItem(a.title, a.payload.link, a.rule_id, a.severity) for a in alerts
                ),
                severity=top.severity,
                rule_id=top.rule_id,
            )
        )
    return out


def _trip_breaker(routes: dict[int, Route], breaker: int) -> None:
    """More roots than ``breaker`` for one channel at once: one digest, not N pings."""
    by_channel = Counter(r.channel for r in routes.values() if r.state == AlertState.PENDING)
    tripped = {ch for ch, n in by_channel.items() if n > breaker}
    for alert_id, r in list(routes.items()):
        if r.state == AlertState.PENDING and r.channel in tripped:
            routes[alert_id] = replace(r, state=AlertState.DIGEST, digest=BREAKER, mentions=())
