"""The two consoles every command shares: ``out`` (stdout) and ``err`` (stderr).

stderr carries log lines (``logs.py``) and progress bars (``progress.py``) through
one rich Console, so a log line printed while a bar is live appears above the bar
instead of running into it. When a stream is not a terminal (a pipe, a file) its
console has no width limit: `monitor status | grep …` gets whole lines, never
wrapped at 80 columns. Markup is off: nothing printed, least of all feed text, is
read as ``[bold]``-style markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleDimensions

UNWRAPPED = 1_000_000  # columns when not a terminal: lines as long as they are


class _Console(Console):
    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNWRAPPED, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def console(**options: Any) -> Console:
    return _Console(highlight=False, soft_wrap=True, emoji=False, markup=False, **options)


out = console()
err = console(stderr=True)
