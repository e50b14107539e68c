"""Lock files beside the files they guard (``flock``): one monitor per database, one
writer at a time of the feeds file."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from .errors import ConfigError


def open_beside(path: Path, hint: str) -> IO[str]:
    """``path`` + ``.lock``, created with its folder; a clear ConfigError if it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path.with_name(path.name + ".lock"), "a+")
    except OSError as exc:
        raise ConfigError(
            f"cannot create a lock file beside {path.name}: {exc.strerror or exc}",
            file=str(path),
            hint=hint,
        ) from exc
