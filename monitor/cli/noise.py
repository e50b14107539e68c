"""`monitor rules noise`: the alerts people marked "not relevant" in Slack, per rule.

``--json`` writes JSON Lines in the format `monitor rules test --input` reads
(``id``, ``title``, ``summary``, ``link``, ``source``, ``published``, plus ``rule``,
``terms``, ``who``, ``marked``), so a rule author can tighten a rule and watch the
noise stop matching, while the rule's own examples (`monitor rules check`) keep
the true alerts matching.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import click
from rich.table import Table

from ..alerts import NoiseItem
from ..durations import format_duration
from .common import DURATION, config_option, err, fail_clearly, out, styled


@click.command("noise")
@config_option
@click.option(
    "--since", type=DURATION, default="30d", show_default=True, help="How far back, e.g. 7d, 72h."
)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines for `rules test --input`.")
@fail_clearly
def noise(config_file: str | None, since: timedelta, as_json: bool) -> None:
    """Alerts marked "not relevant" in Slack, per rule."""
    from ..config import load_settings
    from ..store import Store

    settings = load_settings(config_file)
    with Store(settings.database) as store:
        items = store.noise.since(time.time() - since.total_seconds())
    if as_json:
        for item in items:
            sys.stdout.write(json.dumps(as_line(item), ensure_ascii=False) + "\n")
        err.print(f"{len(items)} items marked not relevant since {format_duration(since)} ago")
        return
    by_rule: dict[str, list[NoiseItem]] = defaultdict(list)
    for item in items:
        by_rule[item.rule_id].append(item)
    table = Table(
        title=f"not relevant, per rule, since {format_duration(since)} ago", title_justify="left"
    )
    table.add_column("rule")
    table.add_column("items", justify="right")
    for rule, group in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        table.add_row(rule, str(len(group)))
    out.print(table)
    for rule, group in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        out.print(styled((rule, "bold")))
        for item in group:
            out.print(
                styled(
                    f"  {item.title[:100]} ",
                    (f"({item.feed}; matched {', '.join(item.terms)}; by {item.user})", "dim"),
                )
            )


def as_line(item: NoiseItem) -> dict[str, object]:
    published = datetime.fromtimestamp(item.published, tz=UTC).isoformat() if item.published else ""
    return {
        "id": f"noise-{item.alert_id}",
        "title": item.title,
        "summary": item.summary,
        "link": item.link,
        "source": item.feed,
        "published": published,
        "rule": item.rule_id,
        "terms": list(item.terms),
        "who": item.user,
        "marked": datetime.fromtimestamp(item.at, tz=UTC).isoformat(),
    }
