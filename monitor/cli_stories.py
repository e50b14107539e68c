"""`monitor stories …` and `monitor mute/unmute/mutes`."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape

from .cli_common import config_option, fail_clearly
from .durations import format_duration, parse_duration

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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
@click.option("--window", default="72h", show_default=True, help="Reports this close can join.")
@fail_clearly
def stories_test(input_file: str, as_json: bool, window: str) -> None:
    """Group items offline, with the daemon's code; no database, no Slack."""
    from .items import load_items
    from .stories import THRESHOLD, group

    items = list(load_items(input_file))
    now = time.time()
    keyed = [
        (it.id, it.entry, it.entry.published.timestamp() if it.entry.published else now)
        for it in items
    ]
    decisions = group(keyed, window=parse_duration(window).total_seconds(), threshold=THRESHOLD)
    if as_json:
        for item in items:
            d = decisions[item.id]
            sys.stdout.write(
                json.dumps(
                    {"id": item.id, "story": d.story, "score": d.score, "shared": list(d.shared)},
                    ensure_ascii=False,
                )
                + "\n"
            )
        return
    titles = {it.id: it.entry for it in items}
    groups: dict[str, list[str]] = {}
    for key, decision in decisions.items():
        groups.setdefault(decision.story, []).append(key)
    multi = [keys for keys in groups.values() if len(keys) > 1]
    for keys in multi:
        first = titles[keys[0]]
        out.print(f"[bold]{escape(first.title)}[/] [dim]({escape(first.feed)})[/]")
        for key in keys[1:]:
            d = decisions[key]
            out.print(
                f"  ↳ {escape(titles[key].title)} [dim]({escape(titles[key].feed)}; "
                f"score {d.score:.2f}; shared {escape(', '.join(d.shared[:5]))})[/]"
            )
        out.print()
    err.print(f"{len(items)} items, {len(groups)} stories, {len(multi)} with more than one report")


def _store(config_file: str | None):  # type: ignore[no-untyped-def]
    from .config import load_settings
    from .store import Store

    return Store(load_settings(config_file).database)


@click.command()
@click.argument("kind", type=click.Choice(["story", "rule", "feed"]))
@click.argument("value")
@click.option("--for", "duration", default=None, help="How long, e.g. 24h or 7d [forever].")
@click.option("--reason", default="", help="Why, shown by `monitor mutes`.")
@config_option
@fail_clearly
def mute(kind: str, value: str, duration: str | None, reason: str, config_file: str | None) -> None:
    """Stop posting a story (by id), a rule (by id) or a feed (by name) for a while."""
    from . import mutes

    until = time.time() + parse_duration(duration).total_seconds() if duration else None
    with _store(config_file) as store:
        mutes.add(store, kind, value, until=until, reason=reason)
    how_long = f"for {duration}" if duration else "until `monitor unmute`"
    click.echo(f"muted {kind} {value} {how_long}")


@click.command()
@click.argument("kind", type=click.Choice(["story", "rule", "feed"]))
@click.argument("value")
@config_option
@fail_clearly
def unmute(kind: str, value: str, config_file: str | None) -> None:
    """Undo a mute."""
    from . import mutes

    with _store(config_file) as store:
        removed = mutes.remove(store, kind, value)
    if not removed:
        click.echo(f"{kind} {value} was not muted", err=True)
        sys.exit(1)
    click.echo(f"unmuted {kind} {value}")


@click.command("mutes")
@config_option
@fail_clearly
def list_mutes(config_file: str | None) -> None:
    """The mutes in force."""
    from . import mutes

    with _store(config_file) as store:
        found = mutes.active(store)
    if not found:
        click.echo("no mutes")
    now = time.time()
    for m in found:
        left = (
            "forever"
            if m.until is None
            else "for "
            + format_duration(
                datetime.fromtimestamp(m.until, UTC) - datetime.fromtimestamp(now, UTC)
            )
        )
        click.echo(f"{m.kind} {m.value} {left}" + (f" ({m.reason})" if m.reason else ""))
