"""Progress on the terminal for long work; silent when stderr is not a terminal.

The bar is drawn on the shared stderr console (``terminal.py``), the one log lines
go through, so a log line appears above the bar, never inside it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import terminal


class PollProgress:
    def __init__(
        self, total: int, label: str = "polling feeds", console: Console | None = None
    ) -> None:
        console = console or terminal.err
        self.enabled = console.is_terminal and total > 1
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
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
