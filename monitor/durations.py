"""Human durations (``90s``, ``5m``, ``72h``, ``1h30m``, ``30d``) for config and CLI flags."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(value: object) -> timedelta:
    """Accept a timedelta, a number of seconds, or a string such as ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5m, 72h or 30d")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = str(value).strip().lower().replace(" ", "")
    if text.isdigit():
        return timedelta(seconds=int(text))
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 5m, 72h or 30d")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Short form for the terminal: ``4m``, ``2h05m``, ``3d``."""
    secs = int(abs(delta.total_seconds()))
    sign = "-" if delta.total_seconds() < 0 else ""
    if secs < 120:
        return f"{sign}{secs}s"
    if secs < 3600:
        return f"{sign}{secs // 60}m"
    if secs < 86400:
        h, m = divmod(secs // 60, 60)
        return f"{sign}{h}h{m:02d}m" if m else f"{sign}{h}h"
    return f"{sign}{secs // 86400}d"
