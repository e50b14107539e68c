"""The feeds file (``feeds_file``): the one file `monitor feeds` writes.

The user's config/monitor.yaml, with its comments, is never rewritten: feeds added
by `monitor feeds add` or `import` live here instead, and the daemon takes this file
live at each tick. Writes are atomic (a temporary file renamed over the old one) and
serialised by a lock file, so a daemon reading it never sees half a file and two
commands never lose each other's edit.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from .config import FeedConfig, Settings, load_feeds_file
from .errors import ConfigError
from .lockfile import open_beside

HEADER = """\
# Feeds managed by `monitor feeds add | remove | import`. Hand edits are fine too:
# the daemon takes this file live. Each feed takes the settings of a feed in
# config/monitor.yaml (README: "Configuration").
"""


@contextmanager
def editing(settings: Settings) -> Iterator[list[FeedConfig]]:
    """The feeds file's feeds, to change in place; saved when the block ends."""
    path = settings.feeds_file
    assert path is not None
    lock = open_beside(
        path, "set feeds_file (or MONITOR_FEEDS_FILE) to a file in a writable folder"
    )
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        feeds = load_feeds_file(path, settings.with_managed([]))
        yield feeds
        save(path, feeds)


def save(path: Path, feeds: list[FeedConfig]) -> None:
    text = HEADER + yaml.safe_dump(
        {"feeds": [_plain(f) for f in feeds]}, sort_keys=False, allow_unicode=True, width=100
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(
            f"cannot write the feeds file: {exc.strerror or exc}", file=str(path)
        ) from exc


def _plain(feed: FeedConfig) -> dict[str, Any]:
    """A feed as it would be written by hand: only what differs from the defaults,
    durations as ``90s``/``5m``/``2h``, name and url first."""
    data = feed.model_dump(exclude_defaults=True)
    for key, value in data.items():
        if isinstance(value, timedelta):
            data[key] = duration_text(value)
    return {"name": feed.name, "url": feed.url} | data


def duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)
