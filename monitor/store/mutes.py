"""The mutes table: a story, a rule or a feed that should not post for a while.

Muted alerts are still recorded and still grouped into stories, just not posted;
routing (``route.py``) applies the mutes in force, which it gets from here.
"""

from __future__ import annotations

import sqlite3

from ..alerts import Mute
from .db import Database

KINDS = ("story", "rule", "feed")


class Mutes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, kind: str, value: str, *, until: float | None, reason: str, now: float) -> int:
        if kind not in KINDS:
            raise ValueError(f"can mute a story, a rule or a feed, not {kind!r}")
        with self.db.guard():
            table = self.db.utils.table("mutes")
            table.insert(
                {"kind": kind, "value": value, "until": until, "reason": reason, "created_at": now}
            )
            return int(table.last_rowid or 0)

    def remove(self, kind: str, value: str) -> int:
        with self.db.transaction() as conn:
            cur = conn.execute("DELETE FROM mutes WHERE kind = ? AND value = ?", (kind, value))
        return cur.rowcount

    def active(self, now: float) -> list[Mute]:
        rows = self.db.rows(
            "SELECT id, kind, value, until, reason, created_at FROM mutes "
            "WHERE until IS NULL OR until > ? ORDER BY id",
            (now,),
        )
        return [Mute(*r) for r in rows]

    # -- inside another transaction (a click in Slack) ------------------------------------

    @staticmethod
    def insert(
        conn: sqlite3.Connection,
        kind: str,
        value: str,
        *,
        until: float | None,
        reason: str,
        now: float,
    ) -> int:
        if kind not in KINDS:
            raise ValueError(f"can mute a story, a rule or a feed, not {kind!r}")
        cur = conn.execute(
            "INSERT INTO mutes (kind, value, until, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (kind, value, until, reason, now),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def delete(conn: sqlite3.Connection, kind: str, value: str) -> int:
        cur = conn.execute("DELETE FROM mutes WHERE kind = ? AND value = ?", (kind, value))
        return cur.rowcount

    @staticmethod
    def of(conn: sqlite3.Connection, targets: list[tuple[str, str]], now: float) -> list[Mute]:
        """The mutes in force on these (kind, value) targets."""
        found = []
        for kind, value in targets:
            rows = conn.execute(
                "SELECT id, kind, value, until, reason, created_at FROM mutes "
                "WHERE kind = ? AND value = ? AND (until IS NULL OR until > ?) ORDER BY id",
                (kind, value, now),
            ).fetchall()
            found += [Mute(*r) for r in rows]
        return found
