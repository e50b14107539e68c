"""The alerts table: the outbox. Alerts wait here until Slack answers ``ok``.

An alert is claimed (state ``sending``, committed) before Slack is called and
marked ``sent`` with Slack's ``ts`` after, so a crash in between leaves a trace
(see ``deliver/outbox.py``). States and their meaning: ``alerts.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..alerts import Alert, AlertKind, AlertPayload, AlertState, Role, Route
from ..models import Candidate, Severity
from .db import Database


def alert_of(d: dict[str, Any]) -> Alert:
    return Alert(
        id=d["id"],
        kind=AlertKind(d["kind"]),
        feed=d["feed"],
        rule_id=d["rule_id"],
        severity=Severity(d["severity"]),
        channel=d["channel"],
        state=AlertState(d["state"]),
        payload=AlertPayload.from_json(d["payload"]),
        created_at=d["created_at"],
        entry_id=d["entry_id"],
        attempts=d["attempts"],
        next_attempt_at=d["next_attempt_at"],
        last_error=d["last_error"],
        claimed_at=d["claimed_at"],
        sent_at=d["sent_at"],
        slack_channel=d["slack_channel"],
        slack_ts=d["slack_ts"],
        story_id=d["story_id"],
        role=Role(d["role"]),
        broadcast=bool(d["broadcast"]),
        digest=d["digest"],
        mentions=tuple(m for m in (d.get("mentions") or "").split(",") if m),
    )


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _alerts(self, where: str, params: Sequence[Any] = ()) -> list[Alert]:
        return [alert_of(d) for d in self.db.dicts(f"SELECT * FROM alerts WHERE {where}", params)]

    # -- written by a poll and by routing ----------------------------------------------

    @staticmethod
    def insert_new(
        conn: sqlite3.Connection, items: Sequence[tuple[int, Candidate]], channel: str, now: float
    ) -> list[int]:
        """A poll's candidates, waiting (state ``new``) for the cycle's grouping."""
        ids = []
        for entry_id, c in items:
            cur = conn.execute(
                "INSERT INTO alerts (entry_id, kind, feed, rule_id, severity, channel, state, "
                "created_at, payload) VALUES (?, 'alert', ?, ?, ?, ?, 'new', ?, ?)",
                (
                    entry_id,
                    c.entry.feed,
                    c.top.rule_id,
                    int(c.top.severity),
                    channel,
                    now,
                    AlertPayload.of(c).to_json(),
                ),
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    @staticmethod
    def route(conn: sqlite3.Connection, alert: Alert, route: Route, story_id: int | None) -> None:
        payload = alert.payload
        if route.grouping is not None:
            payload = replace(payload, grouping=route.grouping)
        conn.execute(
            "UPDATE alerts SET state = ?, channel = ?, role = ?, story_id = ?, digest = ?, "
            "broadcast = ?, mentions = ?, payload = ? WHERE id = ? AND state = 'new'",
            (
                route.state.value,
                route.channel,
                route.role.value,
                story_id,
                route.digest,
                int(route.broadcast),
                ",".join(route.mentions),
                payload.to_json(),
                alert.id,
            ),
        )

    @staticmethod
    def insert(
        conn: sqlite3.Connection,
        kind: AlertKind,
        feed: str,
        rule_id: str,
        severity: Severity,
        channel: str,
        payload: AlertPayload,
        now: float,
    ) -> int:
        """A message of the monitor's own: a poll's overflow summary or an ops alert."""
        cur = conn.execute(
            "INSERT INTO alerts (kind, feed, rule_id, severity, channel, state, created_at, "
            "payload) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (kind.value, feed, rule_id, int(severity), channel, now, payload.to_json()),
        )
        return int(cur.lastrowid or 0)

    def ungrouped(self) -> list[Alert]:
        return self._alerts("state = 'new' ORDER BY id")

    # -- read and walked by delivery ------------------------------------------------------

    def get(self, alert_id: int) -> Alert | None:
        found = self._alerts("id = ?", (alert_id,))
        return found[0] if found else None

    def pending(self, after_id: int = 0, limit: int = 500) -> list[Alert]:
        """Every pending alert, due or waiting out a back-off (`monitor once`: try now)."""
        return self._alerts("state = 'pending' AND id > ? ORDER BY id LIMIT ?", (after_id, limit))

    def next_attempt(self) -> float | None:
        row = self.db.one("SELECT min(next_attempt_at) FROM alerts WHERE state = 'pending'")
        return row[0] if row else None

    def in_doubt(self) -> list[Alert]:
        return self._alerts("state = 'sending' ORDER BY id")

    def digest_alerts(self) -> list[Alert]:
        return self._alerts("state = 'digest' ORDER BY id")

    def story_root(self, story_id: int) -> Alert | None:
        """The alert whose message is (or will be) the story's own top-level message:
        never a digest's, never one that will not be posted (muted, failed, summed up)."""
        found = self._alerts(
            "story_id = ? AND role = 'root' AND digest IS NULL "
            "AND state IN ('pending', 'sending', 'sent') ORDER BY id LIMIT 1",
            (story_id,),
        )
        return found[0] if found else None

    def of_story(self, story_id: int) -> list[Alert]:
        return self._alerts("story_id = ? ORDER BY id", (story_id,))

    def promote(self, alert_id: int) -> None:
        """A follow-up posted on its own (its root never went out) is now the root."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE alerts SET role = 'root' WHERE id = ?", (alert_id,))

    def claim(self, alert_id: int, now: float) -> bool:
        """Mark as being sent *before* calling Slack, so a crash leaves a trace."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE alerts SET state = 'sending', claimed_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (now, alert_id),
            )
        return cur.rowcount == 1

    def claim_digest(self, ids: Sequence[int], now: float) -> bool:
        """A digest's alerts, claimed together before the one post that carries them."""
        with self.db.transaction() as conn:
            cur = conn.executemany(
                "UPDATE alerts SET state = 'sending', claimed_at = ? "
                "WHERE id = ? AND state = 'digest'",
                [(now, i) for i in ids],
            )
        return cur.rowcount == len(ids)

    def release_digest(self, ids: Sequence[int], error: str) -> None:
        """The digest did not go out: its alerts wait for the next digest run."""
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET state = 'digest', last_error = ? WHERE id = ?",
                [(error[:500] or None, i) for i in ids],
            )

    def mark_sent(
        self, ids: Sequence[int], now: float, channel: str | None, slack_ts: str | None
    ) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE alerts SET state = 'sent', sent_at = ?, slack_channel = ?, "
                "slack_ts = ?, last_error = NULL WHERE id = ?",
                [(now, channel, slack_ts, i) for i in ids],
            )

    def mark_retry(
        self, alert_id: int, error: str, next_at: float, *, count_attempt: bool = True
    ) -> None:
        """Back to pending. ``attempts`` counts failed attempts: a 429 (the channel's
        gate closed) or a resend after a crash is not one."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET state = 'pending', last_error = ?, next_attempt_at = ?, "
                "attempts = attempts + ? WHERE id = ?",
                (error[:500] or None, next_at, int(count_attempt), alert_id),
            )

    def mark_failed(self, alert_id: int, error: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE alerts SET state = 'failed', last_error = ? WHERE id = ?",
                (error[:500], alert_id),
            )

    def defer(self, alert_id: int, next_at: float) -> None:
        """Try later without counting an attempt (a follow-up waiting for its root)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE alerts SET next_attempt_at = ? WHERE id = ?", (next_at, alert_id))

    # -- for people ---------------------------------------------------------------------------

    def pending_summary(self) -> tuple[int, float | None]:
        """How many alerts wait to be sent (pending, or being sent right now: an attempt
        through an outage can take seconds), and when the oldest of them was created."""
        row = self.db.one(
            "SELECT count(*), min(created_at) FROM alerts WHERE state IN ('pending', 'sending')"
        )
        return (int(row[0]), row[1]) if row else (0, None)

    def last_sent_at(self) -> float | None:
        row = self.db.one("SELECT max(sent_at) FROM alerts WHERE sent_at IS NOT NULL")
        return row[0] if row else None

    def by_rule(self, since: float) -> dict[str, dict[str, int]]:
        """Alerts created since ``since``, per rule (the one that decided the alert), by
        state: what `monitor rules stats` tells a rule author."""
        out: dict[str, dict[str, int]] = {}
        for rule, state, n in self.db.rows(
            "SELECT rule_id, state, count(*) FROM alerts WHERE kind = 'alert' "
            "AND created_at >= ? GROUP BY rule_id, state",
            (since,),
        ):
            out.setdefault(rule, {})[state] = n
        return out

    def counts(self) -> dict[str, int]:
        rows = self.db.rows("SELECT state, count(*) FROM alerts GROUP BY state")
        return {state: n for state, n in rows}

    def problems(self, limit: int = 20) -> list[Alert]:
        """Failed alerts, and those waiting that have failed an attempt (pending, or being
        tried again right now: through an outage that is most of the time), newest first."""
        return self._alerts(
            "state = 'failed' OR (state IN ('pending', 'sending') AND last_error IS NOT NULL) "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
