"""The entries table: every item seen, so each alerts once.

Entries are unique per (feed, key) and inserted with INSERT OR IGNORE: only rows
really inserted count as new. An entry whose canonical URL was stored before,
under any feed, is new to its feed but never alerts again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..models import Entry
from .db import Database

COLUMNS = "e.feed, e.key, e.url_key, e.link, e.title, e.summary, e.content, e.author, e.published"
_CHUNK = 500  # keys per IN (…) query, well under SQLite's variable limit


def entry_of(r: Sequence[Any]) -> Entry:
    """An Entry from the columns of COLUMNS, in that order."""
    published = datetime.fromtimestamp(r[8], tz=UTC) if r[8] is not None else None
    return Entry(
        feed=r[0],
        key=r[1],
        url_key=r[2],
        link=r[3],
        title=r[4],
        summary=r[5],
        content=r[6],
        author=r[7],
        published=published,
    )


@dataclass(frozen=True, slots=True)
class Inserted:
    """One entry a poll really inserted."""

    id: int
    entry: Entry
    seen_url: str  # "": a new article; "own": this feed had the URL; "other": another feed had it


class Entries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def known(self, feed: str, keys: Iterable[str]) -> set[str]:
        """Which of these keys this feed has stored: the rest are new."""
        keys = list(keys)
        found: set[str] = set()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.rows(
                f"SELECT key FROM entries WHERE feed = ? AND key IN ({marks})", (feed, *chunk)
            )
            found.update(r[0] for r in rows)
        return found

    @staticmethod
    def insert(conn: sqlite3.Connection, entries: Sequence[Entry], now: float) -> list[Inserted]:
        """Inside the poll's transaction; returns the entries really inserted."""
        out = []
        for e in entries:
            cur = conn.execute(
                "INSERT OR IGNORE INTO entries (feed, key, url_key, link, title, summary, "
                "content, author, published, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    e.feed,
                    e.key,
                    e.url_key,
                    e.link,
                    e.title,
                    e.summary,
                    e.content,
                    e.author,
                    e.published.timestamp() if e.published else None,
                    now,
                ),
            )
            if cur.rowcount != 1:
                continue  # seen before under this key
            entry_id = int(cur.lastrowid or 0)
            seen = ""
            if e.url_key:
                # `url_key != ''` lets SQLite use the partial index (else: a full scan)
                own = conn.execute(
                    "SELECT max(feed = ?) FROM entries "
                    "WHERE url_key = ? AND url_key != '' AND id != ?",
                    (e.feed, e.url_key, entry_id),
                ).fetchone()[0]
                if own is not None:
                    seen = "own" if own else "other"
            out.append(Inserted(entry_id, e, seen))
        return out

    def get(self, entry_id: int) -> Entry | None:
        row = self.db.one(f"SELECT {COLUMNS} FROM entries e WHERE id = ?", (entry_id,))
        return entry_of(row) if row else None

    def recent(self, since: float, limit: int) -> Iterator[Entry]:
        """Entries first seen since ``since`` and published since then too (or undated),
        newest first: what the story grouping counted while they arrived, counted again
        at start. A feed's first poll brings years of old items; they never count."""
        rows = self.db.rows(
            "SELECT feed, key, title, summary, published FROM entries WHERE first_seen >= ? "
            "AND (published IS NULL OR published >= ?) ORDER BY first_seen DESC LIMIT ?",
            (since, since, limit),
        )
        for r in rows:
            published = datetime.fromtimestamp(r[4], tz=UTC) if r[4] is not None else None
            yield Entry(
                feed=r[0],
                key=r[1],
                url_key="",
                link="",
                title=r[2],
                summary=r[3],
                published=published,
            )

    def since(self, since: float) -> Iterator[tuple[int, Entry]]:
        rows = self.db.rows(
            f"SELECT e.id, {COLUMNS} FROM entries e WHERE first_seen >= ? ORDER BY first_seen",
            (since,),
        )
        for r in rows:
            yield r[0], entry_of(r[1:])

    def arrivals(self, feed: str, limit: int) -> list[float]:
        """When this feed's recent entries first arrived, newest first."""
        rows = self.db.rows(
            "SELECT DISTINCT first_seen FROM entries WHERE feed = ? "
            "ORDER BY first_seen DESC LIMIT ?",
            (feed, limit),
        )
        return [r[0] for r in rows]

    def published_since(self, feed: str, since: float) -> int:
        """How many of this feed's entries were published since ``since`` (an undated
        entry counts from when it was first seen): the adaptive interval's input."""
        row = self.db.one(
            "SELECT count(*) FROM entries WHERE feed = ? AND coalesce(published, first_seen) >= ?",
            (feed, since),
        )
        return int(row[0]) if row else 0

    def prune(self, before: float) -> int:
        """Forget old entries, but never one an alert still points at."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM entries WHERE first_seen < ? AND id NOT IN "
                "(SELECT entry_id FROM alerts WHERE entry_id IS NOT NULL)",
                (before,),
            )
        return cur.rowcount
