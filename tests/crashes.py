"""Crash a running daemon on purpose and read what it left behind.

``monitor run`` runs as a subprocess (as in production: its own interpreter, its
own SQLite connections, killed with SIGKILL so no ``finally`` runs). What happened
is read from the three places that record it, never guessed from sleeps: the
daemon's JSON log (one event a line, flushed at once), its database (the outbox's
states) and the local servers' own records.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.running import spawn


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns something true; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


@dataclass
class Log:
    """The daemon's JSON log, read as it grows; each event tagged with the run
    (the start of the process) that wrote it."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    _offset: int = 0
    _partial: bytes = b""

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return self.events
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # a line being written, or b""
        for line in lines:
            try:
                event = json.loads(line) if line.startswith(b"{") else None
            except ValueError:  # a line cut short by a kill, then continued by the next run
                event = None
            if isinstance(event, dict):
                self.events.append(event)
            elif line.strip():  # not the logger's: a traceback, a warning
                self.events.append({"event": "stderr", "line": line.decode(errors="replace")})
        return self.events

    def named(self, event: str, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.read()[since:] if e.get("event") == event]


class Daemon:
    """``monitor run`` as a subprocess, restartable, with one log across its runs."""

    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.config, self.env = config, env
        self.log = Log(log)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[int] = []  # index into log.events where each run began

    def start(self) -> Daemon:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts.append(len(self.log.read()))
        self.proc = spawn(self.config, self.env, self.log.path, "INFO")
        return self

    @property
    def run_start(self) -> int:
        return self.starts[-1]

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone (its lock released, its files still)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class Row:
    id: int
    state: str
    title: str
    claimed_at: float | None


class Outbox:
    """The daemon's outbox, read from its database (a connection per look, no
    transaction held, so the daemon never waits for the test)."""

    def __init__(self, database: Path) -> None:
        self.database = database

    def rows(self, where: str = "1", params: tuple[object, ...] = ()) -> list[Row]:
        if not self.database.exists():
            return []
        try:
            conn = sqlite3.connect(f"file:{self.database}?mode=rw", uri=True, timeout=5)
        except sqlite3.OperationalError:
            return []
        try:
            found = conn.execute(
                "SELECT id, state, json_extract(payload, '$.title'), claimed_at FROM alerts "
                f"WHERE kind = 'alert' AND {where} ORDER BY id",
                params,
            ).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            conn.close()
        return [Row(int(i), str(s), str(t), c) for i, s, t, c in found]

    def in_state(self, *states: str) -> list[Row]:
        return self.rows(f"state IN ({', '.join('?' * len(states))})", states)

    def claimed_since(self, since: float) -> list[Row]:
        """Alerts claimed for sending at ``since`` or later, not yet answered."""
        return self.rows("state = 'sending' AND claimed_at >= ?", (since,))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows():
            out[row.state] = out.get(row.state, 0) + 1
        return out
