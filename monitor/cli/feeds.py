"""`monitor feeds list | add | remove | import | export`: the feeds file, by command.

Only the feeds file (``feeds_file``) is ever written; a feed written by hand in
config/monitor.yaml is listed and exported but never changed here. The daemon
takes the feeds file live at its next tick.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from ..config import FeedConfig, Settings, load_settings
from ..errors import ConfigError, ParseError
from .common import config_option, did_you_mean, err, fail_clearly, out, styled

if TYPE_CHECKING:
    from ..models import Entry, ParsedFeed


@click.group()
def feeds() -> None:
    """List, add, remove, import and export feeds (OPML)."""


def _interval(value: str | None) -> str | None:
    if value is None or value.strip().lower() == "auto":
        return value
    from ..durations import parse_duration

    try:
        parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


@feeds.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@fail_clearly
def list_feeds(config_file: str | None, as_json: bool) -> None:
    """Every feed, where it is configured, its interval and folders."""
    settings = load_settings(config_file)
    for feed in settings.feeds:
        source = str(settings.feeds_file) if feed.name in settings.managed else "config"
        interval = feed.interval or settings.defaults.interval
        shown = interval if isinstance(interval, str) else _duration(interval.total_seconds())
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "name": feed.name,
                        "url": feed.url,
                        "interval": shown,
                        "enabled": feed.enabled,
                        "tags": feed.tags,
                        "source": source,
                    }
                )
            )
            continue
        line = styled((feed.name, "bold"), f"  {feed.url}  every {shown}")
        if not feed.enabled:
            line.append("  (disabled)", style="yellow")
        if feed.tags:
            line.append("  [" + ", ".join(feed.tags) + "]", style="dim")
        line.append(f"  ({source})", style="dim")
        out.print(line)


def _duration(seconds: float) -> str:
    from datetime import timedelta

    from ..feedlist import duration_text

    return duration_text(timedelta(seconds=seconds))


@feeds.command()
@config_option
@click.argument("url")
@click.option("--name", default=None, help="Name shown in alerts [default: the feed's title].")
@click.option(
    "--interval", default=None, callback=lambda c, p, v: _interval(v), help="5m, 1h or auto."
)
@click.option("--dry-run", is_flag=True, help="Fetch and show what would match; save nothing.")
@fail_clearly
def add(
    config_file: str | None, url: str, name: str | None, interval: str | None, dry_run: bool
) -> None:
    """Add a feed (or a web page announcing one): fetch it once, show how many entries
    it has and which rules would have matched, then save it to the feeds file."""
    from ..feedlist import editing

    settings = load_settings(config_file)
    feed_url, parsed = _fetch_feed(settings, url)
    name = name or parsed.title or feed_url
    for feed in settings.feeds:
        if feed.name == name:
            raise ConfigError(f"a feed named {name!r} exists already", hint="choose another --name")
        if feed.url == feed_url:
            raise ConfigError(f"{feed_url} is already configured as {feed.name!r}")
    new = FeedConfig(name=name, url=feed_url, interval=interval)
    _dry_run(settings, new, parsed.entries)
    if dry_run:
        err.print("dry run: nothing saved", markup=False)
        return
    with editing(settings) as managed:
        managed.append(new)
    err.print(
        styled(
            ("added", "green"),
            f" {name} to {settings.feeds_file}; a running daemon polls it within a minute",
        )
    )


def _fetch_feed(settings: Settings, url: str) -> tuple[str, ParsedFeed]:
    """The feed at ``url``, or the first one the page at ``url`` announces."""
    from ..app import make_fetcher
    from ..discover import feed_links
    from ..feeds.parse import parse_feed

    now = datetime.now(UTC)
    with make_fetcher(settings) as fetcher:
        result = fetcher.fetch(url)
        assert result.body is not None
        try:
            return url, parse_feed(
                result.body,
                feed_name="new",
                base_url=result.url,
                content_type=result.content_type,
                now=now,
            )
        except ParseError:
            links = feed_links(result.body, result.url)
            if not links:
                raise ParseError(
                    f'{url} is neither a feed nor a page announcing one (no <link rel="alternate">)'
                ) from None
        err.print(f"{url} is a web page; its feed: {links[0]}", markup=False)
        result = fetcher.fetch(links[0])
        assert result.body is not None
        return links[0], parse_feed(
            result.body,
            feed_name="new",
            base_url=result.url,
            content_type=result.content_type,
            now=now,
        )


def _dry_run(settings: Settings, feed: FeedConfig, entries: Sequence[Entry]) -> None:
    from ..rules import load_rules

    engine = load_rules(settings.rules).engine
    max_age = settings.max_age(feed).total_seconds()
    now = datetime.now(UTC).timestamp()
    hits = [(e, engine.match(e)) for e in entries]
    hits = [(e, m) for e, m in hits if m]
    recent = sum(1 for e, _ in hits if e.published and now - e.published.timestamp() <= max_age)
    err.print(
        styled(
            (f"{len(entries)} entries", "bold"),
            f" in {feed.url}; rules would have matched {len(hits)} "
            f"({recent} recent enough to alert now)",
        )
    )
    for entry, matches in hits[:20]:
        top = matches[0]
        err.print(
            styled("  ", (top.severity.label.upper(), "bold"), f" {top.rule_id}: ", entry.title)
        )
    if len(hits) > 20:
        err.print(f"  … and {len(hits) - 20} more", markup=False)


@feeds.command()
@config_option
@click.argument("name")
@fail_clearly
def remove(config_file: str | None, name: str) -> None:
    """Remove a feed from the feeds file (its history stays in the database)."""
    from ..feedlist import editing

    settings = load_settings(config_file)
    if name not in settings.managed:
        if any(f.name == name for f in settings.feeds):
            raise ConfigError(
                f"{name!r} is written in the configuration file, not in {settings.feeds_file}",
                hint="remove it there by hand; the monitor never rewrites that file",
            )
        err.print(
            f"no feed named {name!r}{did_you_mean(name, (f.name for f in settings.feeds))}",
            markup=False,
        )
        sys.exit(2)
    with editing(settings) as managed:
        managed[:] = [f for f in managed if f.name != name]
    err.print(styled(("removed", "green"), f" {name} from {settings.feeds_file}"))


@feeds.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@fail_clearly
def import_opml(config_file: str | None, file: str) -> None:
    """Add every feed of an OPML file; folders become tags. Feeds already configured
    (same URL) are skipped; entries that are no http(s) feed are kept, disabled."""
    from ..feedlist import editing
    from ..opml import read_opml, to_feeds

    settings = load_settings(config_file)
    outlines = read_opml(Path(file).read_bytes())
    known = {f.url for f in settings.feeds}
    fresh = [o for o in outlines if o.url not in known]
    with editing(settings) as managed:
        added = to_feeds(fresh, [f.name for f in settings.feeds])
        managed.extend(added)
    disabled = sum(1 for f in added if not f.enabled)
    err.print(
        styled(
            ("imported", "green"),
            f" {len(added)} feeds into {settings.feeds_file} ({len(outlines) - len(fresh)} "
            f"already configured, {disabled} kept disabled: not an http(s) feed)",
        )
    )


@feeds.command()
@config_option
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@fail_clearly
def export(config_file: str | None, file: str | None) -> None:
    """Every feed as OPML 2.0, to FILE or stdout; tags become folders."""
    from ..opml import write_opml

    data = write_opml(load_settings(config_file).feeds)
    if file:
        Path(file).write_bytes(data)
        err.print(Text(f"wrote {file}"))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
