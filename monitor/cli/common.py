"""What every `monitor` command shares: options, consoles, and turning library
errors into a clear message on stderr and an exit code.

Exit codes: 0 ok; 1 a check failed (rules check, health) or another problem;
2 bad or missing configuration, or bad usage; 3 the database cannot be used.
Nothing from outside (feed text, Slack's answers, file names) is ever read as
rich markup: messages are printed as ``Text``.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.text import Text

from .. import terminal
from ..durations import parse_duration
from ..errors import ConfigError, MonitorError, RuleError, StoreError

F = TypeVar("F", bound=Callable[..., Any])
# one console per stream, shared with the log lines and progress bars (terminal.py)
out, err = terminal.out, terminal.err

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file [default: $MONITOR_CONFIG or config/monitor.yaml].",
)


def styled(*parts: tuple[str, str] | str) -> Text:
    """A line from plain strings and (text, style) pairs; never parsed as markup."""
    text = Text()
    for part in parts:
        text.append(part) if isinstance(part, str) else text.append(part[0], style=part[1])
    return text


def fail_clearly(func: F) -> F:
    """MonitorError → message on stderr and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            err.print(styled(("config error:", "bold red"), " ", exc.describe()))
            sys.exit(2)
        except RuleError as exc:
            for problem in exc.problems:
                err.print(str(problem), markup=False)
            sys.exit(1)
        except StoreError as exc:
            err.print(styled(("database error:", "bold red"), " ", exc.describe()))
            sys.exit(3)
        except MonitorError as exc:
            err.print(styled("error: ", exc.describe()))
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class Duration(click.ParamType):  # type: ignore[type-arg]
    """``--for 24h``, ``--since 30d``: a clear usage error (exit 2) when malformed."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()


rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Rules folder (and its aliases/) [default: from the config, else rules/].",
)


def rules_folder(rules_dir: str | None, config_file: str | None) -> Path:
    """--rules, else the config's `rules:`, else rules/ (no config needed to try rules)."""
    if rules_dir:
        return Path(rules_dir)
    from ..config import load_settings

    try:
        return load_settings(config_file).rules
    except ConfigError:
        return Path("rules")


def did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
