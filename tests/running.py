"""`monitor run` as a subprocess, for end-to-end tests: start it, read its JSON log
events, stop it with a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def spawn(
    config: Path, env: dict[str, str], log: Path, level: str = "DEBUG"
) -> subprocess.Popen[bytes]:
    """`monitor run` as a user starts it, logging JSON lines to ``log`` (appended)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))}
    full.update(env)
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "--log-format",
                "json",
                "--log-level",
                level,
                "run",
                "--config",
                str(config),
            ],
            cwd=REPO,
            env=full,
            stdout=out,
            stderr=out,
        )


class Daemon:
    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.config, self.env, self.log = config, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        self.proc = spawn(self.config, self.env, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


def wait(predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")
