"""The `monitor` command: a thin layer over the library, one module per group.

    cycle.py    once, run
    status.py   status, health
    feeds.py    feeds list | add | remove | import | export
    rules.py    rules check | test | backtest | schema
    noise.py    rules noise (alerts marked "not relevant" in Slack)
    stats.py    rules stats (per rule: matched, alerted, muted, noise; never fired)
    stories.py  stories test
    mutes.py    mute, unmute, mutes

Library errors become a clear message and an exit code in ``common.py``.
Heavy modules are imported inside the commands that need them, so that
`monitor status` and `monitor health` start fast.
"""

from __future__ import annotations

from importlib import import_module

import click

from .. import __version__

QUIET = frozenset({"health", "status"})  # commands that print, never log: they start faster

# name → (module, attribute): a command's module is imported only when it runs, so
# `monitor health` does not pay for the rules engine, feedparser or slack_sdk
COMMANDS = {
    "once": ("cycle", "once"),
    "run": ("cycle", "run"),
    "status": ("status", "status"),
    "health": ("status", "health"),
    "feeds": ("feeds", "feeds"),
    "rules": ("rules", "rules"),
    "stories": ("stories", "stories"),
    "mute": ("mutes", "mute"),
    "unmute": ("mutes", "unmute"),
    "mutes": ("mutes", "list_mutes"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS and name not in self.commands:
            module, attr = COMMANDS[name]
            command = getattr(import_module(f".{module}", __name__), attr)
            if name == "rules":  # the rules group's commands that live in modules of their own
                command.add_command(import_module(".noise", __name__).noise)
                command.add_command(import_module(".stats", __name__).stats)
            self.add_command(command, name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    help="Log lines on stderr: readable on a terminal, JSON otherwise [auto].",
)
@click.option("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR.")
@click.pass_context
def main(ctx: click.Context, log_format: str, log_level: str) -> None:
    """Security-news alerts: poll feeds, match rules, alert Slack once per story."""
    if ctx.invoked_subcommand in QUIET:
        return  # they never log: no need to import and set up structlog
    from ..logs import configure

    configure(json=None if log_format == "auto" else log_format == "json", level=log_level)
