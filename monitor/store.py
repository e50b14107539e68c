"""SQLite state: feeds (schedule, HTTP validators), entries seen, the alert outbox.

The database decides what is new: entries are unique per (feed, key) and
inserted with INSERT OR IGNORE; only rows really inserted, and whose canonical
URL was never seen before, become alerts. A poll's entries and alerts are
written in one transaction, so a crash mid-poll leaves either all or nothing.
Times are stored as Unix seconds (REAL) in UTC.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from .models import Entry, Match
from .stories import Decision

SCHEMA = [
    # 1: the first schema
    """
    CREATE TABLE feeds (
        name TEXT PRIMARY KEY, url TEXT NOT NULL,
        next_poll_at REAL NOT NULL DEFAULT 0, last_poll_at REAL, last_ok_at REAL,
        last_error TEXT, error_count INTEGER NOT NULL DEFAULT 0,
        etag TEXT, last_modified TEXT, content_hash TEXT,
        polls INTEGER NOT NULL DEFAULT 0, first_polled INTEGER NOT NULL DEFAULT 0,
        last_new_at REAL, entries_seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY, feed TEXT NOT NULL, key TEXT NOT NULL,
        url_key TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '',
        published REAL, first_seen REAL NOT NULL,
        UNIQUE (feed, key)
    );
    CREATE INDEX entries_url_key ON entries (url_key) WHERE url_key != '';
    CREATE INDEX entries_first_seen ON entries (first_seen);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY, entry_id INTEGER REFERENCES entries (id),
        kind TEXT NOT NULL DEFAULT 'alert', feed TEXT NOT NULL,
        rule_id TEXT NOT NULL, severity INTEGER NOT NULL, channel TEXT NOT NULL,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0, last_error TEXT,
        created_at REAL NOT NULL, claimed_at REAL, sent_at REAL,
        slack_channel TEXT, slack_ts TEXT, payload TEXT NOT NULL
    );
    CREATE INDEX alerts_state ON alerts (state, next_attempt_at);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    """,
    # 2: stories (one alert per story, follow-ups in its thread), mutes, ops alert state
    """
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY, title TEXT NOT NULL, created_at REAL NOT NULL,
        last_at REAL NOT NULL, severity INTEGER NOT NULL, channel TEXT NOT NULL,
        outlets TEXT NOT NULL DEFAULT '[]', items INTEGER NOT NULL DEFAULT 1,
        slack_channel TEXT, slack_ts TEXT, needs_update INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE alerts ADD COLUMN story_id INTEGER REFERENCES stories (id);
    ALTER TABLE alerts ADD COLUMN role TEXT NOT NULL DEFAULT 'root';
    ALTER TABLE alerts ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN digest TEXT;
    CREATE INDEX alerts_story ON alerts (story_id);
    CREATE TABLE mutes (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,
        until REAL, reason TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL
    );
    CREATE TABLE ops_state (
        key TEXT PRIMARY KEY, firing INTEGER NOT NULL, since REAL NOT NULL, detail TEXT
    );
    """,
    # 3: a feed's recent arrivals, for the silent-feed check, without a full scan
    """
    CREATE INDEX entries_feed_seen ON entries (feed, first_seen);
    """,
]

# Outbox states: pending → sending → sent | failed; "digest" waits for a digest run;
# "sending" left behind by a crash is "in doubt" until checked against Slack.
PENDING, SENDING, SENT, FAILED, DIGEST = "pending", "sending", "sent", "failed", "digest"
MUTED = "muted"  # recorded and grouped, never posted


def ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


@dataclass(frozen=True, slots=True)
class FeedState:
    name: str
    url: str
    next_poll_at: float
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    error_count: int
    first_polled: bool
    last_poll_at: float | None = None
    last_ok_at: float | None = None
    last_error: str | None = None
    polls: int = 0


@dataclass(frozen=True, slots=True)
class NewAlert:
    """What the pipeline asks the store to queue for one new entry."""

    entry: Entry
    matches: tuple[Match, ...]
    channel: str
    alertable: bool  # False: record the entry, but do not alert (too old, first poll, …)
    digest: str | None = None  # "hourly" | "daily": collect instead of alerting now


class Grouper(Protocol):
    """Decides which story a new item belongs to (monitor.stories.StoryIndex)."""

    def observe(self, entry: Entry) -> None: ...

    def decide(self, key: str, entry: Entry, at: float) -> Decision: ...

    def add(self, key: str, story: str, entry: Entry, at: float) -> None: ...


@dataclass(frozen=True, slots=True)
class PollResult:
    fresh: int  # entries never seen before
    alerts: list[int]  # outbox rows created
    repeats: int  # "new" entries whose URL this feed had already (GUID churn)


class Store:
    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        conn.execute("PRAGMA busy_timeout = 30000")
        if str(path) != ":memory:":
            self.db.enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front, so two writers queue
        instead of failing half-way with SQLITE_BUSY."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(SCHEMA[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    # -- feeds ----------------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[tuple[str, str]], now: float) -> None:
        """Make the feeds table follow the config; a feed whose URL changed starts fresh."""
        with self.transaction() as conn:
            for name, url in feeds:
                row = conn.execute("SELECT url FROM feeds WHERE name = ?", (name,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO feeds (name, url, next_poll_at) VALUES (?, ?, ?)",
                        (name, url, now),
                    )
                elif row[0] != url:
                    conn.execute(
                        "UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, "
                        "content_hash = NULL, next_poll_at = ?, error_count = 0 WHERE name = ?",
                        (url, now, name),
                    )

    def feed_state(self, name: str) -> FeedState | None:
        row = self.conn.execute(
            "SELECT name, url, next_poll_at, etag, last_modified, content_hash, error_count, "
            "first_polled, last_poll_at, last_ok_at, last_error, polls FROM feeds WHERE name = ?",
            (name,),
        ).fetchone()
        return _feed_state(row) if row else None

    def feed_states(self) -> list[FeedState]:
        rows = self.conn.execute(
            "SELECT name, url, next_poll_at, etag, last_modified, content_hash, error_count, "
            "first_polled, last_poll_at, last_ok_at, last_error, polls FROM feeds ORDER BY name"
        ).fetchall()
        return [_feed_state(r) for r in rows]

    def due_feeds(self, now: float) -> list[str]:
        rows = self.conn.execute(
            "SELECT name FROM feeds WHERE next_poll_at <= ? ORDER BY next_poll_at", (now,)
        )
        return [r[0] for r in rows]

    def record_unchanged(
        self,
        name: str,
        now: float,
        next_poll: float,
        *,
        etag: str | None,
        last_modified: str | None,
        content_hash: str | None,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll_at = ?, last_ok_at = ?, next_poll_at = ?, "
                "error_count = 0, last_error = NULL, polls = polls + 1, first_polled = 1, "
                "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), "
                "content_hash = coalesce(?, content_hash) WHERE name = ?",
                (now, now, next_poll, etag, last_modified, content_hash, name),
            )

    def record_failure(self, name: str, now: float, next_poll: float, error: str) -> int:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll_at = ?, next_poll_at = ?, last_error = ?, "
                "error_count = error_count + 1, polls = polls + 1 WHERE name = ?",
                (now, next_poll, error[:500], name),
            )
            row = conn.execute("SELECT error_count FROM feeds WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def record_poll(
        self,
        name: str,
        now: float,
        next_poll: float,
        new: Sequence[NewAlert],
        *,
        etag: str | None,
        last_modified: str | None,
        content_hash: str | None,
        max_alerts: int,
        grouper: Grouper | None = None,
    ) -> PollResult:
        """Store a successful poll in one transaction: new entries, their story, their
        alerts (at most ``max_alerts`` posted now, the rest summed up in one)."""
        created: list[int] = []
        fresh = repeats = posted = 0
        overflow: list[NewAlert] = []
        with self.transaction() as conn:
            for item in new:
                e = item.entry
                cur = conn.execute(
                    "INSERT OR IGNORE INTO entries (feed, key, url_key, link, title, summary, "
                    "content, author, published, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        e.feed,
                        e.key,
                        e.url_key,
                        e.link,
                        e.title,
                        e.summary,
                        e.content,
                        e.author,
                        ts(e.published),
                        now,
                    ),
                )
                if cur.rowcount != 1:
                    continue  # seen before under this key
                fresh += 1
                entry_id = int(cur.lastrowid or 0)
                if grouper is not None:
                    grouper.observe(e)
                if e.url_key:
                    # `url_key != ''` lets SQLite use the partial index (else: a full scan)
                    seen = conn.execute(
                        "SELECT max(feed = ?) FROM entries "
                        "WHERE url_key = ? AND url_key != '' AND id != ?",
                        (e.feed, e.url_key, entry_id),
                    ).fetchone()[0]
                    if seen is not None:
                        # the same article, seen before: never a second alert. Only this
                        # feed re-issuing its own article under a new id is GUID churn;
                        # another feed carrying it is normal (site-wide and section feeds)
                        repeats += int(seen)
                        continue
                if not item.matches or not item.alertable:
                    continue
                story_id, role, broadcast, grouping = self._story(
                    conn, grouper, entry_id, item, now
                )
                state = self._state(conn, item, story_id, now)
                if state == PENDING and role == "root":
                    if posted >= max_alerts:
                        overflow.append(item)
                        continue
                    posted += 1
                created.append(
                    self._queue(
                        conn, entry_id, item, now, state, story_id, role, broadcast, grouping
                    )
                )
            if overflow:
                created.append(self._queue_summary(conn, name, overflow, now))
            conn.execute(
                "UPDATE feeds SET last_poll_at = ?, last_ok_at = ?, next_poll_at = ?, "
                "error_count = 0, last_error = NULL, polls = polls + 1, first_polled = 1, "
                "etag = ?, last_modified = ?, content_hash = ?, "
                "entries_seen = entries_seen + ?, last_new_at = CASE WHEN ? > 0 THEN ? "
                "ELSE last_new_at END WHERE name = ?",
                (
                    now,
                    now,
                    next_poll,
                    etag,
                    last_modified,
                    content_hash,
                    fresh,
                    fresh - repeats,
                    now,
                    name,
                ),
            )
        return PollResult(fresh, created, repeats)

    def _story(
        self,
        conn: sqlite3.Connection,
        grouper: Grouper | None,
        entry_id: int,
        item: NewAlert,
        now: float,
    ) -> tuple[int | None, str, bool, dict[str, Any]]:
        """Join the story this item reports, or open a new one. Returns
        (story id, role, broadcast, grouping evidence)."""
        if grouper is None:
            return None, "root", False, {}
        e, top = item.entry, item.matches[0]
        at = e.published.timestamp() if e.published else now
        decision = grouper.decide(str(entry_id), e, at)
        row = None
        if decision.joined and decision.story.isdigit():
            row = conn.execute(
                "SELECT id, severity, outlets FROM stories WHERE id = ?", (int(decision.story),)
            ).fetchone()
        if row is None:
            cur = conn.execute(
                "INSERT INTO stories (title, created_at, last_at, severity, channel, outlets) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (e.title, now, now, int(top.severity), item.channel, json.dumps([e.feed])),
            )
            story_id = int(cur.lastrowid or 0)
            grouper.add(str(entry_id), str(story_id), e, at)
            return story_id, "root", False, {}
        story_id, severity, outlets = row[0], row[1], json.loads(row[2])
        if e.feed not in outlets:
            outlets.append(e.feed)
        conn.execute(
            "UPDATE stories SET last_at = ?, severity = max(severity, ?), outlets = ?, "
            "items = items + 1 WHERE id = ?",
            (now, int(top.severity), json.dumps(outlets), story_id),
        )
        grouper.add(str(entry_id), str(story_id), e, at)
        evidence = {"score": decision.score, "shared": list(decision.shared)}
        return story_id, "followup", int(top.severity) > severity, evidence

    def _state(
        self, conn: sqlite3.Connection, item: NewAlert, story_id: int | None, now: float
    ) -> str:
        top = item.matches[0]
        if self._muted(conn, item.entry.feed, top.rule_id, story_id, now):
            return MUTED
        if item.digest or not top.severity.alerts:
            return DIGEST
        return PENDING

    def _muted(
        self, conn: sqlite3.Connection, feed: str, rule: str, story: int | None, now: float
    ) -> bool:
        row = conn.execute(
            "SELECT 1 FROM mutes WHERE (until IS NULL OR until > ?) AND ("
            "(kind = 'feed' AND value = ?) OR (kind = 'rule' AND value = ?) OR "
            "(kind = 'story' AND value = ?)) LIMIT 1",
            (now, feed, rule, str(story) if story is not None else ""),
        ).fetchone()
        return row is not None

    def _queue(
        self,
        conn: sqlite3.Connection,
        entry_id: int | None,
        item: NewAlert,
        now: float,
        state: str,
        story_id: int | None = None,
        role: str = "root",
        broadcast: bool = False,
        grouping: dict[str, Any] | None = None,
    ) -> int:
        top = item.matches[0]
        e = item.entry
        payload = {
            "title": e.title,
            "link": e.link,
            "summary": e.summary,
            "feed": e.feed,
            "published": ts(e.published),
            "matches": [_match_json(m) for m in item.matches],
            "grouping": grouping or {},
        }
        digest = item.digest or (None if top.severity.alerts else "daily")
        cur = conn.execute(
            "INSERT INTO alerts (entry_id, kind, feed, rule_id, severity, channel, state, "
            "created_at, payload, story_id, role, broadcast, digest) "
            "VALUES (?, 'alert', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry_id,
                e.feed,
                top.rule_id,
                int(top.severity),
                item.channel,
                state,
                now,
                json.dumps(payload, ensure_ascii=False),
                story_id,
                role,
                int(broadcast),
                digest,
            ),
        )
        return int(cur.lastrowid or 0)

    def _queue_summary(
        self, conn: sqlite3.Connection, feed: str, items: list[NewAlert], now: float
    ) -> int:
        top = max(items, key=lambda i: i.matches[0].severity)
        payload = {
            "title": f"{len(items)} more matching items from {feed}",
            "link": "",
            "summary": "",
            "feed": feed,
            "published": None,
            "matches": [],
            "items": [
                {
                    "title": i.entry.title,
                    "link": i.entry.link,
                    "rule": i.matches[0].rule_id,
                    "severity": i.matches[0].severity.label,
                }
                for i in items
            ],
        }
        cur = conn.execute(
            "INSERT INTO alerts (kind, feed, rule_id, severity, channel, state, created_at, "
            "payload) VALUES ('summary', ?, ?, ?, ?, ?, ?, ?)",
            (
                feed,
                top.matches[0].rule_id,
                int(top.matches[0].severity),
                top.channel,
                PENDING,
                now,
                json.dumps(payload, ensure_ascii=False),
            ),
        )
        return int(cur.lastrowid or 0)

    # -- outbox -----------------------------------------------------------------------

    def due_alerts(self, now: float, limit: int = 500, after_id: int = 0) -> list[dict[str, Any]]:
        """Pending alerts due now, oldest first; page with ``after_id``."""
        rows = self.conn.execute(
            "SELECT * FROM alerts WHERE state = ? AND next_attempt_at <= ? AND id > ? "
            "ORDER BY id LIMIT ?",
            (PENDING, now, after_id, limit),
        )
        return [_row(r, rows.description) for r in rows.fetchall()]

    def in_doubt(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM alerts WHERE state = ? ORDER BY id", (SENDING,))
        return [_row(r, rows.description) for r in rows.fetchall()]

    def claim(self, alert_id: int, now: float) -> bool:
        """Mark as being sent *before* calling Slack, so a crash leaves a trace."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE alerts SET state = ?, claimed_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state = ?",
                (SENDING, now, alert_id, PENDING),
            )
        return cur.rowcount == 1

    def mark_sent(
        self, alert_id: int, now: float, channel: str | None, slack_ts: str | None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET state = ?, sent_at = ?, slack_channel = ?, slack_ts = ?, "
                "last_error = NULL WHERE id = ?",
                (SENT, now, channel, slack_ts, alert_id),
            )

    def mark_retry(self, alert_id: int, error: str, next_at: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET state = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (PENDING, error[:500], next_at, alert_id),
            )

    def mark_failed(self, alert_id: int, error: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET state = ?, last_error = ? WHERE id = ?",
                (FAILED, error[:500], alert_id),
            )

    def mark_many_sent(
        self, ids: Sequence[int], now: float, channel: str | None, slack_ts: str | None
    ) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET state = ?, sent_at = ?, slack_channel = ?, slack_ts = ?, "
                "last_error = NULL WHERE id = ?",
                [(SENT, now, channel, slack_ts, i) for i in ids],
            )

    def defer(self, alert_id: int, next_at: float) -> None:
        """Try later without counting an attempt (a follow-up waiting for its root)."""
        with self.transaction() as conn:
            conn.execute("UPDATE alerts SET next_attempt_at = ? WHERE id = ?", (next_at, alert_id))

    def digest_alerts(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM alerts WHERE state = ? ORDER BY id", (DIGEST,))
        return [_row(r, rows.description) for r in rows.fetchall()]

    # -- stories --------------------------------------------------------------------------

    def story(self, story_id: int | None) -> dict[str, Any] | None:
        if story_id is None:
            return None
        cur = self.conn.execute("SELECT * FROM stories WHERE id = ?", (story_id,))
        row = cur.fetchone()
        if row is None:
            return None
        out = {d[0]: v for d, v in zip(cur.description, row, strict=True)}
        out["outlets"] = json.loads(out["outlets"])
        return out

    def story_root(self, story_id: int) -> dict[str, Any] | None:
        cur = self.conn.execute(
            "SELECT * FROM alerts WHERE story_id = ? AND role = 'root' ORDER BY id LIMIT 1",
            (story_id,),
        )
        row = cur.fetchone()
        return _row(row, cur.description) if row else None

    def set_story_message(self, story_id: int, channel: str | None, slack_ts: str | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE stories SET slack_channel = ?, slack_ts = ? WHERE id = ?",
                (channel, slack_ts, story_id),
            )

    def mark_story_dirty(self, story_id: int, dirty: bool) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE stories SET needs_update = ? WHERE id = ?", (int(dirty), story_id))

    def dirty_stories(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT id FROM stories WHERE needs_update = 1 AND slack_ts IS NOT NULL"
        )
        return [r[0] for r in rows]

    def recent_story_items(self, since: float) -> Iterator[tuple[int, int, Entry, float]]:
        """(entry id, story id, entry, time) of alerts grouped since ``since``, for the index."""
        rows = self.conn.execute(
            f"SELECT e.id, a.story_id, a.created_at, {_ENTRY_COLUMNS} FROM alerts a "
            "JOIN entries e ON e.id = a.entry_id "
            "WHERE a.story_id IS NOT NULL AND a.created_at >= ? ORDER BY a.id",
            (since,),
        )
        for r in rows:
            entry = _entry(r[3:])
            at = entry.published.timestamp() if entry.published else r[2]
            yield r[0], r[1], entry, at

    def recent_entries(self, limit: int) -> Iterator[Entry]:
        rows = self.conn.execute(
            "SELECT feed, key, title, summary FROM entries ORDER BY id DESC LIMIT ?", (limit,)
        )
        for r in rows:
            yield Entry(feed=r[0], key=r[1], url_key="", link="", title=r[2], summary=r[3])

    def alert_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) FROM alerts GROUP BY state")
        return {state: n for state, n in rows}

    def failed_alerts(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM alerts WHERE state IN (?, ?) AND (state = ? OR last_error IS NOT NULL) "
            "ORDER BY id DESC LIMIT ?",
            (FAILED, PENDING, FAILED, limit),
        )
        return [_row(r, rows.description) for r in rows.fetchall()]

    # -- meta, housekeeping, backtest ------------------------------------------------------

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def prune(self, before: float) -> int:
        """Forget old entries, but never one an unsent alert still points at."""
        with self.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM entries WHERE first_seen < ? AND id NOT IN "
                "(SELECT entry_id FROM alerts WHERE entry_id IS NOT NULL)",
                (before,),
            )
        return cur.rowcount

    def entries_since(self, since: float) -> Iterator[Entry]:
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE first_seen >= ? ORDER BY first_seen",
            (since,),
        )
        for r in rows:
            yield _entry(r)


def _feed_state(row: Sequence[Any]) -> FeedState:
    name, url, next_poll, etag, modified, digest, errors, first, last, ok, error, polls = row
    return FeedState(
        name, url, next_poll, etag, modified, digest, errors, bool(first), last, ok, error, polls
    )


_ENTRY_COLUMNS = (
    "e.feed, e.key, e.url_key, e.link, e.title, e.summary, e.content, e.author, e.published"
)


def _entry(r: Sequence[Any]) -> Entry:
    """An Entry from the columns of _ENTRY_COLUMNS, in that order."""
    return Entry(
        feed=r[0],
        key=r[1],
        url_key=r[2],
        link=r[3],
        title=r[4],
        summary=r[5],
        content=r[6],
        author=r[7],
        published=dt(r[8]),
    )


def _row(row: Sequence[Any], description: Any) -> dict[str, Any]:
    out = {d[0]: v for d, v in zip(description, row, strict=True)}
    out["payload"] = json.loads(out["payload"])
    return out


def _match_json(m: Match) -> dict[str, Any]:
    return {
        "rule": m.rule_id,
        "title": m.title,
        "severity": m.severity.label,
        "terms": m.terms,
        "where": sorted({h.field for h in m.hits}),
    }
