"""A person fixing a story's grouping: split one report out, or merge two stories.

Slack follows through the outbox, like every message: a report that had been
posted in the wrong thread is queued again as its own alert (split) or as a reply
in the right thread (merge), and the story whose count changed is marked for an
edit of its first message. What was already posted stays in Slack's history.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from ..alerts import AlertPayload
from .stories import Stories

CHANGED = "stories_regrouped"  # meta key: the daemon rebuilds its grouping when it moves

_COPY = (
    "INSERT INTO alerts (entry_id, kind, feed, rule_id, severity, channel, state, created_at, "
    "payload, story_id, role, broadcast, digest, mentions) "
    "SELECT entry_id, kind, feed, rule_id, severity, channel, 'pending', ?, ?, ?, ?, 0, NULL, '' "
    "FROM alerts WHERE id = ?"
)


def split(conn: sqlite3.Connection, story_id: int, alert_id: int, now: float) -> int:
    """Move one report into a story of its own; returns the new story's id."""
    feed, severity, channel, state, payload = conn.execute(
        "SELECT feed, severity, channel, state, payload FROM alerts WHERE id = ?", (alert_id,)
    ).fetchone()
    alone = replace(AlertPayload.from_json(payload), grouping=None)
    new_id = Stories.create(conn, f"split-{alert_id}", alone.title, now, severity, channel, feed)
    if state in ("sent", "sending"):
        conn.execute(_COPY, (now, alone.to_json(), new_id, "root", alert_id))
        conn.execute("UPDATE alerts SET story_id = ? WHERE id = ?", (new_id, alert_id))
    else:
        conn.execute(
            "UPDATE alerts SET story_id = ?, role = 'root', broadcast = 0, payload = ? "
            "WHERE id = ?",
            (new_id, alone.to_json(), alert_id),
        )
    recount(conn, story_id)
    return new_id


def merge(conn: sqlite3.Connection, into: int, other: int, now: float) -> int:
    """Move every report of ``other`` into ``into``; returns how many moved."""
    rows = conn.execute(
        "SELECT id, state FROM alerts WHERE story_id = ? ORDER BY id", (other,)
    ).fetchall()
    for alert_id, state in rows:
        if state in ("sent", "sending"):  # posted elsewhere: a reply in the right thread too
            payload = conn.execute("SELECT payload FROM alerts WHERE id = ?", (alert_id,))
            conn.execute(_COPY, (now, payload.fetchone()[0], into, "followup", alert_id))
        conn.execute(
            "UPDATE alerts SET story_id = ?, role = 'followup', broadcast = 0 WHERE id = ?",
            (into, alert_id),
        )
    conn.execute("DELETE FROM stories WHERE id = ?", (other,))
    recount(conn, into)
    return len(rows)


def recount(conn: sqlite3.Connection, story_id: int) -> None:
    """A story's report count and outlets from its alerts; its first message shows them."""
    feeds = [
        r[0]
        for r in conn.execute(
            "SELECT feed FROM alerts WHERE story_id = ? AND kind = 'alert' "
            "AND id IN (SELECT min(id) FROM alerts WHERE story_id = ? GROUP BY entry_id) "
            "ORDER BY id",
            (story_id, story_id),
        )
    ]
    conn.execute(
        "UPDATE stories SET items = ?, outlets = ?, needs_update = 1 WHERE id = ?",
        (max(1, len(feeds)), json.dumps(list(dict.fromkeys(feeds))), story_id),
    )
