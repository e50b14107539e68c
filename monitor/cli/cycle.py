"""`monitor once` and `monitor run`: the main job."""

from __future__ import annotations

import time
from datetime import datetime

import click

from ..config import load_settings
from .common import config_option, err, fail_clearly, styled


@click.command()
@config_option
@fail_clearly
def once(config_file: str | None) -> None:
    """Poll every feed once, match, store, deliver what is pending, exit."""
    from ..app import Monitor, deliver, instance_lock
    from ..progress import PollProgress

    settings = load_settings(config_file)
    started, cpu = time.monotonic(), time.process_time()
    with instance_lock(settings.database):
        monitor = Monitor.open(settings)
        try:
            with PollProgress(len(monitor.feeds())) as progress:
                report = monitor.poll(due_only=False, progress=progress.advance)
            delivered = deliver(monitor, monitor.delivery(), once=True)
            counts = monitor.store.outbox.counts()
            retry_at = monitor.store.outbox.next_attempt()
        finally:
            monitor.close()
    unchanged = report.count("not_modified") + report.count("unchanged")
    new = sum(o.new_entries for o in report.outcomes)
    pending = counts.get("pending", 0)
    err.print(
        styled(
            (f"{len(report.outcomes)} feeds", "bold"),
            f" polled ({unchanged} unchanged, {len(report.errors)} failed) · {new} new entries"
            f" · {report.alerts} new alerts · sent {delivered.sent}, pending {pending}, "
            f"failed {counts.get('failed', 0)}, held for digest {counts.get('digest', 0)} · "
            f"{time.monotonic() - started:.2f}s wall, {time.process_time() - cpu:.2f}s CPU",
        )
    )
    for outcome in report.errors:
        err.print(styled("  ", ("✗", "red"), f" {outcome.name}: {outcome.error}"))
    for error in delivered.errors[:5]:
        err.print(styled("  ", ("!", "yellow"), f" Slack: {error}"))
    if pending:
        when = delivered.next_wake or retry_at
        at = datetime.fromtimestamp(when).astimezone().strftime("%H:%M:%S") if when else "now"
        err.print(
            styled(
                f"  {pending} alerts still pending: the daemon retries at {at}; "
                "`monitor once` tries them again now"
            )
        )


@click.command()
@config_option
@fail_clearly
def run(config_file: str | None) -> None:
    """Run the daemon until SIGTERM or Ctrl-C."""
    from ..app import Monitor, instance_lock
    from ..daemon import Daemon

    settings = load_settings(config_file)
    with instance_lock(settings.database):
        monitor = Monitor.open(settings)
        try:
            Daemon(monitor).run()
        finally:
            monitor.close()
