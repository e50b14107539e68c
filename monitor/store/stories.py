"""The stories table: one row per event, however many outlets reported it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from ..alerts import Story
from ..models import Entry, Severity
from .db import Database
from .entries import COLUMNS, entry_of


def story_of(d: dict[str, Any]) -> Story:
    return Story(
        id=d["id"],
        key=d["key"],
        title=d["title"],
        created_at=d["created_at"],
        last_at=d["last_at"],
        severity=Severity(d["severity"]),
        channel=d["channel"],
        outlets=tuple(json.loads(d["outlets"])),
        items=d["items"],
        slack_channel=d["slack_channel"],
        slack_ts=d["slack_ts"],
        needs_update=bool(d["needs_update"]),
    )


class Stories:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, story_id: int | None) -> Story | None:
        if story_id is None:
            return None
        found = self.db.dicts("SELECT * FROM stories WHERE id = ?", (story_id,))
        return story_of(found[0]) if found else None

    def by_keys(self, keys: Iterable[str]) -> dict[str, Story]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, Story] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for d in self.db.dicts(f"SELECT * FROM stories WHERE key IN ({marks})", chunk):
                out[d["key"]] = story_of(d)
        return out

    @staticmethod
    def create(
        conn: sqlite3.Connection,
        key: str,
        title: str,
        now: float,
        severity: Severity,
        channel: str,
        outlet: str,
    ) -> int:
        cur = conn.execute(
            "INSERT INTO stories (key, title, created_at, last_at, severity, channel, outlets) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, title, now, now, int(severity), channel, json.dumps([outlet])),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def join(
        conn: sqlite3.Connection, story_id: int, now: float, severity: Severity, outlet: str
    ) -> None:
        row = conn.execute("SELECT outlets FROM stories WHERE id = ?", (story_id,)).fetchone()
        outlets = json.loads(row[0]) if row else []
        if outlet not in outlets:
            outlets.append(outlet)
        conn.execute(
            "UPDATE stories SET last_at = ?, severity = max(severity, ?), outlets = ?, "
            "items = items + 1 WHERE id = ?",
            (now, int(severity), json.dumps(outlets), story_id),
        )

    def set_message(self, story_id: int, channel: str | None, slack_ts: str | None) -> None:
        """The story's own top-level message: the one replies thread under and
        chat.update edits. Never a digest's."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE stories SET slack_channel = ?, slack_ts = ? WHERE id = ?",
                (channel, slack_ts, story_id),
            )

    def mark_dirty(self, story_id: int, dirty: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE stories SET needs_update = ? WHERE id = ?", (int(dirty), story_id))

    def dirty(self) -> list[int]:
        rows = self.db.rows(
            "SELECT id FROM stories WHERE needs_update = 1 AND slack_ts IS NOT NULL"
        )
        return [r[0] for r in rows]

    def reports_since(self, since: float) -> Iterator[tuple[int, str, Entry, float]]:
        """(entry id, story key, entry, time) of reports grouped since ``since``: what the
        grouping remembers across a restart."""
        rows = self.db.rows(
            # CROSS JOIN: SQLite keeps this order (recent stories by index, then their
            # alerts by story_id) instead of scanning every alert ever sent
            f"SELECT a.id, e.id, s.key, a.created_at, {COLUMNS} FROM stories s "
            "CROSS JOIN alerts a ON a.story_id = s.id JOIN entries e ON e.id = a.entry_id "
            "WHERE s.last_at >= ? AND a.created_at >= ?",
            (since, since),
        )
        for r in sorted(rows):  # in the order they were grouped (no ORDER BY: a scan)
            entry = entry_of(r[4:])
            at = entry.published.timestamp() if entry.published else r[3]
            yield r[1], r[2], entry, at

    def recent(self, since: float, limit: int = 10) -> list[Story]:
        """Stories with more than one report, most recent first (for `monitor status`)."""
        found = self.db.dicts(
            "SELECT * FROM stories WHERE items > 1 AND last_at > ? ORDER BY last_at DESC LIMIT ?",
            (since, limit),
        )
        return [story_of(d) for d in found]
