"""`monitor stories …`: which reports are the same event."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import click

from .common import (
    DURATION,
    config_option,
    err,
    fail_clearly,
    out,
    rules_folder,
    rules_option,
    styled,
)


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
@rules_option
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


def _story(store, story_id: int):  # type: ignore[no-untyped-def]
    story = store.stories.get(story_id)
    if story is None:
        raise click.BadParameter(
            f"no story {story_id}: use the number an alert's context line or `monitor status` "
            'shows ("story 12")'
        )
    return story


@stories.command("show")
@click.argument("story_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@config_option
@fail_clearly
def stories_show(story_id: int, as_json: bool, config_file: str | None) -> None:
    """A story's reports: outlets, state, and why each joined (score, shared names)."""
    from ..config import load_settings
    from ..store import Store

    with Store(load_settings(config_file).database) as store:
        story = _story(store, story_id)
        reports = [a for a in store.outbox.of_story(story_id) if a.kind.value == "alert"]
    rows: list[dict[str, object]] = [
        {
            "item": a.id,
            "outlet": a.feed,
            "title": a.title,
            "state": a.state.value,
            "role": a.role.value,
            "score": a.payload.grouping.score if a.payload.grouping else None,
            "shared": list(a.payload.grouping.shared) if a.payload.grouping else [],
            "link": a.payload.link,
        }
        for a in reports
    ]
    if as_json:
        data = {
            "id": story.id,
            "title": story.title,
            "outlets": list(story.outlets),
            "reports": rows,
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    out.print(styled((f"story {story.id}", "bold"), f": {story.title}"))
    out.print(
        styled(
            f"  {story.items} reports by {len(story.outlets)} outlets: " + ", ".join(story.outlets)
        )
    )
    for a in reports:
        g = a.payload.grouping
        why = f"score {g.score:.2f}; shared {', '.join(g.shared)}" if g else a.role.value
        out.print(
            styled(
                f"  #{a.id} ",
                (a.feed, "bold"),
                f" · {a.title} ",
                (f"({a.state.value}; {why})", "dim"),
            )
        )


@stories.command("split")
@click.argument("story_id", type=int)
@click.argument("item", type=int)
@config_option
@fail_clearly
def stories_split(story_id: int, item: int, config_file: str | None) -> None:
    """Take report ITEM (its #number in `stories show`) out of a story: it becomes a
    story of its own and is posted as its own alert; the story's count is edited."""
    import time

    from ..config import load_settings
    from ..store import Store

    with Store(load_settings(config_file).database) as store:
        _story(store, story_id)
        alert = store.outbox.get(item)
        if alert is None or alert.story_id != story_id:
            raise click.BadParameter(f"story {story_id} has no report #{item} (see `stories show`)")
        root = store.outbox.story_root(story_id)
        if root is not None and root.id == item:
            raise click.BadParameter(
                f"#{item} is the story's first message; split the other reports out instead"
            )
        new_id = store.split_story(story_id, item, time.time())
    out.print(
        f"report #{item} is now story {new_id}; it will be posted as its own alert", markup=False
    )


@stories.command("merge")
@click.argument("into", type=int)
@click.argument("other", type=int)
@config_option
@fail_clearly
def stories_merge(into: int, other: int, config_file: str | None) -> None:
    """Move every report of story OTHER into story INTO: they are replied in INTO's
    thread, and INTO's first message is edited to count them."""
    import time

    from ..config import load_settings
    from ..store import Store

    if into == other:
        raise click.BadParameter("a story cannot be merged into itself")
    with Store(load_settings(config_file).database) as store:
        _story(store, into)
        _story(store, other)
        moved = store.merge_stories(into, other, time.time())
    out.print(f"moved {moved} reports of story {other} into story {into}", markup=False)
