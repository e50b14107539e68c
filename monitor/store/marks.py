"""The marks and slack_actions tables: what people did on alert messages from Slack.

``slack_actions`` logs every click handled, keyed on the click itself (message,
button, Slack's ``action_ts``), so an envelope Slack sends twice is handled once.
``marks`` holds what an alert's message shows (who acknowledged it, who marked it
as noise) and a version: a change bumps it, and the delivery thread, which owns
the channel gates, edits the message until ``shown`` catches up.
"""

from __future__ import annotations

import sqlite3

from ..alerts import Marks as MarksRow
from ..alerts import Mute
from .db import Database


class Marks:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- written in the action handler's transaction ------------------------------------

    @staticmethod
    def log(
        conn: sqlite3.Connection,
        key: str,
        alert_id: int | None,
        action: str,
        user: str,
        now: float,
        outcome: str,
    ) -> bool:
        """Record a click; False when this very click was handled before (a re-send)."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO slack_actions (key, alert_id, action, user, at, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, alert_id, action, user, now, outcome),
        )
        return cur.rowcount == 1

    @staticmethod
    def set_outcome(conn: sqlite3.Connection, key: str, outcome: str) -> None:
        conn.execute("UPDATE slack_actions SET outcome = ? WHERE key = ?", (outcome, key))

    @staticmethod
    def read(
        conn: sqlite3.Connection, alert_id: int
    ) -> tuple[str | None, float | None, str | None]:
        row = conn.execute(
            "SELECT acked_by, acked_at, noise_by FROM marks WHERE alert_id = ?", (alert_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    @staticmethod
    def acknowledge(conn: sqlite3.Connection, alert_id: int, user: str, now: float) -> None:
        Marks._ensure(conn, alert_id)
        conn.execute(
            "UPDATE marks SET acked_by = ?, acked_at = ? WHERE alert_id = ?", (user, now, alert_id)
        )

    @staticmethod
    def noise(conn: sqlite3.Connection, alert_id: int, user: str) -> None:
        Marks._ensure(conn, alert_id)
        conn.execute("UPDATE marks SET noise_by = ? WHERE alert_id = ?", (user, alert_id))

    @staticmethod
    def touch(conn: sqlite3.Connection, alert_id: int) -> None:
        """The message must show a change: the delivery thread edits it."""
        Marks._ensure(conn, alert_id)
        conn.execute("UPDATE marks SET version = version + 1 WHERE alert_id = ?", (alert_id,))

    @staticmethod
    def _ensure(conn: sqlite3.Connection, alert_id: int) -> None:
        conn.execute("INSERT OR IGNORE INTO marks (alert_id) VALUES (?)", (alert_id,))

    # -- read by delivery ----------------------------------------------------------------

    def get(self, alert_id: int, mutes: tuple[Mute, ...] = ()) -> MarksRow:
        row = self.db.one(
            "SELECT acked_by, acked_at, noise_by, version FROM marks WHERE alert_id = ?",
            (alert_id,),
        )
        if row is None:
            return MarksRow(alert_id, mutes=mutes)
        return MarksRow(alert_id, row[0], row[1], row[2], mutes, row[3])

    def dirty(self) -> list[tuple[int, str]]:
        """(alert id, channel ID) of sent messages that must be edited to show a change."""
        rows = self.db.rows(
            "SELECT m.alert_id, a.slack_channel FROM marks m JOIN alerts a ON a.id = m.alert_id "
            "WHERE m.version > m.shown AND a.slack_ts IS NOT NULL AND a.slack_channel IS NOT NULL "
            "ORDER BY m.alert_id"
        )
        return [(r[0], r[1]) for r in rows]

    def shown(self, alert_id: int, version: int) -> None:
        """The message now shows ``version`` (a later change keeps it owed)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE marks SET shown = max(shown, ?) WHERE alert_id = ?", (version, alert_id)
            )

    def actions(self, since: float) -> list[tuple[str, int | None, str, str, float, str]]:
        """(key, alert id, action, user, time, outcome) of the clicks since ``since``."""
        rows = self.db.rows(
            "SELECT key, alert_id, action, user, at, outcome FROM slack_actions "
            "WHERE at >= ? ORDER BY at",
            (since,),
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
