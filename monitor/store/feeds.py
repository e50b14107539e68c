"""The feeds table: each feed's schedule, HTTP validators and error count."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import UNCHECKED, ParserState, Validators
from .db import Database


@dataclass(frozen=True, slots=True)
class FeedState:
    name: str
    url: str
    next_poll_at: float
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    error_count: int = 0
    first_polled: bool = False
    last_poll_at: float | None = None
    last_ok_at: float | None = None
    last_error: str | None = None
    polls: int = 0
    publisher_interval: float | None = None  # what the last document asked (ttl, sy:)
    poll_interval: float | None = None  # the interval last chosen (schedule.py)
    interval_why: str | None = None
    parser: ParserState = UNCHECKED


_COLUMNS = (
    "name, url, next_poll_at, etag, last_modified, content_hash, error_count, "
    "first_polled, last_poll_at, last_ok_at, last_error, polls, publisher_interval, "
    "poll_interval, interval_why, parser, parser_since"
)


def _state(row: Sequence[Any]) -> FeedState:
    name, url, next_poll, etag, modified, digest, errors, first, last, ok, error, polls = row[:12]
    return FeedState(
        name,
        url,
        next_poll,
        etag,
        modified,
        digest,
        errors,
        bool(first),
        last,
        ok,
        error,
        polls,
        row[12],
        row[13],
        row[14],
        ParserState(row[15], row[16]),
    )


@dataclass(frozen=True, slots=True)
class Scheduled:
    """The next poll as ``schedule.plan`` chose it, and what the publisher asked."""

    next_poll: float
    interval: float | None = None
    why: str | None = None
    publisher_interval: float | None = None


class Feeds:
    def __init__(self, db: Database) -> None:
        self.db = db

    def sync(
        self,
        feeds: Sequence[tuple[str, str]],
        now: float,
        first_poll: Mapping[str, float] | None = None,
    ) -> None:
        """Make the table follow the config; a feed whose URL changed starts fresh.
        ``first_poll``: when a feed new to the table is first due (default: now)."""
        first_poll = first_poll or {}
        with self.db.transaction() as conn:
            for name, url in feeds:
                row = conn.execute("SELECT url FROM feeds WHERE name = ?", (name,)).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO feeds (name, url, next_poll_at) VALUES (?, ?, ?)",
                        (name, url, first_poll.get(name, now)),
                    )
                elif row[0] != url:
                    conn.execute(
                        "UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, "
                        "content_hash = NULL, next_poll_at = ?, error_count = 0, "
                        "publisher_interval = NULL, parser = '', parser_since = 0 WHERE name = ?",
                        (url, now, name),
                    )

    def failing(self, names: Collection[str]) -> int:
        """How many of these feeds failed their last poll."""
        rows = self.db.rows("SELECT name FROM feeds WHERE error_count > 0")
        return sum(1 for (name,) in rows if name in names)

    def states(self) -> list[FeedState]:
        return [_state(r) for r in self.db.rows(f"SELECT {_COLUMNS} FROM feeds ORDER BY name")]

    def due(self, now: float) -> list[str]:
        rows = self.db.rows(
            "SELECT name FROM feeds WHERE next_poll_at <= ? ORDER BY next_poll_at", (now,)
        )
        return [r[0] for r in rows]

    def record_unchanged(
        self, name: str, now: float, next_poll: float | Scheduled, known: Validators
    ) -> None:
        plan = next_poll if isinstance(next_poll, Scheduled) else Scheduled(next_poll)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll_at = ?, last_ok_at = ?, next_poll_at = ?, "
                "error_count = 0, last_error = NULL, polls = polls + 1, first_polled = 1, "
                "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), "
                "content_hash = coalesce(?, content_hash), "
                "poll_interval = coalesce(?, poll_interval), "
                "interval_why = coalesce(?, interval_why) WHERE name = ?",
                (
                    now,
                    now,
                    plan.next_poll,
                    known.etag,
                    known.last_modified,
                    known.content_hash,
                    plan.interval,
                    plan.why,
                    name,
                ),
            )

    def record_failure(self, name: str, now: float, next_poll: float, error: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll_at = ?, next_poll_at = ?, last_error = ?, "
                "error_count = error_count + 1, polls = polls + 1 WHERE name = ?",
                (now, next_poll, error[:500], name),
            )

    @staticmethod
    def record_ok(
        conn: sqlite3.Connection,
        name: str,
        now: float,
        next_poll: float,
        known: Validators,
        fresh: int,
        arrivals: int,
        plan: Scheduled | None = None,
        parser: ParserState | None = None,
    ) -> None:
        """Inside the poll's transaction: the feed answered and its entries are stored."""
        plan = plan or Scheduled(next_poll)
        if parser is not None:
            conn.execute(
                "UPDATE feeds SET parser = ?, parser_since = ? WHERE name = ?",
                (parser.parser, parser.since, name),
            )
        conn.execute(
            "UPDATE feeds SET last_poll_at = ?, last_ok_at = ?, next_poll_at = ?, "
            "error_count = 0, last_error = NULL, polls = polls + 1, first_polled = 1, "
            "etag = ?, last_modified = ?, content_hash = ?, "
            "entries_seen = entries_seen + ?, last_new_at = CASE WHEN ? > 0 THEN ? "
            "ELSE last_new_at END, publisher_interval = ?, "
            "poll_interval = coalesce(?, poll_interval), "
            "interval_why = coalesce(?, interval_why) WHERE name = ?",
            (
                now,
                now,
                next_poll,
                known.etag,
                known.last_modified,
                known.content_hash,
                fresh,
                arrivals,
                now,
                plan.publisher_interval,
                plan.interval,
                plan.why,
                name,
            ),
        )
