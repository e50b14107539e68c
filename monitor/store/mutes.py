"""The mutes table: a story, a rule or a feed that should not post for a while.

Muted alerts are still recorded and still grouped into stories, just not posted;
routing (``route.py``) applies the mutes in force, which it gets from here.
"""

from __future__ import annotations

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
