"""Mutes: a story, a rule or a feed that should not post for a while.

Muted items are still recorded and still grouped into stories, just not posted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .store import Store

KINDS = ("story", "rule", "feed")


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str
    value: str
    until: float | None
    reason: str
    created_at: float


def add(
    store: Store,
    kind: str,
    value: str,
    *,
    until: float | None,
    reason: str = "",
    now: float | None = None,
) -> int:
    if kind not in KINDS:
        raise ValueError(f"can mute a story, a rule or a feed, not {kind!r}")
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO mutes (kind, value, until, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (kind, value, until, reason, now or time.time()),
        )
    return int(cur.lastrowid or 0)


def remove(store: Store, kind: str, value: str) -> int:
    with store.transaction() as conn:
        cur = conn.execute("DELETE FROM mutes WHERE kind = ? AND value = ?", (kind, value))
    return cur.rowcount


def active(store: Store, now: float | None = None) -> list[Mute]:
    rows = store.conn.execute(
        "SELECT id, kind, value, until, reason, created_at FROM mutes "
        "WHERE until IS NULL OR until > ? ORDER BY id",
        (now or time.time(),),
    )
    return [Mute(*r) for r in rows]
