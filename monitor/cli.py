"""The `monitor` command: a thin layer over the library.

Library errors (MonitorError) become a clear message and an exit code here:
2 for bad or missing configuration, 1 for rule problems or failed checks.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .cli_common import config_option, err_console, fail_clearly
from .config import Settings, load_settings
from .logs import configure


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    help="Log lines on stderr: readable on a terminal, JSON otherwise [auto].",
)
@click.option("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR.")
def main(log_format: str, log_level: str) -> None:
    """Security-news alerts: poll feeds, match rules, alert Slack once per story."""
    configure(json=None if log_format == "auto" else log_format == "json", level=log_level)


def _settings(config_file: str | None) -> Settings:
    return load_settings(config_file)


@main.command()
@config_option
@fail_clearly
def once(config_file: str | None) -> None:
    """Poll every feed once, match, store, deliver what is pending, exit."""
    from .app import Monitor, instance_lock
    from .progress import PollProgress

    settings = _settings(config_file)
    started, cpu = time.monotonic(), time.process_time()
    with instance_lock(settings.database):
        monitor = Monitor.open(settings)
        try:
            with PollProgress(len(monitor.feeds())) as progress:
                report = monitor.poll(due_only=False, progress=progress.advance)
            delivered = monitor.deliver(wait_out_429=True)
            digests = monitor.send_digests()
            delivered.sent += digests.sent
            counts = monitor.store.alert_counts()
        finally:
            monitor.close()
    unchanged = report.count("not_modified") + report.count("unchanged")
    new = sum(o.new_entries for o in report.outcomes)
    err_console.print(
        f"[bold]{len(report.outcomes)} feeds[/] polled ({unchanged} unchanged, "
        f"{len(report.errors)} failed) · {new} new entries · {report.alerts} new alerts · "
        f"sent {delivered.sent}, pending {counts.get('pending', 0)}, "
        f"failed {counts.get('failed', 0)}, held for digest {counts.get('digest', 0)} · "
        f"{time.monotonic() - started:.2f}s wall, {time.process_time() - cpu:.2f}s CPU"
    )
    for outcome in report.errors:
        err_console.print(f"  [red]✗[/] {outcome.name}: {outcome.error}", markup=True)
    for error in delivered.errors[:5]:
        err_console.print(f"  [yellow]![/] Slack: {error}", markup=True)


@main.command()
@config_option
@fail_clearly
def run(config_file: str | None) -> None:
    """Run the daemon until SIGTERM or Ctrl-C."""
    from .app import Monitor, instance_lock
    from .daemon import Daemon

    settings = _settings(config_file)
    with instance_lock(settings.database):
        monitor = Monitor.open(settings)
        try:
            Daemon(monitor).run()
        finally:
            monitor.close()


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fail_clearly
def status(config_file: str | None, as_json: bool) -> None:
    """Each feed's last poll, error and next poll; pending and failed alerts."""
    from .status import collect, show

    settings = _settings(config_file)
    data = collect(settings)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        show(data, Console(highlight=False))


@main.command()
@config_option
@click.option("--max-age", default=300, show_default=True, help="Seconds since the last tick.")
@fail_clearly
def health(config_file: str | None, max_age: int) -> None:
    """Exit 0 when the daemon ticked recently (for Docker HEALTHCHECK)."""
    from .store import Store

    settings = _settings(config_file)
    if not Path(settings.database).exists():
        click.echo("unhealthy: no database yet", err=True)
        sys.exit(1)
    with Store(settings.database) as store:
        beat = store.get_meta("heartbeat")
    age = time.time() - float(beat) if beat else None
    if age is None or age > max_age:
        click.echo(
            f"unhealthy: last tick {'never' if age is None else f'{age:.0f}s ago'}", err=True
        )
        sys.exit(1)
    click.echo(f"healthy: last tick {age:.0f}s ago")


from .cli_rules import rules  # noqa: E402  (registers the `rules` group)
from .cli_stories import list_mutes, mute, stories, unmute  # noqa: E402

main.add_command(rules)
main.add_command(stories)
main.add_command(mute)
main.add_command(unmute)
main.add_command(list_mutes)
