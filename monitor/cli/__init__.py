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

import click

from .. import __version__
from ..logs import configure

QUIET = frozenset({"health", "status"})  # commands that print, never log: they start faster


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    configure(json=None if log_format == "auto" else log_format == "json", level=log_level)


from .cycle import once, run  # noqa: E402  (commands register on `main`)
from .feeds import feeds  # noqa: E402
from .mutes import list_mutes, mute, unmute  # noqa: E402
from .noise import noise  # noqa: E402
from .rules import rules  # noqa: E402
from .stats import stats  # noqa: E402
from .status import health, status  # noqa: E402
from .stories import stories  # noqa: E402

for command in (once, run, status, health, feeds, rules, stories, mute, unmute, list_mutes):
    main.add_command(command)
rules.add_command(noise)
rules.add_command(stats)
