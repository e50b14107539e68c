"""The SQLite connection: pragmas, migrations, transactions, and errors in our tree.

Every statement the store runs goes through ``Database``, so a SQLite error
becomes a ``StoreError`` with a hint (path is a folder, read-only, locked,
corrupt, disk full) where it enters, never a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .schema import migrate

# SQLite's extended error names, grouped by what a person can do about them.
_KINDS = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_READONLY": "readonly",
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
    "SQLITE_FULL": "full",
    "SQLITE_CANTOPEN": "open",
    "SQLITE_IOERR": "open",
}


def translate(exc: sqlite3.Error, path: str) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    kind = next((k for prefix, k in _KINDS.items() if name.startswith(prefix)), "error")
    return StoreError(f"database {path}: {exc}", kind=kind)


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        memory = self.path == ":memory:"
        if not memory:
            target = Path(path)
            if target.is_dir():
                raise StoreError(f"database {path} is a folder", kind="folder")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder of {path}: {exc}", kind="open") from exc
        with self.guard():
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.conn = conn
            self._utils: Any = None
            conn.execute("PRAGMA busy_timeout = 30000")
            if not memory and conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = wal")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(self)

    @property
    def utils(self) -> Any:
        """sqlite-utils, for the chores it does well (upserts of small tables); the hot
        paths (a poll's entries, the outbox) are plain SQL. Imported on first use, so
        that `monitor health` and `status` start without it."""
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils

    def close(self) -> None:
        self.conn.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (housekeeping)."""
        with self.guard():
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def wait_at_most(self, milliseconds: int) -> None:
        """How long a statement waits for another writer before it fails as locked."""
        with self.guard():
            self.conn.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Translate SQLite's errors into a StoreError naming the database."""
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front, so two writers queue
        instead of failing half-way with SQLITE_BUSY. All or nothing."""
        with self.guard():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.guard():
            return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.guard():
            row: tuple[Any, ...] | None = self.conn.execute(sql, params).fetchone()
            return row

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.guard():
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
