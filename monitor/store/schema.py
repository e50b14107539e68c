"""The database schema as numbered migrations (``PRAGMA user_version``).

Append a migration; never edit one that has shipped: a database created by an
older monitor is brought up to date at open, in one transaction per step.
Times are Unix seconds (REAL) in UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .db import Database

MIGRATIONS = [
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
    # 4: routing leaves the store. A story has a key of its own (the grouping's name
    # for it, the key of its first report), mentions are decided by routing, and a
    # poll's alerts wait in state 'new' until the cycle's batch is grouped.
    """
    ALTER TABLE stories ADD COLUMN key TEXT;
    UPDATE stories SET key = 's' || id;
    CREATE UNIQUE INDEX stories_key ON stories (key);
    CREATE INDEX stories_last ON stories (last_at);
    ALTER TABLE alerts ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
    """,
    # 5: polite polling. What the publisher asked for last time it sent a document
    # (a 304 carries no <ttl>), and the interval chosen with its reason, for status.
    """
    ALTER TABLE feeds ADD COLUMN publisher_interval REAL;
    ALTER TABLE feeds ADD COLUMN poll_interval REAL;
    ALTER TABLE feeds ADD COLUMN interval_why TEXT;
    CREATE INDEX alerts_sent ON alerts (sent_at) WHERE sent_at IS NOT NULL;
    """,
    # 6: people act on alerts from Slack. slack_actions: every click handled, once
    # (Slack re-sends an envelope whose ack came late; the payload's key makes it one).
    # marks: what an alert's message shows (acknowledged, marked as noise); version >
    # shown means the delivery thread owes it a chat.update. noise: items people said
    # were not relevant, for rule authors (`monitor rules noise`).
    """
    CREATE TABLE slack_actions (
        key TEXT PRIMARY KEY, alert_id INTEGER, action TEXT NOT NULL,
        user TEXT NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL
    );
    CREATE TABLE marks (
        alert_id INTEGER PRIMARY KEY REFERENCES alerts (id),
        acked_by TEXT, acked_at REAL, noise_by TEXT,
        version INTEGER NOT NULL DEFAULT 0, shown INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX marks_dirty ON marks (alert_id) WHERE version > shown;
    CREATE TABLE noise (
        id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL UNIQUE REFERENCES alerts (id),
        rule_id TEXT NOT NULL, terms TEXT NOT NULL DEFAULT '[]', title TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',
        feed TEXT NOT NULL DEFAULT '', published REAL, user TEXT NOT NULL, at REAL NOT NULL
    );
    CREATE INDEX noise_at ON noise (at);
    """,
    # 7: which parser a feed has earned (feeds/parser.py): '' never checked, 'fast', 'slow';
    # parser_since counts parses since the last check of both parsers against each other
    """
    ALTER TABLE feeds ADD COLUMN parser TEXT NOT NULL DEFAULT '';
    ALTER TABLE feeds ADD COLUMN parser_since INTEGER NOT NULL DEFAULT 0;
    """,
]


def migrate(db: Database) -> None:
    version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.transaction() as conn:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
