"""What every `monitor` command shares: turning library errors into a clear
message on stderr and an exit code (2 for configuration, 1 otherwise)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from .errors import ConfigError, MonitorError, RuleError

F = TypeVar("F", bound=Callable[..., Any])
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file [default: $MONITOR_CONFIG or config/monitor.yaml].",
)


def fail_clearly(func: F) -> F:
    """MonitorError → message on stderr and exit code (2 config, 1 otherwise)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(f"[bold red]config error:[/] {escape(exc.describe())}")
            sys.exit(2)
        except RuleError as exc:
            for problem in exc.problems:
                err_console.print(str(problem), markup=False)
            sys.exit(1)
        except MonitorError as exc:
            err_console.print(f"error: {exc.describe()}", markup=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
