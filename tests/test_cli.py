"""The commands as a user runs them, in-process through click's runner (real files,
real exit codes); one subprocess run of the README's command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from monitor.cli import main
from tests.conftest import NIO_A, REPO, RULES, TOKEN, rss, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack


def monitor(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def sample_config(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text())
    data["database"] = str(tmp_path / "demo.db")
    for feed in data["feeds"]:
        feed["url"] = str(REPO / feed["url"])
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_once_on_the_bundled_samples_prints_alerts(tmp_path: Path) -> None:
    """README's first command, as a new user runs it: a process of its own."""
    config = sample_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MONITOR_"))}

    def once() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "monitor", "once", "--config", str(config)]
        return subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )

    first = once()
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "NIO receives blackmail email" in out and "Nio in extortion attempt" in out
    assert out.count("CRITICAL") >= 2 and "auto-extortion" in out
    assert "Senior union" not in out and "afford heating" not in out
    assert "4 feeds polled" in first.stderr
    second = once()
    assert second.returncode == 0 and second.stdout.strip() == ""
    assert "0 new alerts" in second.stderr


def test_missing_config_exits_2_naming_the_file(tmp_path: Path) -> None:
    result = monitor("once", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr and "not found" in result.stderr


def test_bad_key_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("database: x.db\nfeeds:\n  - name: A\n    ur1: https://a.example/f\n")
    result = monitor("once", "--config", str(path))
    assert result.exit_code == 2
    assert "bad.yaml:4:5: feeds[0].ur1: unknown key (hint: did you mean 'url'?)" in result.stderr


def test_bad_env_override_names_the_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    result = monitor("once", "--config", str(config), env={"MONITOR_TICK": "soon"})
    assert result.exit_code == 2 and "MONITOR_TICK" in result.stderr


def test_env_overrides_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("A", str(REPO / "examples/feeds/cryptodaily.xml"))])
    db = tmp_path / "other.db"
    result = monitor("once", "--config", str(config), env={"MONITOR_DATABASE": str(db)})
    assert result.exit_code == 0 and db.exists()


def test_monitor_config_env_var_names_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, [("A", str(REPO / "examples/feeds/cryptodaily.xml"))])
    result = monitor("status", env={"MONITOR_CONFIG": str(config)})
    assert result.exit_code == 0 and str(tmp_path / "data" / "monitor.db") in result.stdout


def test_a_database_path_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], database=str(tmp_path))
    result = monitor("once", "--config", str(config))
    assert result.exit_code == 3
    assert "database error" in result.stderr and "is a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_test_json_is_only_json_on_stdout(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    rows = [
        {
            "id": "a",
            "title": "Hackers demand bitcoin from Nio in extortion attempt",
            "summary": "",
            "link": "https://x.example/a",
            "source": "X",
        },
        {"id": "b", "title": "Senior union opinion", "summary": "", "link": "", "source": "Y"},
    ]
    items.write_text("\n".join(json.dumps(i) for i in rows) + "\n")
    result = monitor("rules", "test", "--rules", str(RULES), "--input", str(items), "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    top = lines[0]["matches"][0]
    assert (top["rule"], top["severity"]) == ("auto-extortion", "critical")
    assert {"Nio", "extortion"} <= set(top["terms"])
    assert lines[1]["matches"] == []


def test_rules_test_on_a_feed_file_and_text() -> None:
    feed = monitor("rules", "test", "--input", str(REPO / "examples/feeds/globalwire.atom"))
    assert feed.exit_code == 0 and "auto-extortion" in feed.stdout
    text = monitor("rules", "test", "--text", "Continental hit by LockBit ransomware", "--explain")
    assert "auto-extortion" in text.stdout and "✓" in text.stdout
    both = monitor("rules", "test", "--text", "x", "--input", "y")
    assert both.exit_code == 2


def test_rules_test_prints_feed_text_as_text() -> None:
    result = monitor("rules", "test", "--text", "[Update] NIO [/] blackmail [bold]bitcoin[/bold]")
    assert result.exit_code == 0
    assert "[Update] NIO [/] blackmail [bold]bitcoin[/bold]" in result.stdout


def test_status_shows_feeds_and_alerts(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    monitor("once", "--config", str(config))
    result = monitor("status", "--config", str(config))
    assert result.exit_code == 0
    assert "CarNewsChina (sample)" in result.stdout and "sent" in result.stdout
    data = json.loads(monitor("status", "--config", str(config), "--json").stdout)
    assert data["alerts"]["sent"] >= 8 and len(data["feeds"]) == 4


def test_status_never_reads_feed_text_or_reasons_as_markup(
    tmp_path: Path, feeds: FeedServer
) -> None:
    title = "[Update] NIO blackmail [/] bitcoin [red]demand"
    feeds.set_feed("/a.xml", rss([NIO_A.__class__(title, NIO_A.link, "g1", NIO_A.summary)]))
    config = write_config(tmp_path, [("A [/] feed", feeds.url("/a.xml"))])
    assert monitor("once", "--config", str(config)).exit_code == 0
    assert (
        monitor(
            "mute", "feed", "A [/] feed", "--reason", "[/] noisy [bold]", "--config", str(config)
        ).exit_code
        == 0
    )
    feeds.set_feed("/a.xml", b"<html>[/] not a feed</html>")
    monitor("once", "--config", str(config))
    result = monitor("status", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert "[/] noisy [bold]" in result.stdout and "A [/] feed" in result.stdout


def test_backtest_counts_per_rule(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    monitor("once", "--config", str(config))
    result = monitor("rules", "backtest", "--config", str(config), "--since", "100000d")
    assert result.exit_code == 0, result.stderr
    assert "auto-extortion" in result.stdout and "22 entries" in result.stdout


def test_health_fails_without_a_daemon(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    assert monitor("health", "--config", str(config)).exit_code == 1


def test_secrets_are_never_printed(tmp_path: Path, feeds: FeedServer, slack: FakeSlack) -> None:
    feeds.set_feed("/a.xml", rss([NIO_A]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml"))])
    secret = "xoxb-123456789-SECRET"
    result = monitor(
        "--log-format",
        "json",
        "--log-level",
        "DEBUG",
        "once",
        "--config",
        str(config),
        env={"SLACK_BOT_TOKEN": secret, "SLACK_API_URL": slack.base_url},
    )
    assert result.exit_code == 0, result.stderr
    assert [r["token"] for r in slack.requests] == [secret]  # it did reach Slack
    assert "invalid_auth" in result.stderr
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
    assert result.exit_code == 0, result.stderr
    story = {line["id"]: line["story"] for line in map(json.loads, result.stdout.splitlines())}
    assert story["a"] == story["b"] != story["d"]
    missing = monitor("stories", "test", "--input", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_mute_unmute_and_list(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    args = ("--config", str(config))
    assert (
        monitor("mute", "rule", "bitcoin-news", "--for", "2h", "--reason", "noisy", *args).exit_code
        == 0
    )
    listed = monitor("mutes", *args).stdout
    assert "rule bitcoin-news for 1h59m" in listed or "rule bitcoin-news for 2h" in listed
    assert "noisy" in listed
    assert monitor("unmute", "rule", "bitcoin-news", *args).exit_code == 0
    assert monitor("mutes", *args).stdout.strip() == "no mutes"
    assert monitor("unmute", "rule", "bitcoin-news", *args).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rule", "bitcoin-nws"], "did you mean 'bitcoin-news'?"),
        (["feed", "Crypto Dailly"], "did you mean 'Crypto Daily'?"),
        (["story", "999"], "no story '999'"),
        (["rule", "bitcoin-news", "--for", "2x"], "'2x' is not a duration"),
    ],
)
def test_mute_refuses_what_does_not_exist(tmp_path: Path, args: list[str], message: str) -> None:
    config = write_config(
        tmp_path, [("Crypto Daily", str(REPO / "examples/feeds/cryptodaily.xml"))]
    )
    result = monitor("mute", *args, "--config", str(config))
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert monitor("mutes", "--config", str(config)).stdout.strip() == "no mutes"


def test_mute_story_takes_the_id_an_alert_shows(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    out = monitor("once", "--config", str(config)).stdout
    story = out.split("· story ")[1].split()[0]
    result = monitor("mute", "story", story, "--config", str(config))
    assert result.exit_code == 0 and f"muted story {story}" in result.stdout


def test_slack_refusing_an_alert_is_reported_not_a_traceback(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack
) -> None:
    feeds.set_feed("/a.xml", rss([NIO_A]))
    config = write_config(tmp_path, [("A", feeds.url("/a.xml"))])
    slack.set_down(True)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.base_url}
    result = monitor("once", "--config", str(config), env=env)
    assert result.exit_code == 0 and "pending 1" in result.stderr
    assert "the daemon retries at" in result.stderr
    assert "<html" not in result.stderr.lower()


def test_explain_says_why_a_rule_did_not_fire_with_file_and_line() -> None:
    """'Why did this Nio blackmail story not alert critical?' in one command."""
    text = "How to prevent ransomware: NIO hit by blackmail demanding bitcoin"
    result = monitor("rules", "test", "--text", text, "--explain", "--rule", "auto-extortion")
    assert result.exit_code == 0, result.stderr
    assert "auto-extortion (critical, rules/automotive.yaml:" in result.stdout
    assert "did not fire" in result.stdout and "rules/lists/advice.yaml:" in result.stdout
    assert "found 'How to' in title" in result.stdout
    data = json.loads(
        monitor("rules", "test", "--text", text, "--explain", "--json").stdout.splitlines()[0]
    )
    assert any("advice.yaml" in line for line in data["why_not"]["auto-extortion"])
    bad = monitor("rules", "test", "--text", text, "--explain", "--rule", "auto-extorsion")
    assert bad.exit_code == 2 and "did you mean 'auto-extortion'" in bad.stderr


def test_rules_stats_counts_per_rule_and_names_rules_that_never_fired(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    monitor("once", "--config", str(config))
    assert monitor("mute", "rule", "crypto-theft", "--config", str(config)).exit_code == 0
    data = [
        json.loads(line)
        for line in monitor(
            "rules", "stats", "--config", str(config), "--since", "100000d", "--json"
        ).stdout.splitlines()
    ]
    by_rule = {row["rule"]: row for row in data}
    assert by_rule["auto-extortion"]["matched"] >= by_rule["auto-extortion"]["alerted"] >= 2
    assert all(row["noise"] == 0 and row["muted"] == 0 for row in data)
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "never.yaml").write_text(
        "id: never\ntitle: Never\nseverity: medium\nmatch: {any: [zzqxv]}\n"
    )
    text = monitor(
        "rules", "stats", "--rules", str(rules), "--config", str(config), "--since", "100000d"
    ).stdout
    assert "auto-extortion" in text and "never fired: never" in text
