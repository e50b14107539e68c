"""The noise table: alerts someone marked "not relevant" in Slack, with what the rule
matched, so a rule author can list them (`monitor rules noise`) and test a tightened
rule against them (`monitor rules test --input`)."""

from __future__ import annotations

import json
import sqlite3

from ..alerts import Alert, NoiseItem
from .db import Database


class Noise:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def insert(conn: sqlite3.Connection, alert: Alert, user: str, now: float) -> bool:
        """One record per alert: a second "not relevant" on it changes nothing."""
        p = alert.payload
        terms = list(p.matches[0].terms) if p.matches else []
        cur = conn.execute(
            "INSERT OR IGNORE INTO noise (alert_id, rule_id, terms, title, summary, link, feed, "
            "published, user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert.id,
                alert.rule_id,
                json.dumps(terms, ensure_ascii=False),
                p.title,
                p.summary,
                p.link,
                p.feed or alert.feed,
                p.published,
                user,
                now,
            ),
        )
        return cur.rowcount == 1

    @staticmethod
    def exists(conn: sqlite3.Connection, alert_id: int) -> bool:
        row = conn.execute("SELECT 1 FROM noise WHERE alert_id = ?", (alert_id,)).fetchone()
        return row is not None

    def since(self, cutoff: float) -> list[NoiseItem]:
        rows = self.db.rows(
            "SELECT id, alert_id, rule_id, terms, title, summary, link, feed, published, user, at "
            "FROM noise WHERE at >= ? ORDER BY rule_id, at",
            (cutoff,),
        )
        return [NoiseItem(r[0], r[1], r[2], tuple(json.loads(r[3] or "[]")), *r[4:]) for r in rows]
