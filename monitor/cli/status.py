"""`monitor status` (what the daemon is doing, from the database only) and
`monitor health` (for Docker's HEALTHCHECK)."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ..config import Settings, load_settings
from ..durations import format_duration
from .common import config_option, err, fail_clearly, out, styled

STORIES_SHOWN_FOR = 72 * 3600.0


def collect(settings: Settings) -> dict[str, Any]:
    from ..store import Store

    empty: dict[str, Any] = {
        "database": str(settings.database),
        "feeds": [],
        "alerts": {},
        "failed": [],
        "rules_error": None,
        "feeds_error": None,
        "heartbeat_age": None,
        "mutes": [],
        "problems": [],
        "stories": [],
        "next_retry_in": None,
    }
    if not Path(settings.database).exists():
        return empty
    now = time.time()
    configured = {f.name for f in settings.feeds if f.enabled}
    with Store(settings.database) as store:
        beat = store.meta.get("heartbeat")
        retry = store.outbox.next_attempt()
        return {
            **empty,
            "feeds": [
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
                    "interval": s.poll_interval,
                    "interval_why": s.interval_why,
                }
                for s in store.feeds.states()
            ],
            "alerts": store.outbox.counts(),
            "failed": [
                {
                    "id": a.id,
                    "state": a.state.value,
                    "rule": a.rule_id,
                    "channel": a.channel,
                    "error": a.last_error,
                    "title": a.title,
                    "story": a.story_id,
                }
                for a in store.outbox.problems()
            ],
            "mutes": [
                {"kind": m.kind, "value": m.value, "until": m.until, "reason": m.reason}
                for m in store.mutes.active(now)
            ],
            "problems": [
                {"key": k, "since_ago": now - since, "detail": d}
                for k, since, d in store.ops.firing()
            ],
            "stories": [
                {
                    "id": s.id,
                    "title": s.title,
                    "items": s.items,
                    "outlets": list(s.outlets),
                    "last_ago": now - s.last_at,
                }
                for s in store.stories.recent(now - STORIES_SHOWN_FOR)
            ],
            "rules_error": store.meta.get("rules_error"),
            "feeds_error": store.meta.get("feeds_error"),
            "heartbeat_age": now - float(beat) if beat else None,
            "next_retry_in": max(0.0, retry - now) if retry is not None else None,
        }


def _ago(now: float, then: float | None) -> float | None:
    return None if then is None else now - then


def _fmt(seconds: float | None, suffix: str = " ago") -> str:
    if seconds is None:
        return "never"
    return format_duration(timedelta(seconds=seconds)) + suffix


def show(data: dict[str, Any]) -> None:
    """Everything from the database is untrusted text: printed as Text, never markup."""
    from rich.table import Table  # here: `monitor health` never draws one

    beat = data["heartbeat_age"]
    tick = _fmt(beat) if beat is not None else "never (not running?)"
    out.print(styled(("database", "bold"), f" {data['database']} · daemon last tick: {tick}"))
    table = Table(title="feeds", title_justify="left", expand=False)
    for col in ("feed", "last poll", "next poll", "errors", "last error"):
        table.add_column(col, overflow="fold")
    for f in data["feeds"]:
        nxt = f["next_poll_in"]
        table.add_row(
            Text(f["name"] + ("" if f["configured"] else " (not in config)")),
            _fmt(f["last_poll_ago"]),
            "due now" if nxt <= 0 else "in " + _fmt(nxt, ""),
            str(f["errors"]) if f["errors"] else "",
            Text(f["last_error"] or "", style="red"),
        )
    out.print(table)
    alerts = data["alerts"]
    states = ("sent", "pending", "sending", "failed", "digest", "muted")
    out.print(
        styled(("alerts", "bold"), " " + " · ".join(f"{s} {alerts.get(s, 0)}" for s in states))
    )
    if alerts.get("pending") and data["next_retry_in"] is not None:
        out.print(f"  next delivery attempt in {_fmt(data['next_retry_in'], '')}", markup=False)
    for a in data["failed"]:
        out.print(
            styled(
                "  ",
                (a["state"], "red"),
                f" #{a['id']} {a['rule']} → {a['channel']}: {a['error']} · {a['title'][:80]}",
            )
        )
    for story in data["stories"]:
        out.print(
            styled(
                ("story", "bold"),
                f" {story['id']} reported {story['items']} times: {story['title'][:80]}",
            )
        )
    for mute in data["mutes"]:
        until = (
            "forever" if mute["until"] is None else "for " + _fmt(mute["until"] - time.time(), "")
        )
        reason = f" ({mute['reason']})" if mute["reason"] else ""
        out.print(styled(("muted", "yellow"), f" {mute['kind']} {mute['value']} {until}{reason}"))
    for problem in data["problems"]:
        out.print(
            styled(
                ("problem", "red"),
                f" {problem['key']} since {_fmt(problem['since_ago'])}: {problem['detail']}",
            )
        )
    if data.get("feeds_error"):
        out.print(styled(("feeds file edit rejected", "bold red"), " (the last good feeds stay):"))
        out.print(data["feeds_error"], markup=False)
    if data["rules_error"]:
        out.print(styled(("rule edit rejected", "bold red"), " (the last good rules stay active):"))
        out.print(data["rules_error"], markup=False)


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fail_clearly
def status(config_file: str | None, as_json: bool) -> None:
    """Each feed's last poll, error and next poll; pending and failed alerts."""
    data = collect(load_settings(config_file))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        show(data)


@click.command()
@config_option
@click.option(
    "--max-age",
    type=float,
    default=None,
    help="Seconds since the last tick [default: health.max_tick_age].",
)
@click.option("--json", "as_json", is_flag=True, help="The /healthz body on stdout.")
@fail_clearly
def health(config_file: str | None, max_age: float | None, as_json: bool) -> None:
    """Exit 0 when the daemon is healthy: ticking, database writable, outbox not stuck
    (the same check as /healthz; for Docker's HEALTHCHECK)."""
    from ..health import check

    result = check(load_settings(config_file), max_tick_age=max_age)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    elif result.ok:
        age = result.facts.get("last_tick_age")
        click.echo(f"healthy: last tick {age:.0f}s ago" if age is not None else "healthy")
    else:
        for reason in result.reasons:
            err.print(f"unhealthy: {reason}", markup=False)
    sys.exit(0 if result.ok else 1)
