"""`monitor rules …`: tools for people who write rule files."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from ..durations import format_duration
from ..errors import RuleError
from ..models import Entry, Match
from ..rules import Engine
from .common import (
    DURATION,
    config_option,
    did_you_mean,
    err,
    fail_clearly,
    out,
    rules_folder,
    rules_option,
    styled,
)


@click.group()
def rules() -> None:
    """Check, try out and backtest rule files."""


@rules.command()
@rules_option
@config_option
def check(rules_dir: str | None, config_file: str | None) -> None:
    """Validate every rule file and run the examples inside the rules."""
    from ..rules import load_rules

    folder = rules_folder(rules_dir, config_file)
    try:
        ruleset = load_rules(folder)
    except RuleError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        errors = sum(p.level == "error" for p in exc.problems)
        err.print(styled((f"{errors} error{'s' * (errors != 1)}", "red"), f" in {folder}"))
        sys.exit(1)
    for problem in ruleset.problems:
        click.echo(str(problem))
    examples = sum(len(r.tests.match) + len(r.tests.no_match) for r in ruleset.rules)
    err.print(
        styled(
            ("ok", "green"),
            f": {len(ruleset.rules)} rules, {len(ruleset.lists)} lists, "
            f"{examples} examples pass, {len(ruleset.problems)} warnings ({folder})",
        )
    )


@rules.command()
@rules_option
@config_option
@click.option("--input", "input_file", help="Feed file or URL, or a JSON Lines file of items.")
@click.option("--text", help="A title (and text) to try.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per item on stdout.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show which branch of each condition matched and, for every rule that did not "
    "fire, the branch that failed or the exception that suppressed the item, with file:line.",
)
@click.option("--rule", "only_rule", help="With --explain: only this rule.")
@click.option("--all", "show_all", is_flag=True, help="Also list items that match nothing.")
@fail_clearly
def test(
    rules_dir: str | None,
    config_file: str | None,
    input_file: str | None,
    text: str | None,
    as_json: bool,
    explain: bool,
    only_rule: str | None,
    show_all: bool,
) -> None:
    """Run the rules over items, without touching the database or Slack."""
    from ..feeds.items import Item, load_items
    from ..rules import load_rules

    if bool(input_file) == bool(text):
        raise click.UsageError("give exactly one of --input FILE or --text TEXT")
    engine = load_rules(rules_folder(rules_dir, config_file), run_examples=False).engine
    if text is not None:
        items = [Item("text", Entry(feed="text", key="text", url_key="", link="", title=text))]
    else:
        items = list(load_items(input_file or ""))
    started = time.monotonic()
    matched = 0
    if only_rule is not None and only_rule not in {r.id for r in engine.rules}:
        ids = [r.id for r in engine.rules]
        raise click.BadParameter(f"no rule {only_rule!r}{did_you_mean(only_rule, ids)}")
    for item in items:
        matches = engine.match(item.entry, explain=explain)
        matched += bool(matches)
        why_not = _why_not(engine, item.entry, only_rule) if explain else {}
        if only_rule is not None:
            matches = [m for m in matches if m.rule_id == only_rule]
        if as_json:
            record: dict[str, object] = {
                "id": item.id,
                "matches": [
                    {"rule": m.rule_id, "severity": m.severity.label, "terms": m.terms}
                    for m in matches
                ],
            }
            if explain:
                record["why_not"] = why_not
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif matches or show_all or (explain and why_not):
            _show(item.entry, matches, explain, why_not)
    err.print(f"{matched} of {len(items)} items matched ({time.monotonic() - started:.2f}s)")


def _why_not(engine: Engine, entry: Entry, only: str | None) -> dict[str, list[str]]:
    """For each rule that did not fire: the branch that failed, or the exception."""
    return {
        t.rule_id: t.why_not()
        for t in engine.explain(entry)
        if not t.matched and (only is None or t.rule_id == only)
    }


def _show(entry: Entry, matches: list[Match], explain: bool, why_not: dict[str, list[str]]) -> None:
    title = Text(entry.title, style="bold")
    for m in matches:
        for hit in m.hits:
            if hit.field == "title":
                title.stylize("black on yellow", hit.start, hit.end)
    out.print(title)
    if not matches:
        out.print(styled("  ", ("no rule matched", "dim")))
    for m in matches:
        where = sorted({h.field for h in m.hits})
        out.print(
            styled(
                "  ",
                (f"{m.severity.label:8}", "bold"),
                f" {m.rule_id}  ",
                (", ".join(m.terms), "green"),
                " ",
                (f"in {', '.join(where)}", "dim"),
            )
        )
        if explain:
            for line in m.explain:
                out.print(styled(f"      {line}"))
    for lines in why_not.values():
        out.print(styled("  ", (lines[0], "yellow")))
        for line in lines[1:]:
            out.print(styled(f"    {line}"))
    out.print()


@rules.command()
@rules_option
@config_option
@click.option(
    "--since", type=DURATION, default="30d", show_default=True, help="How far back, e.g. 7d, 72h."
)
@click.option("--items/--no-items", default=True, help="List the matching items too.")
@fail_clearly
def backtest(rules_dir: str | None, config_file: str | None, since: timedelta, items: bool) -> None:
    """What the current rules would have alerted on over stored entries."""
    from ..config import load_settings
    from ..rules import load_rules
    from ..store import Store

    settings = load_settings(config_file)
    folder = Path(rules_dir) if rules_dir else settings.rules
    engine = load_rules(folder).engine
    cutoff = time.time() - since.total_seconds()
    counts: dict[str, int] = {}
    severities: dict[str, str] = {}
    hits: list[tuple[Entry, Match]] = []
    total = 0
    with Store(settings.database) as store:
        for _, entry in store.entries.since(cutoff):
            total += 1
            matches = engine.match(entry)
            if matches:
                top = matches[0]
                counts[top.rule_id] = counts.get(top.rule_id, 0) + 1
                severities[top.rule_id] = top.severity.label
                hits.append((entry, top))
    table = Table(
        title=f"backtest over {total} entries since {format_duration(since)} ago",
        title_justify="left",
    )
    table.add_column("rule")
    table.add_column("severity")
    table.add_column("items", justify="right")
    for rule_id, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(rule_id, severities[rule_id], str(n))
    out.print(table)
    if items:
        for entry, match in hits:
            out.print(
                styled(
                    f"  {match.severity.label:8} {match.rule_id:24} {entry.title[:100]} ",
                    (f"({entry.feed})", "dim"),
                )
            )


@rules.command()
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file.")
def schema(output: str | None) -> None:
    """JSON Schema of rule files, for editors (also committed as rules/schema.json)."""
    from ..rules.jsonschema import rule_file_schema

    text = json.dumps(rule_file_schema(), indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)
