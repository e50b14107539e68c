"""`monitor stories …`: which reports are the same event."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import click

from .common import DURATION, config_option, err, fail_clearly, out, rules_folder, styled


@click.group()
def stories() -> None:
    """Story grouping: which reports are the same event."""


@stories.command("test")
@click.option(
    "--input",
    "input_file",
    required=True,
    help="Feed file or URL, or JSON Lines of {id, source, title, summary, link, published}.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per item on stdout.")
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Rules folder, for its aliases/ [default: from the config, else rules/].",
)
@config_option
@click.option(
    "--window", type=DURATION, default="72h", show_default=True, help="Reports this close can join."
)
@fail_clearly
def stories_test(
    input_file: str,
    as_json: bool,
    rules_dir: str | None,
    config_file: str | None,
    window: timedelta,
) -> None:
    """Group items offline, with the daemon's code; no database, no Slack."""
    from ..feeds.items import load_items
    from ..stories import THRESHOLD, Report, group_offline, load_aliases

    items = list(load_items(input_file))
    now = time.time()
    reports = [
        Report(it.id, it.entry, it.entry.published.timestamp() if it.entry.published else now)
        for it in items
    ]
    decisions = group_offline(
        reports,
        window=window.total_seconds(),
        threshold=THRESHOLD,
        aliases=load_aliases(rules_folder(rules_dir, config_file)),
    )
    if as_json:
        for item in items:
            d = decisions[item.id]
            record = {"id": item.id, "story": d.story, "score": d.score, "shared": list(d.shared)}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    titles = {it.id: it.entry for it in items}
    groups: dict[str, list[str]] = {}
    for key, decision in decisions.items():
        groups.setdefault(decision.story, []).append(key)
    multi = [keys for keys in groups.values() if len(keys) > 1]
    for keys in multi:
        first = titles[keys[0]]
        out.print(styled((first.title, "bold"), " ", (f"({first.feed})", "dim")))
        for key in keys[1:]:
            d, e = decisions[key], titles[key]
            why = f"({e.feed}; score {d.score:.2f}; shared {', '.join(d.shared[:5])})"
            out.print(styled(f"  ↳ {e.title} ", (why, "dim")))
        out.print()
    err.print(
        f"{len(items)} items, {len(groups)} stories, {len(multi)} with more than one report",
        markup=False,
    )
