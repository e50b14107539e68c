"""`monitor mute`, `unmute` and `mutes`: silence a story, a rule or a feed for a while.

Names are checked before anything is written: a rule or feed that does not
exist, or a story id no alert showed, is a usage error (exit 2) with a hint.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import click

from ..config import Settings, load_settings
from ..durations import format_duration
from ..store import Store
from .common import DURATION, config_option, did_you_mean, fail_clearly, out, styled

KIND = click.Choice(["story", "rule", "feed"])


def check_target(settings: Settings, store: Store, kind: str, value: str) -> None:
    """Raise a usage error unless ``value`` names a rule, a feed or a story that exists."""
    if kind == "feed":
        names = [f.name for f in settings.feeds]
        if value not in names:
            raise click.BadParameter(f"no feed named {value!r}{did_you_mean(value, names)}")
    elif kind == "rule":
        from ..rules import load_rules

        ids = [r.id for r in load_rules(settings.rules, run_examples=False).rules]
        if value not in ids:
            raise click.BadParameter(f"no rule with id {value!r}{did_you_mean(value, ids)}")
    elif not value.isdigit() or store.stories.get(int(value)) is None:
        raise click.BadParameter(
            f"no story {value!r}: use the number an alert's context line or "
            '`monitor status` shows ("story 12")'
        )


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@click.option("--for", "duration", type=DURATION, default=None, help="e.g. 24h or 7d [forever].")
@click.option("--reason", default="", help="Why, shown by `monitor mutes`.")
@config_option
@fail_clearly
def mute(
    kind: str, value: str, duration: timedelta | None, reason: str, config_file: str | None
) -> None:
    """Stop posting a story (by id), a rule (by id) or a feed (by name) for a while."""
    settings = load_settings(config_file)
    now = time.time()
    with Store(settings.database) as store:
        check_target(settings, store, kind, value)
        until = now + duration.total_seconds() if duration else None
        store.mutes.add(kind, value, until=until, reason=reason, now=now)
    how_long = f"for {format_duration(duration)}" if duration else "until `monitor unmute`"
    out.print(f"muted {kind} {value} {how_long}", markup=False)


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@config_option
@fail_clearly
def unmute(kind: str, value: str, config_file: str | None) -> None:
    """Undo a mute."""
    with Store(load_settings(config_file).database) as store:
        removed = store.mutes.remove(kind, value)
    if not removed:
        out.print(f"{kind} {value} was not muted", markup=False)
        sys.exit(1)
    out.print(f"unmuted {kind} {value}", markup=False)


@click.command("mutes")
@config_option
@fail_clearly
def list_mutes(config_file: str | None) -> None:
    """The mutes in force."""
    now = time.time()
    with Store(load_settings(config_file).database) as store:
        found = store.mutes.active(now)
    if not found:
        out.print("no mutes")
    for m in found:
        left = (
            "forever"
            if m.until is None
            else "for " + format_duration(timedelta(seconds=m.until - now))
        )
        out.print(styled(f"{m.kind} {m.value} {left}" + (f" ({m.reason})" if m.reason else "")))
