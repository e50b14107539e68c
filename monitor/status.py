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
            "mutes": [],
            "problems": [],
            "stories": [],
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
        from . import mutes
        from .ops import Ops

        return {
            "mutes": [
                {"kind": m.kind, "value": m.value, "until": m.until, "reason": m.reason}
                for m in mutes.active(store, now)
            ],
            "problems": [
                {"key": k, "since_ago": now - since, "detail": d}
                for k, since, d in Ops(store, settings).firing()
            ],
            "stories": [
                dict(
                    zip(
                        ("id", "title", "items", "outlets", "last_ago"),
                        (r[0], r[1], r[2], r[3], now - r[4]),
                        strict=True,
                    )
                )
                for r in store.conn.execute(
                    "SELECT id, title, items, outlets, last_at FROM stories WHERE items > 1 "
                    "AND last_at > ? ORDER BY last_at DESC LIMIT 10",
                    (now - 72 * 3600,),
                )
            ],
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
    for story in data["stories"]:
        console.print(
            f"[bold]story[/] #{story['id']} reported {story['items']} times: {story['title'][:80]}",
            markup=False,
        )
    for mute in data["mutes"]:
        until = (
            "forever" if mute["until"] is None else "for " + _fmt(mute["until"] - time.time(), "")
        )
        console.print(
            f"[yellow]muted[/] {mute['kind']} {mute['value']} {until}"
            + (f" ({mute['reason']})" if mute["reason"] else ""),
            markup=True,
        )
    for problem in data["problems"]:
        console.print(
            f"[red]problem[/] {problem['key']} since {_fmt(problem['since_ago'])}: "
            f"{problem['detail']}",
            markup=True,
        )
    if data["rules_error"]:
        console.print("[bold red]rule edit rejected[/] (the last good rules stay active):")
        console.print(data["rules_error"], markup=False)
