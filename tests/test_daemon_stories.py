"""One alert per story, end to end: the daemon as a subprocess, feeds over HTTP,
Slack's Web API local. Different incidents never hide in one thread; the same
incident is one message whichever feed is polled first; a fresh database decides
like a warm one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import NIO_A, NIO_B, Item, rss, slack_env, write_config
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack
from tests.running import wait

pytestmark = pytest.mark.timeout(180)

MAKERS = [
    "Toyota",
    "Honda",
    "Renault",
    "Subaru",
    "Ford",
    "Suzuki",
    "Nissan",
    "Mazda",
    "Hyundai",
    "Kia",
    "Volvo",
    "Stellantis",
    "Continental",
    "Bosch",
    "Denso",
    "Magna",
    "Lear",
    "Valeo",
    "Aisin",
    "Yazaki",
    "Bridgestone",
    "Forvia",
    "Nexteer",
    "Mitsubishi",
]


def templated(maker: str, feed: str) -> Item:
    return Item(
        f"{maker} confirms ransomware attack, says customer data was stolen",
        f"https://{feed}.example/{maker.lower()}",
        f"{feed}-{maker}",
        f"{maker} said attackers encrypted systems and stole customer data; "
        "the company is investigating with outside experts.",
    )


def config_for(tmp_path: Path, feeds: list[tuple[str, str]]) -> Path:
    return write_config(tmp_path, feeds, slack={"breaker": 100, "max_alerts_per_poll": 100})


def test_twenty_four_templated_incidents_are_twenty_four_alerts(
    tmp_path: Path,
    feeds: FeedServer,
    slack: FakeSlack,
    run_daemon,
) -> None:  # type: ignore[no-untyped-def]
    for n, name in enumerate(("wire", "autos", "sec")):
        feeds.set_feed(f"/{name}.xml", rss([templated(m, name) for m in MAKERS[n::3]]))
    config = config_for(
        tmp_path, [(n.capitalize(), feeds.url(f"/{n}.xml")) for n in ("wire", "autos", "sec")]
    )
    # one channel per feed: Slack's pace is per channel, and 24 in one take 24 s
    data = yaml.safe_load(config.read_text())
    for feed, channel in zip(data["feeds"], ("#security-alerts", "#ops", "#general"), strict=True):
        feed["channel"] = channel
    config.write_text(yaml.safe_dump(data))
    daemon = run_daemon(config, slack_env(slack))
    wait(lambda: len(slack.messages) >= 24, timeout=90, what="24 alerts")
    polls = feeds.count("/wire.xml")
    wait(lambda: feeds.count("/wire.xml") >= polls + 2, what="two more polls")
    daemon.stop()
    assert len(slack.top_level()) == 24
    assert all(not slack.replies(m["ts"]) for m in slack.top_level())
    assert slack.updates == []  # no message was edited to count "other outlets"


def test_the_nio_reports_are_one_message_and_one_reply_whichever_feed_comes_first(
    tmp_path: Path, feeds: FeedServer, run_daemon
) -> None:  # type: ignore[no-untyped-def]
    """One outlet's report arrives first, the other's in a later cycle: both orders give
    one message and one reply (the batch order within one cycle: test_pipeline.py)."""
    for first in ("CarNews", "Wire"):
        item = {"CarNews": NIO_A, "Wire": NIO_B}
        path = {"CarNews": "/cn.xml", "Wire": "/wire.xml"}
        second = "Wire" if first == "CarNews" else "CarNews"
        feeds.set_feed(path[first], rss([item[first]]))
        feeds.set_feed(path[second], rss([]))
        folder = tmp_path / first
        folder.mkdir()
        config = config_for(folder, [(n, feeds.url(path[n])) for n in ("CarNews", "Wire")])
        with FakeSlack() as slack:
            daemon = run_daemon(config, slack_env(slack))
            wait(lambda s=slack: len(s.messages) >= 1, what="the first report")
            feeds.set_feed(path[second], rss([item[second]]))
            wait(lambda s=slack: len(s.messages) >= 2, what="the second report")
            wait(lambda s=slack: len(s.updates) >= 1, what="the first message to be edited")
            polls = feeds.count(path[second])
            wait(lambda p=path[second], n=polls: feeds.count(p) > n, what="another poll")
            daemon.stop()
            (root,) = slack.top_level()
            (reply,) = slack.replies(root["ts"])
            assert first in root["text"] and second in reply["text"]
            assert "Reported 2 times" in str(slack.updates[-1]["blocks"])


def test_a_fresh_database_decides_like_a_warm_one(
    tmp_path: Path,
    feeds: FeedServer,
    slack: FakeSlack,
    run_daemon,
) -> None:  # type: ignore[no-untyped-def]
    """The same items, once into an empty database, once after 60 unrelated items
    were seen: the same stories."""
    items = [templated(m, "wire") for m in MAKERS[:3]] + [NIO_A, NIO_B]
    outcomes = []
    for warm in (False, True):
        folder = tmp_path / ("warm" if warm else "cold")
        folder.mkdir()
        path = f"/{folder.name}.xml"
        background = [
            Item(
                f"Quarterly results {i}: revenue at unit {i} rose",
                f"https://bg.example/{i}",
                f"bg-{i}",
            )
            for i in range(60)
        ]
        feeds.set_feed(path, rss(background if warm else []))
        config = config_for(folder, [("Wire", feeds.url(path))])
        data = yaml.safe_load(config.read_text())
        data["defaults"] = {"interval": "1s", "max_age": "72h"}
        config.write_text(yaml.safe_dump(data))
        with FakeSlack() as fake:
            daemon = run_daemon(config, slack_env(fake))
            if warm:
                wait(lambda p=path: feeds.count(p) >= 1, what="the background items")
            feeds.set_feed(path, rss((background if warm else []) + items))
            wait(lambda f=fake: len(f.messages) >= 5, what="the alerts")
            polls = feeds.count(path)
            wait(lambda p=path, n=polls: feeds.count(p) >= n + 2, what="two more polls")
            daemon.stop()
            outcomes.append(sorted((m["text"], bool(m["thread_ts"])) for m in fake.messages))
    assert outcomes[0] == outcomes[1]
