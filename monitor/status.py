"""`monitor status`: what the daemon is doing, read from the database only."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .config import Settings
from .durations import format_duration
from .store import Store


def collect(settings: Settings) -> dict[str, Any]:
    if not Path(settings.database).exists():
        return {
            "database": str(settings.database),
            "feeds": [],
            "alerts": {},
            "failed": [],
            "rules_error": None,
            "heartbeat_age": None,
        }
    now = time.time()
    with Store(settings.database) as store:
        configured = {f.name for f in settings.feeds if f.enabled}
        feeds = [
            {
                "name": s.name,
                "url": s.url,
                "configured": s.name in configured,
                "last_poll_ago": _ago(now, s.last_poll_at),
                "last_ok_ago": _ago(now, s.last_ok_at),
                "next_poll_in": s.next_poll_at - now,
                "errors": s.error_count,
                "last_error": s.last_error,
                "polls": s.polls,
            }
            for s in store.feed_states()
        ]
        beat = store.get_meta("heartbeat")
        return {
            "database": str(settings.database),
            "feeds": feeds,
            "alerts": store.alert_counts(),
            "failed": [
                {
                    "id": a["id"],
                    "state": a["state"],
                    "rule": a["rule_id"],
                    "channel": a["channel"],
                    "error": a["last_error"],
                    "title": a["payload"]["title"],
                }
                for a in store.failed_alerts()
            ],
            "rules_error": store.get_meta("rules_error"),
            "heartbeat_age": now - float(beat) if beat else None,
        }


def _ago(now: float, then: float | None) -> float | None:
    return None if then is None else now - then


def _fmt(seconds: float | None, suffix: str = " ago") -> str:
    if seconds is None:
        return "never"
    return format_duration(timedelta(seconds=seconds)) + suffix


def show(data: dict[str, Any], console: Console) -> None:
    beat = data["heartbeat_age"]
    console.print(
        f"[bold]database[/] {data['database']} · daemon last tick: "
        f"{_fmt(beat) if beat is not None else 'never (not running?)'}"
    )
    table = Table(title="feeds", title_justify="left")
    for col in ("feed", "last poll", "next poll", "errors", "last error"):
        table.add_column(col, overflow="fold")
    for f in data["feeds"]:
        nxt = f["next_poll_in"]
        table.add_row(
            f["name"] + ("" if f["configured"] else " (not in config)"),
            _fmt(f["last_poll_ago"]),
            "due now" if nxt <= 0 else "in " + _fmt(nxt, ""),
            str(f["errors"]) if f["errors"] else "",
            f"[red]{f['last_error']}[/]" if f["last_error"] else "",
        )
    console.print(table)
    alerts = data["alerts"]
    console.print(
        "[bold]alerts[/] "
        + " · ".join(
            f"{state} {alerts.get(state, 0)}"
            for state in ("sent", "pending", "sending", "failed", "digest")
        )
    )
    for a in data["failed"]:
        console.print(
            f"  [red]{a['state']}[/] #{a['id']} {a['rule']} → {a['channel']}: "
            f"{a['error']} · {a['title'][:80]}",
            markup=True,
        )
    if data["rules_error"]:
        console.print("[bold red]rule edit rejected[/] (the last good rules stay active):")
        console.print(data["rules_error"], markup=False)
