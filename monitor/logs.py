"""Logging: one line per event with ids; readable on a terminal, JSON elsewhere."""

from __future__ import annotations

import logging
import sys


def configure(*, json: bool | None = None, level: str = "INFO") -> None:
    import structlog  # here: the commands that never log do not pay for it

    if json is None:
        json = not sys.stderr.isatty()
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors += [structlog.dev.ConsoleRenderer(colors=True, pad_event_to=20)]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # third-party libraries log through the stdlib; keep their noise at warnings
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for noisy in ("apscheduler", "httpx", "httpcore", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
