"""Soak: the daemon delivers 100 alerts into 3 channels while it is killed with SIGKILL
20 times at random moments (mid-poll, mid-post, between posts) and restarted each time.

Slack is the local server at its strictest (1 message a second per channel, no burst)
with a round trip of LATENCY seconds, acting halfway: a post already sent when the
monitor dies still lands, and the monitor never hears about it. Every alert carries a
unique marker in its title; what arrived is counted by marker in what Slack recorded.

The kills' moments come from a seeded RNG (``SOAK_SEED`` to replay another run); each
kill waits for its anchor (an event in the log, a row in the database, a request at a
server), then for its random delay. Where a kill really landed is read back from the
database afterwards and reported with the figures.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from tests.conftest import RULES, TOKEN, Item, rss
from tests.crashes import Daemon, Outbox, wait_until
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_server import FakeSlack

SEED = int(os.environ.get("SOAK_SEED", "20261124"))
ALERTS = 100
CHANNELS = ("security-alerts", "ops", "general")
FEEDS = 6  # two per channel
SLOW = 0.6  # feed 0 answers this late: a cycle (routing waits for every feed) lasts this long
LATENCY = 0.2  # Slack's round trip
FIRST, PER_ROUND = 20, 4  # items published before the first start, then before each restart
MARK = re.compile(r"SOAK-(\d{3})")
AIMS = {"poll": 7, "post": 7, "between": 6}  # 20 kills
DELAYS = {"poll": (0.0, SLOW), "post": (0.0, LATENCY), "between": (0.05, 0.9)}  # after anchor
HEADS = ("Vel", "Kor", "Tam", "Quin", "Bram", "Dov", "Fen", "Lux", "Mor", "Zeb")
TAILS = ("tronics", "axis", "metall", "forge", "plast", "cast", "drive", "gear", "weld", "tek")


def title(i: int) -> str:
    """A distinct event: each names its own made-up supplier, so no two are one story."""
    company = HEADS[i // 10] + TAILS[i % 10]
    return f"Ransomware attack on supplier {company} halts production [SOAK-{i:03d}]"


def channel(marker: int) -> str:
    return CHANNELS[marker % FEEDS % len(CHANNELS)]


def markers(slack: FakeSlack) -> Counter[int]:
    return Counter(int(m) for msg in slack.messages for m in MARK.findall(msg["text"] or ""))


@dataclass
class Kill:
    aim: str  # poll | post | between
    delay: float  # seconds after the aim's anchor
    unrouted: list[int] = field(default_factory=list)  # stored by a poll, not yet routed
    in_doubt: list[int] = field(default_factory=list)  # claimed in this run, no answer kept
    reached: list[int] = field(default_factory=list)  # of those, the ones Slack acted on
    carried: list[int] = field(default_factory=list)  # in doubt since an earlier kill

    @property
    def landed(self) -> list[str]:
        """Where it really landed (it may be two places at once: lanes run side by side)."""
        out = []
        if self.unrouted:
            out.append("mid-poll")
        if self.reached:
            out.append("mid-post, Slack had it")
        if len(self.in_doubt) > len(self.reached):
            out.append("mid-post, Slack had not")
        return out or ["between posts"]


class Soak:
    def __init__(self, tmp_path: Path, feeds: FeedServer, slack: FakeSlack) -> None:
        self.feeds, self.slack = feeds, slack
        self.rng = random.Random(SEED)
        self.database = tmp_path / "data" / "monitor.db"
        self.outbox = Outbox(self.database)
        self.daemon = Daemon(self._config(tmp_path), self._env(), tmp_path / "daemon.log")
        self.kills: list[Kill] = []
        self.ids: dict[int, int] = {}  # marker -> alert id
        self.seconds: dict[str, float] = {}
        self.asked = 0  # requests for the slow feed before the last start

    def _config(self, tmp_path: Path) -> Path:
        data = {
            "database": str(self.database),
            "rules": str(RULES),
            "tick": "1s",
            "defaults": {"interval": "1s", "max_age": "72h"},
            # the feed server is on 127.0.0.1, refused without allow_private
            "fetch": {"timeout": "5s", "connect_timeout": "2s", "allow_private": True},
            "metrics": {"enabled": False},
            # high enough that 100 distinct alerts post one by one
            "slack": {"breaker": 1000, "max_alerts_per_poll": 1000},
            "feeds": [
                {
                    "name": f"Feed {f}",
                    "url": self.feeds.url(f"/f{f}.xml"),
                    "channel": f"#{CHANNELS[f % len(CHANNELS)]}",
                }
                for f in range(FEEDS)
            ],
        }
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def _env(self) -> dict[str, str]:
        return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": self.slack.base_url}

    def publish(self, upto: int) -> None:
        """Items 0..upto-1 are in the feeds (item i in feed i % FEEDS)."""
        for f in range(FEEDS):
            items = [
                Item(title(i), f"https://f{f}.example/story/{i}", f"soak-{i}")
                for i in range(f, upto, FEEDS)
            ]
            if f == 0:
                self.feeds.set_slow("/f0.xml", SLOW, body=rss(items))
            else:
                self.feeds.set_feed(f"/f{f}.xml", rss(items))

    # -- the kills ------------------------------------------------------------------------

    def plan(self) -> list[Kill]:
        aims = [aim for aim, n in AIMS.items() for _ in range(n)]
        self.rng.shuffle(aims)
        return [Kill(aim, round(self.rng.uniform(*DELAYS[aim]), 3)) for aim in aims]

    def anchor(self, aim: str, started: float) -> None:
        """Wait for the moment a kill's delay counts from (in this run, not an earlier)."""
        run = self.daemon.run_start
        if aim == "poll":  # a cycle is out: the slow feed was asked
            wait_until(lambda: self.feeds.count("/f0.xml") > self.asked, 30, "a poll to start")
        elif aim == "post":  # an alert claimed for sending
            wait_until(lambda: self.outbox.claimed_since(started), 30, "an alert being sent")
        else:  # an answer came back and was recorded
            wait_until(lambda: self.daemon.log.named("alert.sent", run), 30, "a post to finish")

    def inspect(self, kill: Kill, started: float) -> None:
        """What the kill left in the database (final: the process is gone)."""
        for row in self.outbox.rows():
            marker = int(MARK.findall(row.title)[0])
            self.ids[marker] = row.id
            if row.state == "new":
                kill.unrouted.append(marker)
            elif row.state == "sending" and (row.claimed_at or 0) < started:
                kill.carried.append(marker)  # this run died before it settled it
            elif row.state == "sending":
                kill.in_doubt.append(marker)

    def reached(self) -> None:
        """Which alerts in doubt Slack had acted on, told by the outcome: the crash check
        found it (``alert.recovered``), or it arrived twice. (A request the dead process
        had sent still lands after the kill: Slack does not know the client died.)"""
        recovered = {int(e["alert"]) for e in self.daemon.log.named("alert.recovered")}
        twice = {m for m, n in markers(self.slack).items() if n > 1}
        for kill in self.kills:
            kill.reached = [m for m in kill.in_doubt if self.ids[m] in recovered or m in twice]

    def start(self) -> float:
        """Start the daemon; returns the wall time just before (the database's clock)."""
        started = time.time()
        self.asked = self.feeds.count("/f0.xml")
        self.daemon.start()
        return started

    def run(self) -> None:
        plan = self.plan()
        began = time.monotonic()
        self.publish(FIRST)
        started = self.start()
        for k, kill in enumerate(plan):
            self.anchor(kill.aim, started)
            time.sleep(kill.delay)  # the fault injected: a random moment after the anchor
            self.daemon.kill()
            self.inspect(kill, started)
            self.kills.append(kill)
            self.publish(min(ALERTS, FIRST + PER_ROUND * (k + 1)))  # all of them at the last
            started = self.start()
        self.seconds["kills"] = time.monotonic() - began
        wait_until(lambda: len(markers(self.slack)) == ALERTS, 180, "every alert in Slack")
        # and nothing left that a later run could send again
        wait_until(lambda: self.outbox.counts() == {"sent": ALERTS}, 30, "every alert marked sent")
        assert self.daemon.stop() == 0
        self.seconds["total"] = time.monotonic() - began
        self.reached()

    # -- what it proves -------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        got = markers(self.slack)
        landed = Counter(where for k in self.kills for where in k.landed)
        return {
            "seed": SEED,
            "kills": len(self.kills),
            "alerts": ALERTS,
            "arrived": len(got),
            "lost": ALERTS - len(got),
            "duplicated": sum(n - 1 for n in got.values() if n > 1),
            "landed": dict(landed),
            "in_doubt": sum(len(k.in_doubt) for k in self.kills),
            "in_doubt_in_slack": sum(len(k.reached) for k in self.kills),
            "carried": sum(len(k.carried) for k in self.kills),
            "most_in_doubt_at_one_kill": max(len(k.in_doubt) for k in self.kills),
            "rate_limited": len(self.slack.rate_limited),
            "recovered": len(self.daemon.log.named("alert.recovered")),
            "resend_in_doubt": len(self.daemon.log.named("alert.resend_in_doubt")),
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }

    def assert_healthy(self) -> None:
        """No crash but ours: no traceback, no bug logged, the fake itself sound."""
        events = self.daemon.log.read()
        assert not [e for e in events if e["event"] in ("deliver.bug", "feed.bug")]
        assert not [e for e in events if e["event"] == "stderr" and "Traceback" in e["line"]]
        assert self.slack.server_errors == [] and self.slack.orphans() == []
        for msg in self.slack.messages:  # each alert posted on its own, never folded
            assert msg["thread_ts"] is None and len(MARK.findall(msg["text"])) == 1


def test_the_fake_slack_acts_halfway_through_its_latency() -> None:
    """What the soak relies on: a post lands in Slack before its answer leaves, and
    lands even when the client is gone by then."""
    with FakeSlack(latency=1.0) as slack, ThreadPoolExecutor(1) as pool:
        client = WebClient(token=TOKEN, base_url=slack.base_url)
        answer = pool.submit(client.chat_postMessage, channel="#ops", text="hi")
        wait_until(lambda: slack.messages, 5, "the message to land")
        assert not answer.done() and slack.in_flight == 1
        assert answer.result()["ok"] and slack.in_flight == 0


@pytest.fixture
def soak(tmp_path: Path, feeds: FeedServer) -> Iterator[Callable[..., Soak]]:
    made: list[Soak] = []

    def make(**slack: Any) -> Soak:
        fake = FakeSlack(rate_limit_per_channel=1.0, latency=LATENCY, **slack).start()
        made.append(Soak(tmp_path, feeds, fake))
        return made[-1]

    yield make
    for s in made:
        s.daemon.cleanup()
        s.slack.stop()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_soak_with_history_every_alert_arrives_exactly_once(soak: Callable[..., Soak]) -> None:
    s = soak()
    s.run()
    figures = s.figures()
    print("soak (history):", figures)
    s.assert_healthy()
    assert figures["lost"] == 0 and figures["duplicated"] == 0, figures
    assert s.daemon.log.named("alert.resend_in_doubt") == []
    # the soak proved something: kills caught alerts in flight that Slack then had,
    # and the crash check found them
    assert figures["in_doubt"] > 0 and figures["recovered"] > 0, figures


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_soak_without_history_scope_repeats_only_what_it_logged(
    soak: Callable[..., Soak],
) -> None:
    s = soak(scopes={"chat:write"})
    s.run()
    figures = s.figures()
    print("soak (no history scope):", figures)
    s.assert_healthy()
    assert figures["lost"] == 0, figures
    logged = Counter(int(e["alert"]) for e in s.daemon.log.named("alert.resend_in_doubt"))
    repeats = {m: n - 1 for m, n in markers(s.slack).items() if n > 1}
    for marker, extra in repeats.items():
        # every repeat was announced, and was in flight at as many kills
        assert logged[s.ids[marker]] >= extra, (marker, extra, logged)
        assert sum(marker in k.in_doubt for k in s.kills) >= extra, (marker, s.kills)
    for kill in s.kills:
        # at most one repeat per kill and channel: each lane has one post in flight
        lanes = [channel(m) for m in kill.in_doubt]
        assert len(lanes) == len(set(lanes)), kill
    assert figures["duplicated"] == sum(repeats.values()) <= len(s.kills) * len(CHANNELS)
