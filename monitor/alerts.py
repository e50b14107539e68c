"""The outbox's models: alerts and their payload, routes, stories, mutes.

An alert row is written once by the pipeline (state ``new``), given its route by
the grouping step (``pending``, ``digest``, ``muted``…), then walked through the
outbox's states by delivery. These classes are what every stage reads; the JSON
in the ``payload`` column is their serialised form and nothing else.

    new ──route──► pending ──claim──► sending ──► sent
               ├─► digest ─────────(digest run)──► sent
               ├─► muted        sending ──crash──► (in doubt: asked of Slack)
               └─► summarized   pending ──permanent error──► failed
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .models import Candidate, Match, Severity

BREAKER = "breaker"  # the digest period of alerts collected by the breaker: due at once


class AlertState(StrEnum):
    NEW = "new"  # stored by a poll, not yet grouped and routed
    PENDING = "pending"  # to be posted
    SENDING = "sending"  # claimed: being posted, or in doubt after a crash
    SENT = "sent"
    FAILED = "failed"  # Slack refused it for good (invalid_auth, channel_not_found…)
    DIGEST = "digest"  # waits for its digest (hourly, daily, breaker)
    MUTED = "muted"  # recorded and grouped, never posted
    SUMMARIZED = "summarized"  # part of a poll's overflow summary


class AlertKind(StrEnum):
    ALERT = "alert"  # one entry that matched
    SUMMARY = "summary"  # the overflow of one feed's poll past slack.max_alerts_per_poll
    OPS = "ops"  # the monitor telling a person about itself


class Role(StrEnum):
    ROOT = "root"  # the story's own top-level message
    FOLLOWUP = "followup"  # a later report: a reply in the root's thread


@dataclass(frozen=True, slots=True)
class MatchInfo:
    rule: str
    title: str
    severity: Severity
    terms: tuple[str, ...]
    where: tuple[str, ...] = ()  # fields the terms were found in
    channel: str | None = None  # the rule's own channel, for routing
    digest: str | None = None  # the rule's own digest period, for routing

    @classmethod
    def of(cls, m: Match) -> MatchInfo:
        where = tuple(sorted({h.field for h in m.hits}))
        return cls(m.rule_id, m.title, m.severity, tuple(m.terms), where, m.channel, m.digest)


@dataclass(frozen=True, slots=True)
class Grouping:
    """Why a report joined its story: the score and what the two reports share."""

    score: float
    shared: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SummaryItem:
    title: str
    link: str
    rule: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class AlertPayload:
    title: str
    link: str = ""
    summary: str = ""
    feed: str = ""
    published: float | None = None
    matches: tuple[MatchInfo, ...] = ()  # most severe first
    grouping: Grouping | None = None
    items: tuple[SummaryItem, ...] = ()  # a summary's items
    recovered: bool = False  # an ops alert that says a problem went away

    @classmethod
    def of(cls, c: Candidate) -> AlertPayload:
        e = c.entry
        return cls(
            title=e.title,
            link=e.link,
            summary=e.summary,
            feed=e.feed,
            published=e.published.timestamp() if e.published else None,
            matches=tuple(MatchInfo.of(m) for m in c.matches),
        )

    def to_json(self) -> str:
        data: dict[str, Any] = {"title": self.title}
        for name in ("link", "summary", "feed", "published", "recovered"):
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.matches:
            data["matches"] = [
                {
                    "rule": m.rule,
                    "title": m.title,
                    "severity": m.severity.label,
                    "terms": list(m.terms),
                    "where": list(m.where),
                    **({"channel": m.channel} if m.channel else {}),
                    **({"digest": m.digest} if m.digest else {}),
                }
                for m in self.matches
            ]
        if self.grouping is not None:
            data["grouping"] = {"score": self.grouping.score, "shared": list(self.grouping.shared)}
        if self.items:
            data["items"] = [
                {"title": i.title, "link": i.link, "rule": i.rule, "severity": i.severity.label}
                for i in self.items
            ]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AlertPayload:
        d = json.loads(text)
        g = d.get("grouping")
        return cls(
            title=d.get("title", ""),
            link=d.get("link", ""),
            summary=d.get("summary", ""),
            feed=d.get("feed", ""),
            published=d.get("published"),
            matches=tuple(
                MatchInfo(
                    m["rule"],
                    m.get("title", ""),
                    Severity.parse(m["severity"]),
                    tuple(m.get("terms", ())),
                    tuple(m.get("where", ())),
                    m.get("channel"),
                    m.get("digest"),
                )
                for m in d.get("matches", ())
            ),
            grouping=Grouping(g.get("score", 0.0), tuple(g.get("shared", ()))) if g else None,
            items=tuple(
                SummaryItem(i["title"], i.get("link", ""), i["rule"], Severity.parse(i["severity"]))
                for i in d.get("items", ())
            ),
            recovered=bool(d.get("recovered", False)),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One outbox row."""

    id: int
    kind: AlertKind
    feed: str
    rule_id: str
    severity: Severity
    channel: str
    state: AlertState
    payload: AlertPayload
    created_at: float
    entry_id: int | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None
    claimed_at: float | None = None
    sent_at: float | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    story_id: int | None = None
    role: Role = Role.ROOT
    broadcast: bool = False
    digest: str | None = None  # "hourly" | "daily" | "breaker"
    mentions: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.payload.title


@dataclass(frozen=True, slots=True)
class Story:
    """One event, however many outlets reported it."""

    id: int
    key: str  # the grouping's key for it: the key of its first report
    title: str
    created_at: float
    last_at: float
    severity: Severity
    channel: str
    outlets: tuple[str, ...]
    items: int
    slack_channel: str | None = None  # its own top-level message, never a digest's
    slack_ts: str | None = None
    needs_update: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    """Where and how one new alert goes: decided by ``route.py`` from settings,
    mutes and the story it joined."""

    state: AlertState  # PENDING, DIGEST, MUTED or SUMMARIZED
    channel: str
    role: Role = Role.ROOT
    story: str | None = None  # the story's key (None: stories are off)
    digest: str | None = None
    broadcast: bool = False  # a follow-up more severe than its story: also in the channel
    mentions: tuple[str, ...] = ()
    grouping: Grouping | None = None


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str  # story | rule | feed
    value: str
    until: float | None
    reason: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Summary:
    """The overflow of one feed's poll, posted as one message."""

    feed: str
    channel: str
    alert_ids: tuple[int, ...]
    items: tuple[SummaryItem, ...] = field(default=())
    severity: Severity = Severity.MEDIUM
    rule_id: str = ""


@dataclass(frozen=True, slots=True)
class Marks:
    """What people did on an alert's message from Slack, as the message shows it."""

    alert_id: int
    acked_by: str | None = None  # a Slack user id
    acked_at: float | None = None
    noise_by: str | None = None  # marked "not relevant" by
    mutes: tuple[Mute, ...] = ()  # mutes in force on its story or feed
    version: int = 0  # bumped by every change; the message shows ``shown``

    def muted(self, kind: str) -> Mute | None:
        return next((m for m in self.mutes if m.kind == kind), None)


@dataclass(frozen=True, slots=True)
class NoiseItem:
    """An alert someone said was not relevant: what the rule matched, and who said so."""

    id: int
    alert_id: int
    rule_id: str
    terms: tuple[str, ...]
    title: str
    summary: str
    link: str
    feed: str
    published: float | None
    user: str
    at: float
