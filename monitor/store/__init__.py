"""SQLite state behind one facade: feeds, entries, the alert outbox, stories, mutes.

The store writes what it is given, each write in one transaction, and returns
what was new (like miniflux's ``RefreshFeedEntries``); it decides nothing about
stories, routing or rules. One module per table:

    db.py        connection, transactions, SQLite errors → StoreError
    schema.py    the numbered migrations
    feeds.py     schedule, HTTP validators, errors per feed
    entries.py   every item seen (unique per feed and key; canonical URL across feeds)
    outbox.py    the alerts, from ``new`` to ``sent``
    stories.py   one row per event
    regroup.py   a person splitting or merging stories
    mutes.py     mutes with expiry
    marks.py     what people did on alert messages from Slack (and each click, once)
    noise.py     alerts people marked "not relevant"
    ops.py       ops conditions and meta values
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..alerts import Alert, AlertKind, AlertPayload, Route, Summary
from ..alerts import Marks as MarksRow
from ..models import Candidate, Entry, ParserState, Severity, Validators
from . import regroup
from .db import Database
from .entries import Entries, Inserted
from .feeds import Feeds, FeedState, Scheduled
from .marks import Marks
from .mutes import Mutes
from .noise import Noise
from .ops import Meta, OpsState
from .outbox import Outbox
from .stories import Stories

__all__ = ["FeedState", "Inserted", "PollRecord", "PollResult", "Scheduled", "Store"]


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One feed's successful poll, as the pipeline hands it to the store."""

    feed: str
    now: float
    next_poll: float
    validators: Validators
    entries: Sequence[Entry]  # the entries the poll found new
    candidates: Sequence[Candidate] = ()  # those of them that may alert
    channel: str = ""  # where alerts go until routing decides
    plan: Scheduled | None = None  # the next poll as scheduled, with its reason
    parser: ParserState | None = None  # which parser the feed has earned, if it changed


@dataclass(frozen=True, slots=True)
class PollResult:
    fresh: list[Inserted] = field(default_factory=list)  # entries really inserted
    alerts: list[int] = field(default_factory=list)  # alert rows created (state new)

    @property
    def repeats(self) -> int:
        """'New' entries whose URL this feed had already: the feed re-issues old items."""
        return sum(1 for i in self.fresh if i.seen_url == "own")


class Store:
    def __init__(self, path: Path | str) -> None:
        self.db = Database(path)
        self.feeds = Feeds(self.db)
        self.entries = Entries(self.db)
        self.outbox = Outbox(self.db)
        self.stories = Stories(self.db)
        self.mutes = Mutes(self.db)
        self.marks = Marks(self.db)
        self.noise = Noise(self.db)
        self.ops = OpsState(self.db)
        self.meta = Meta(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record_poll(self, rec: PollRecord) -> PollResult:
        """Entries, their candidate alerts and the feed's state, all or nothing. Only an
        entry really inserted, whose article no feed had before, keeps its candidate."""
        by_key = {c.entry.key: c for c in rec.candidates}
        with self.db.transaction() as conn:
            fresh = Entries.insert(conn, rec.entries, rec.now)
            keep = [
                (i.id, by_key[i.entry.key])
                for i in fresh
                if not i.seen_url and i.entry.key in by_key
            ]
            alerts = Outbox.insert_new(conn, keep, rec.channel, rec.now)
            arrivals = sum(1 for i in fresh if i.seen_url != "own")
            Feeds.record_ok(
                conn,
                rec.feed,
                rec.now,
                rec.next_poll,
                rec.validators,
                len(fresh),
                arrivals,
                rec.plan,
                rec.parser,
            )
        return PollResult(fresh, alerts)

    def marks_of(self, alert: Alert, now: float) -> MarksRow:
        """What the alert's message shows: acknowledged, noise, and the mutes in force
        on its story and its feed (made from Slack or with `monitor mute`)."""
        with self.db.guard():
            mutes = Mutes.of(self.db.conn, mute_targets(alert), now)
        return self.marks.get(alert.id, tuple(mutes))

    def record_routes(
        self,
        routed: Sequence[tuple[Alert, Route]],
        summaries: Sequence[Summary],
        now: float,
    ) -> dict[int, int]:
        """A cycle's grouping and routing, in one transaction: stories created or
        joined by key, each alert moved out of ``new``. Returns alert id → story id."""
        existing = self.stories.by_keys(r.story for _, r in routed if r.story)
        story_ids = {key: s.id for key, s in existing.items()}
        out: dict[int, int] = {}
        with self.db.transaction() as conn:
            for alert, route in routed:
                story_id = None
                if route.story is not None:
                    story_id = story_ids.get(route.story)
                    if story_id is None:
                        story_id = Stories.create(
                            conn,
                            route.story,
                            alert.title,
                            now,
                            alert.severity,
                            route.channel,
                            alert.feed,
                        )
                        story_ids[route.story] = story_id
                    else:
                        Stories.join(conn, story_id, now, alert.severity, alert.feed)
                    out[alert.id] = story_id
                Outbox.route(conn, alert, route, story_id)
            for s in summaries:
                payload = AlertPayload(
                    title=f"{len(s.items)} more matching items from {s.feed}",
                    feed=s.feed,
                    items=s.items,
                )
                Outbox.insert(
                    conn, AlertKind.SUMMARY, s.feed, s.rule_id, s.severity, s.channel, payload, now
                )
        return out

    def record_sent(
        self,
        ids: Sequence[int],
        now: float,
        channel: str | None,
        slack_ts: str | None,
        *,
        story_id: int | None = None,
        own_message: bool = False,
        followup: bool = False,
    ) -> bool:
        """A post went through, in one transaction: its alerts marked sent and, for a
        story, its own message recorded (if it had none: returns True) or its count
        marked for an edit (a follow-up)."""
        became_message = False
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET state = 'sent', sent_at = ?, slack_channel = ?, "
                "slack_ts = ?, last_error = NULL WHERE id = ?",
                [(now, channel, slack_ts, i) for i in ids],
            )
            if story_id is not None and own_message and slack_ts:
                cur = conn.execute(
                    "UPDATE stories SET slack_channel = ?, slack_ts = ? "
                    "WHERE id = ? AND slack_ts IS NULL",
                    (channel, slack_ts, story_id),
                )
                became_message = cur.rowcount == 1
                if became_message:  # a follow-up whose root never went out is the root now
                    conn.execute(
                        "UPDATE alerts SET role = 'root' WHERE id = ? AND role = 'followup'",
                        (ids[0],),
                    )
            elif story_id is not None and followup:
                conn.execute("UPDATE stories SET needs_update = 1 WHERE id = ?", (story_id,))
        return became_message

    def split_story(self, story_id: int, alert_id: int, now: float) -> int:
        with self.db.transaction() as conn:
            new_id = regroup.split(conn, story_id, alert_id, now)
        self.meta.set(regroup.CHANGED, str(now))
        return new_id

    def merge_stories(self, into: int, other: int, now: float) -> int:
        with self.db.transaction() as conn:
            moved = regroup.merge(conn, into, other, now)
        self.meta.set(regroup.CHANGED, str(now))
        return moved

    def record_ops(
        self,
        key: str,
        firing: bool,
        now: float,
        detail: str,
        message: AlertPayload | None,
        channel: str | None,
    ) -> None:
        """An ops condition changed; with an ops channel, its message goes to the outbox."""
        with self.db.transaction() as conn:
            OpsState.set(conn, key, firing, now, detail)
            if message is not None and channel:
                Outbox.insert(
                    conn,
                    AlertKind.OPS,
                    "monitor",
                    f"ops:{key}",
                    Severity.HIGH,
                    channel,
                    message,
                    now,
                )


def mute_targets(alert: Alert) -> list[tuple[str, str]]:
    """What a button on this alert can mute: its story (when it has one) and its feed."""
    targets = [("story", str(alert.story_id))] if alert.story_id is not None else []
    return [*targets, ("feed", alert.feed)]
