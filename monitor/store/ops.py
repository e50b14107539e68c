"""Small state of the monitor's own: ops conditions (firing or not) and meta values
(heartbeat, the last rejected rule edit)."""

from __future__ import annotations

import sqlite3

from .db import Database


class OpsState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def is_firing(self, key: str) -> bool:
        row = self.db.one("SELECT firing FROM ops_state WHERE key = ?", (key,))
        return bool(row[0]) if row else False

    @staticmethod
    def set(conn: sqlite3.Connection, key: str, firing: bool, now: float, detail: str) -> None:
        conn.execute(
            "INSERT INTO ops_state (key, firing, since, detail) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET firing = excluded.firing, "
            "since = excluded.since, detail = excluded.detail",
            (key, int(firing), now, detail[:1000]),
        )

    def firing(self) -> list[tuple[str, float, str]]:
        rows = self.db.rows(
            "SELECT key, since, detail FROM ops_state WHERE firing = 1 ORDER BY since"
        )
        return [(r[0], r[1], r[2] or "") for r in rows]


class Meta:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, key: str, value: str | None) -> None:
        with self.db.transaction() as conn:  # plain SQL: the health check writes this
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def get(self, key: str) -> str | None:
        row = self.db.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None
