"""The commands as a user runs them: subprocesses, real files, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO, RULES, write_config


def monitor(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sample_config(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text())
    data["database"] = str(tmp_path / "demo.db")
    for feed in data["feeds"]:
        feed["url"] = str(REPO / feed["url"])
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_once_on_the_bundled_samples_prints_alerts(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    first = monitor("once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "NIO receives blackmail email" in out and "Nio in extortion attempt" in out
    assert out.count("CRITICAL") >= 2 and "auto-extortion" in out
    assert "Senior union" not in out and "afford heating" not in out
    assert "4 feeds polled" in first.stderr
    second = monitor("once", "--config", str(config))
    assert second.returncode == 0 and second.stdout.strip() == ""
    assert "0 new alerts" in second.stderr


def test_missing_config_exits_2_naming_the_file(tmp_path: Path) -> None:
    result = monitor("once", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "not found" in result.stderr


def test_bad_key_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("database: x.db\nfeeds:\n  - name: A\n    ur1: https://a.example/f\n")
    result = monitor("once", "--config", str(path))
    assert result.returncode == 2
    assert "bad.yaml:4:5: feeds[0].ur1: unknown key (hint: did you mean 'url'?)" in result.stderr


def test_bad_env_override_names_the_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    result = monitor("once", "--config", str(config), env={"MONITOR_TICK": "soon"})
    assert result.returncode == 2 and "MONITOR_TICK" in result.stderr


def test_env_overrides_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("A", str(REPO / "examples/feeds/cryptodaily.xml"))])
    db = tmp_path / "other.db"
    result = monitor("once", "--config", str(config), env={"MONITOR_DATABASE": str(db)})
    assert result.returncode == 0 and db.exists()


def test_monitor_config_env_var_names_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("A", str(REPO / "examples/feeds/cryptodaily.xml"))])
    result = monitor("status", env={"MONITOR_CONFIG": str(config)}, cwd=tmp_path)
    assert result.returncode == 0


def test_rules_test_json_is_only_json_on_stdout(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        "\n".join(
            json.dumps(i)
            for i in [
                {
                    "id": "a",
                    "title": "Hackers demand bitcoin from Nio in extortion attempt",
                    "summary": "",
                    "link": "https://x.example/a",
                    "source": "X",
                },
                {
                    "id": "b",
                    "title": "Senior union opinion",
                    "summary": "",
                    "link": "",
                    "source": "Y",
                },
            ]
        )
        + "\n"
    )
    result = monitor("rules", "test", "--rules", str(RULES), "--input", str(items), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[0]["matches"][0] == {
        "rule": "auto-extortion",
        "severity": "critical",
        "terms": lines[0]["matches"][0]["terms"],
    }
    assert lines[1]["matches"] == []


def test_rules_test_on_a_feed_file_and_text() -> None:
    feed = monitor("rules", "test", "--input", str(REPO / "examples/feeds/globalwire.atom"))
    assert feed.returncode == 0 and "auto-extortion" in feed.stdout
    text = monitor("rules", "test", "--text", "Continental hit by LockBit ransomware", "--explain")
    assert "auto-extortion" in text.stdout and "✓" in text.stdout
    both = monitor("rules", "test", "--text", "x", "--input", "y")
    assert both.returncode == 2


def test_status_shows_feeds_and_alerts(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    monitor("once", "--config", str(config))
    result = monitor("status", "--config", str(config))
    assert result.returncode == 0
    assert "CarNewsChina (sample)" in result.stdout and "sent" in result.stdout
    data = json.loads(monitor("status", "--config", str(config), "--json").stdout)
    assert data["alerts"]["sent"] >= 8 and len(data["feeds"]) == 4


def test_backtest_counts_per_rule(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    monitor("once", "--config", str(config))
    result = monitor("rules", "backtest", "--config", str(config), "--since", "100000d")
    assert result.returncode == 0, result.stderr
    assert "auto-extortion" in result.stdout and "22 entries" in result.stdout


def test_health_fails_without_a_daemon(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    assert monitor("health", "--config", str(config)).returncode == 1


def test_secrets_are_never_printed(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("A", "http://127.0.0.1:9/f.xml")])
    secret = "xoxb-123456789-SECRET"
    result = monitor(
        "once",
        "--config",
        str(config),
        "--log-format",
        "json",
        env={"SLACK_BOT_TOKEN": secret, "SLACK_API_URL": "http://127.0.0.1:9/api/"},
    )
    assert secret not in result.stdout + result.stderr


def test_stories_test_json_groups_the_nio_reports(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    rows = [
        {
            "id": "a",
            "source": "CarNews",
            "published": "2022-12-20T10:00:00Z",
            "title": "NIO receives blackmail email demanding $2.25 million in bitcoin",
            "summary": "NIO says an outside party claims to hold user data.",
            "link": "",
        },
        {
            "id": "d",
            "source": "CarNews",
            "published": "2022-12-20T11:00:00Z",
            "title": "NIO delivered 14,178 vehicles in November",
            "summary": "",
            "link": "",
        },
        {
            "id": "b",
            "source": "Wire",
            "published": "2022-12-20T16:00:00Z",
            "title": "Hackers demand US$2.25m in Bitcoin from Chinese EV maker Nio",
            "summary": "Nio was the target of an extortion attempt over user data.",
            "link": "",
        },
    ]
    items.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = monitor("stories", "test", "--input", str(items), "--json")
    assert result.returncode == 0, result.stderr
    story = {line["id"]: line["story"] for line in map(json.loads, result.stdout.splitlines())}
    assert story["a"] == story["b"] != story["d"]
    missing = monitor("stories", "test", "--input", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_mute_unmute_and_list(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    args = ("--config", str(config))
    assert (
        monitor(
            "mute", "rule", "bitcoin-news", "--for", "2h", "--reason", "noisy", *args
        ).returncode
        == 0
    )
    listed = monitor("mutes", *args)
    assert (
        "rule bitcoin-news for 1h59m" in listed.stdout
        or "rule bitcoin-news for 2h" in listed.stdout
    )
    assert "noisy" in listed.stdout
    assert monitor("unmute", "rule", "bitcoin-news", *args).returncode == 0
    assert monitor("mutes", *args).stdout.strip() == "no mutes"
    assert monitor("unmute", "rule", "bitcoin-news", *args).returncode == 1
