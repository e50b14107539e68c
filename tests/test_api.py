"""The library's public API (``monitor.__all__``) and the one-instance lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import monitor
from monitor.app import instance_lock
from monitor.errors import ConfigError
from tests.conftest import REPO


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(monitor.__all__) == len(set(monitor.__all__))
    for name in monitor.__all__:
        value = getattr(monitor, name)
        assert value is not None
        if name != "__version__":
            assert getattr(value, "__name__", name) == name, name


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        monitor.NoSuchThing  # noqa: B018


def test_importing_the_package_imports_no_heavy_library() -> None:
    """`monitor health` must start fast: the package itself pulls in nothing big."""
    code = (
        "import sys, monitor, monitor.cli; "
        "print(sorted(m for m in ('feedparser','httpx','slack_sdk','lxml','apscheduler') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stderr


def test_one_instance_per_database(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with instance_lock(db):
        second = instance_lock(db)
        with pytest.raises(ConfigError, match="already running"):
            second.__enter__()
    with instance_lock(db):  # released when the first one ends
        pass
