"""`monitor rules stats`: per rule, over what the database holds, how often it matched,
alerted, was muted or marked as noise, and which rules never fired: so a team can
prune or tighten a pack."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import click
from rich.table import Table

from ..config import load_settings
from ..durations import format_duration
from .common import (
    DURATION,
    config_option,
    fail_clearly,
    out,
    rules_folder,
    rules_option,
    styled,
)

ALERTED = ("sent", "pending", "sending", "digest", "summarized", "failed")


@click.command("stats")
@rules_option
@config_option
@click.option("--since", type=DURATION, default="30d", show_default=True, help="e.g. 7d, 72h.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule on stdout.")
@fail_clearly
def stats(rules_dir: str | None, config_file: str | None, since: timedelta, as_json: bool) -> None:
    """Per rule: items matched (the current rules over stored entries), alerts, muted,
    marked as noise in Slack; and the rules that never fired."""
    from ..rules import load_rules
    from ..store import Store

    settings = load_settings(config_file)
    engine = load_rules(rules_folder(rules_dir, config_file), run_examples=False).engine
    cutoff = time.time() - since.total_seconds()
    matched: dict[str, int] = {r.id: 0 for r in engine.rules}
    with Store(settings.database) as store:
        items = 0
        for _, entry in store.entries.since(cutoff):
            items += 1
            for m in engine.match(entry):
                matched[m.rule_id] = matched.get(m.rule_id, 0) + 1
        alerts = store.outbox.by_rule(cutoff)
        noise: dict[str, int] = {}
        for n in store.noise.since(cutoff):
            noise[n.rule_id] = noise.get(n.rule_id, 0) + 1
    rows = []
    for rule in sorted(set(matched) | set(alerts) | set(noise)):
        states = alerts.get(rule, {})
        rows.append(
            {
                "rule": rule,
                "matched": matched.get(rule, 0),
                "alerted": sum(states.get(s, 0) for s in ALERTED),
                "muted": states.get("muted", 0),
                "noise": noise.get(rule, 0),
                "in_rules": rule in {r.id for r in engine.rules},
            }
        )
    rows.sort(key=lambda r: (-int(r["matched"]), str(r["rule"])))  # type: ignore[call-overload]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    table = Table(
        title=f"{items} entries stored in the last {format_duration(since)}", title_justify="left"
    )
    for column in ("rule", "matched", "alerted", "muted", "noise"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for row in rows:
        name = str(row["rule"]) + ("" if row["in_rules"] else " (no longer in the rules)")
        table.add_row(name, *(str(row[c]) for c in ("matched", "alerted", "muted", "noise")))
    out.print(table)
    never = [
        str(r["rule"]) for r in rows if r["in_rules"] and not r["matched"] and not r["alerted"]
    ]
    if never:
        out.print(styled(("never fired: ", "yellow"), ", ".join(never)))
