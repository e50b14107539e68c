"""Docs are tested too: every command and every setting appears in README."""

import click
import pytest

from monitor.cli import main
from monitor.config import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "monitor") -> list[str]:
    """Every command, through click's own listing (the top group loads them lazily)."""
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        full = f"{prefix} {name}"
        out += commands(cmd, full) if isinstance(cmd, click.Group) else [full]
    return out


def test_every_command_is_listed() -> None:
    assert len(commands(main)) >= 20


@pytest.mark.parametrize("command", commands(main))
def test_every_command_is_in_readme(command: str) -> None:
    assert f"`{command}" in README, f"README does not document `{command}`"


def settings(model: type, prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            out += settings(sub, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


@pytest.mark.parametrize("setting", settings(Settings))
def test_every_setting_is_in_readme(setting: str) -> None:
    if setting == "feeds":
        from monitor.config import FeedConfig

        missing = [f for f in FeedConfig.model_fields if f"`feeds[].{f}`" not in README]
        assert not missing, missing
        return
    assert f"`{setting}`" in README, f"README's settings table lacks `{setting}`"


def test_readme_gives_the_two_commands() -> None:
    assert "./run            # one cycle" in README and "./run test" in README
    assert (REPO / ".ci" / "run").read_text().count("./run test") == 1
