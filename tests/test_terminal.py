"""What a person sees: log lines above a live progress bar, never inside it; whole
lines when output goes to a pipe or a file; feed text never read as markup."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import structlog
from rich.console import Console

from monitor.logs import configure
from monitor.progress import PollProgress
from tests.conftest import REPO, Item, rss, write_config


def test_log_lines_print_above_a_live_progress_bar_and_markup_stays_text() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=60, color_system=None)
    try:
        configure(json=False, console=console)
        log = structlog.get_logger("test")
        with PollProgress(3, console=console) as progress:
            for i in range(3):
                log.info("feed.polled", feed=f"F{i}", title="[bold]Bold[/bold] claim")
                progress.advance()
    finally:
        configure(json=True)
    lines = buffer.getvalue().replace("\r", "\n").split("\n")
    logged = [line for line in lines if "feed.polled" in line]
    assert len(logged) == 3
    for line in logged:
        assert "[bold]Bold[/bold] claim" in line  # shown as written, not as markup
        assert "polling feeds" not in line and "━" not in line  # no bar inside a log line


def test_status_into_a_pipe_prints_whole_lines(tmp_path: Path) -> None:
    missing = tmp_path / ("a-feed-path-much-longer-than-eighty-columns-" * 4 + "feed.xml")
    good = tmp_path / "good.xml"
    good.write_bytes(rss([Item("[red]Not markup[/red] in a title", "https://x.example/1", "x")]))
    config = write_config(
        tmp_path, [("A feed with a rather long name", str(missing)), ("G", str(good))]
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_", "COLUMNS"))
    }
    run = [sys.executable, "-m", "monitor"]
    once = subprocess.run(
        [*run, "once", "--config", str(config)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert once.returncode == 0, once.stderr
    status = subprocess.run(
        [*run, "status", "--config", str(config)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    rows = [line for line in status.stdout.splitlines() if "A feed with a rather long name" in line]
    assert len(rows) == 1 and str(missing) in rows[0], status.stdout  # one line, not folded
    listed = subprocess.run(
        [*run, "feeds", "list", "--config", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert any(
        str(missing) in line and "rather long name" in line for line in listed.stdout.splitlines()
    )
