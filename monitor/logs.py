"""Logging: one line per event with ids; readable on a terminal, JSON elsewhere.

Lines go through the shared stderr console (``terminal.py``), so they never run
into a live progress bar, and are printed as text, never as markup.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import structlog
from rich.console import Console
from rich.text import Text

from . import terminal


class ConsoleLogger:
    """structlog's PrintLogger, printing through a rich Console."""

    _lock = threading.Lock()  # log lines come from several threads; one line at a time

    def __init__(self, console: Console) -> None:
        self.console = console

    def msg(self, message: str) -> None:
        if not self.console.is_terminal:  # a file or a pipe (JSON lines): no bar to avoid
            with self._lock:
                self.console.file.write(message + "\n")
                self.console.file.flush()
            return
        text = Text.from_ansi(message) if "\x1b[" in message else Text(message)
        self.console.print(text, soft_wrap=True, crop=False)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def configure(
    *, json: bool | None = None, level: str = "INFO", console: Console | None = None
) -> None:
    console = console or terminal.err
    if json is None:
        json = not console.is_terminal
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=console.is_terminal, pad_event_to=20)]

    def factory(*args: Any) -> ConsoleLogger:
        return ConsoleLogger(console)

    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    # third-party libraries log through the stdlib; keep their noise at warnings
    logging.basicConfig(level=logging.WARNING, stream=console.file)
    for noisy in ("apscheduler", "httpx", "httpcore", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
