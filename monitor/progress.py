"""Progress on the terminal for long work; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class PollProgress:
    def __init__(self, total: int, label: str = "polling feeds") -> None:
        self.enabled = sys.stderr.isatty() and total > 1
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> PollProgress:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()

    def advance(self, *_: Any) -> None:
        if self.enabled:
            self.progress.advance(self.task)
