"""`monitor feeds`: OPML round trips of real exports, adding a feed from a web page
over HTTP with a dry run, the feeds file taken live by the daemon, and config
mistakes reported at their file and line."""

from __future__ import annotations

from pathlib import Path

import lxml.etree
import pytest
import yaml
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.config import load_settings
from monitor.discover import feed_links
from monitor.opml import read_opml
from tests.conftest import NIO_A, REPO, UNION, rss, slack_env, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack
from tests.running import wait

OPML = REPO.parent / "shared" / "opml"
EXPORTS = sorted(OPML.glob("*.opml")) if OPML.is_dir() else []


def monitor(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.skipif(not EXPORTS, reason="../shared/opml not present")
@pytest.mark.parametrize("export", EXPORTS, ids=lambda p: p.name)
def test_an_opml_round_trip_of_a_real_export_loses_nothing(tmp_path: Path, export: Path) -> None:
    original = read_opml(export.read_bytes())
    config = write_config(tmp_path, [])
    imported = monitor("feeds", "import", str(export), "--config", str(config))
    assert imported.exit_code == 0, imported.stderr
    settings = load_settings(config)  # the feeds file it wrote is valid configuration
    assert len(settings.feeds) == len(original)
    assert len({f.name for f in settings.feeds}) == len(original)  # duplicate titles: unique names
    not_http = [o for o in original if not o.url.startswith("http")]
    assert sum(not f.enabled for f in settings.feeds) == len(not_http)
    assert f"{len(not_http)} kept disabled" in imported.stderr

    out = tmp_path / "out.opml"
    assert monitor("feeds", "export", str(out), "--config", str(config)).exit_code == 0
    root = lxml.etree.fromstring(out.read_bytes())
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.find("head/title") is not None and root.find("head/dateCreated") is not None
    again = read_opml(out.read_bytes())
    assert sorted(again, key=repr) == sorted(original, key=repr)  # urls, titles, folders, …

    # and back in: the same feeds, nothing new (every URL is known)
    second = monitor("feeds", "import", str(out), "--config", str(config))
    assert f"imported 0 feeds into {tmp_path / 'feeds.yaml'} ({len(original)} already" in (
        " ".join(second.stderr.split())
    )


def test_opml_import_keeps_nested_folders_and_duplicate_titles(tmp_path: Path) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>'
        '<outline text="Intel"><outline text="Vendors &amp; CERTs">'
        '<outline text="Blog" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>'
        "</outline></outline>"
        '<outline text="Blog" xmlUrl="https://b.example/feed"/>'
        '<outline text="Alerts" xmlUrl="keyword-monitoring-42"/>'
        "</body></opml>"
    )
    config = write_config(tmp_path, [])
    assert monitor("feeds", "import", str(opml), "--config", str(config)).exit_code == 0
    feeds = {f.name: f for f in load_settings(config).feeds}
    assert feeds["Blog"].tags == ["Intel/Vendors & CERTs"]
    assert feeds["Blog"].site == "https://a.example/"
    assert feeds["Blog (b.example)"].title == "Blog"
    assert not feeds["Alerts"].enabled


def page(feed_href: str) -> bytes:
    return (
        "<!doctype html><html><head><title>News</title>"
        '<link rel="stylesheet" href="/s.css">'
        f'<link rel="alternate" type="application/rss+xml" title="RSS" href="{feed_href}">'
        "</head><body>Hello</body></html>"
    ).encode()


def test_feed_links_are_found_in_a_page_and_made_absolute() -> None:
    html = page("/feed.xml").replace(
        b"</head>", b'<link rel="Alternate" type="application/atom+xml" href="a.atom"></head>'
    )
    assert feed_links(html, "https://n.example/blog/") == [
        "https://n.example/feed.xml",
        "https://n.example/blog/a.atom",
    ]
    assert feed_links(b"<html><body>no feeds</body></html>", "https://n.example/") == []


def test_add_finds_the_feed_of_a_page_shows_a_dry_run_and_saves_to_the_feeds_file(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.set_html("/", page("/feed.xml"))
    feeds.set_feed("/feed.xml", rss([NIO_A, UNION], title="Car News"))
    config = write_config(tmp_path, [])
    config.write_text(config.read_text() + "# my own comment, never rewritten\n")
    before = config.read_bytes()

    dry = monitor("feeds", "add", feeds.url("/"), "--dry-run", "--config", str(config))
    assert dry.exit_code == 0, dry.stderr
    assert f"its feed: {feeds.url('/feed.xml')}" in dry.stderr
    assert "2 entries" in dry.stderr and "would have matched 1" in dry.stderr
    assert "CRITICAL auto-extortion: NIO receives blackmail" in dry.stderr
    assert not (tmp_path / "feeds.yaml").exists()

    added = monitor("feeds", "add", feeds.url("/"), "--interval", "auto", "--config", str(config))
    assert added.exit_code == 0, added.stderr
    assert config.read_bytes() == before
    saved = yaml.safe_load((tmp_path / "feeds.yaml").read_text())
    assert saved["feeds"] == [
        {"name": "Car News", "url": feeds.url("/feed.xml"), "interval": "auto"}
    ]
    listed = monitor("feeds", "list", "--config", str(config))
    assert "Car News" in listed.stdout and "every auto" in listed.stdout

    again = monitor(
        "feeds", "add", feeds.url("/feed.xml"), "--name", "Other", "--config", str(config)
    )
    assert again.exit_code == 2 and "already configured as 'Car News'" in again.stderr


def test_add_refuses_a_page_without_a_feed(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.set_html("/login")
    config = write_config(tmp_path, [])
    result = monitor("feeds", "add", feeds.url("/login"), "--config", str(config))
    assert result.exit_code == 1 and "neither a feed nor a page announcing one" in result.stderr


def test_remove_changes_only_the_feeds_file(tmp_path: Path) -> None:
    sample = str(REPO / "examples/feeds/cryptodaily.xml")
    config = write_config(tmp_path, [("Hand", sample)])
    (tmp_path / "feeds.yaml").write_text(
        yaml.safe_dump({"feeds": [{"name": "Managed", "url": sample}]})
    )
    hand = monitor("feeds", "remove", "Hand", "--config", str(config))
    assert hand.exit_code == 2 and "never rewrites that file" in hand.stderr
    typo = monitor("feeds", "remove", "Managd", "--config", str(config))
    assert typo.exit_code == 2 and "did you mean 'Managed'" in typo.stderr
    assert monitor("feeds", "remove", "Managed", "--config", str(config)).exit_code == 0
    assert [f.name for f in load_settings(config).feeds] == ["Hand"]


@pytest.mark.parametrize(
    ("config_text", "feeds_text", "where", "message"),
    [
        (
            "feeds:\n  - name: A\n    url: htp://a.example/feed\n",
            None,
            "monitor.yaml:3:5",
            "unknown URL scheme 'htp'",
        ),
        (
            "feeds:\n  - name: A\n    url: a.xml\n  - name: B\n    url: b.xml\n"
            "  - name: A\n    url: c.xml\n",
            None,
            "monitor.yaml:6:5",
            "a second feed named 'A'",
        ),
        (
            "feeds:\n  - name: A\n    url: a.xml\n",
            "feeds:\n  - name: B\n    url: b.xml\n  - name: A\n    url: c.xml\n",
            "feeds.yaml:4:5",
            "a second feed named 'A' (the first is in",
        ),
        (
            "feeds: []\n",
            "feeds:\n  - name: B\n    url: ftp://b.example/feed\n",
            "feeds.yaml:3:5",
            "unknown URL scheme 'ftp'",
        ),
    ],
)
def test_feed_mistakes_name_the_file_and_line(
    tmp_path: Path, config_text: str, feeds_text: str | None, where: str, message: str
) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database: {tmp_path / 'm.db'}\n" + config_text)
    if feeds_text is not None:
        (tmp_path / "feeds.yaml").write_text(feeds_text)
    line_shift = 1 if where.startswith("monitor.yaml") else 0  # the database line
    file, line, col = where.split(":")
    expected = f"{tmp_path / file}:{int(line) + line_shift}:{col}"
    result = monitor("status", "--config", str(config))
    assert result.exit_code == 2
    assert expected in result.stderr and message in result.stderr, result.stderr


def test_the_daemon_takes_feed_changes_live(
    tmp_path: Path, feeds: FeedServer, slack: FakeSlack, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    feeds.set_feed("/late.xml", rss([NIO_A], title="Late"))
    config = write_config(tmp_path, [])
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: any(e.get("event") == "daemon.start" for e in daemon.events()), what="start")
    assert monitor("feeds", "add", feeds.url("/late.xml"), "--config", str(config)).exit_code == 0
    wait(lambda: len(slack.messages) == 1, what="the new feed's alert, without a restart")
    (tmp_path / "feeds.yaml").write_text("feeds: [oops\n")  # a broken hand edit
    wait(
        lambda: any(e.get("event") == "feeds.invalid" for e in daemon.events()),
        what="the bad edit to be refused",
    )
    polls = feeds.count("/late.xml")
    wait(lambda: feeds.count("/late.xml") > polls, what="the last good feeds still polled")
    assert daemon.stop() == 0
