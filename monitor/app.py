"""Builds the parts from the settings and runs a cycle; shared by `once` and `run`."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog

from .config import Secrets, Settings
from .deliver.outbox import DeliveryReport, Outbox
from .deliver.slack import BotSender, ConsoleSender, Sender, WebhookSender
from .errors import ConfigError, RuleError
from .fetch import Fetcher
from .models import Entry
from .ops import Ops
from .pipeline import FeedOutcome, Poller, PollReport
from .rules import Engine, RuleSet, load_rules, signature
from .store import Store
from .stories import Decision, StoryIndex

log = structlog.get_logger("monitor")
WARM_ENTRIES = 20_000  # recent entries counted for word rarity when the index is rebuilt


def make_sender(
    settings: Settings, secrets: Secrets, stream: IO[str] | None = None
) -> Sender | ConsoleSender:
    if secrets.bot_token:
        return BotSender(
            secrets.bot_token.get_secret_value(), secrets.api_url, settings.slack.username
        )
    if secrets.webhook_url:
        return WebhookSender(secrets.webhook_url.get_secret_value())
    return ConsoleSender(stream)


@contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    """One daemon or `once` per database: two would send the same alerts."""
    database.parent.mkdir(parents=True, exist_ok=True)
    path = database.with_name(database.name + ".lock")
    handle = open(path, "a+")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise ConfigError(
            "another monitor is already running on this database",
            file=str(database),
            hint="stop it first, or point --config at a configuration with another database",
        ) from exc
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class LazyIndex:
    """The story index, built from the database on first use: a cycle in which
    nothing new arrives (every feed 304) never pays for rebuilding it."""

    def __init__(self, build: Callable[[], StoryIndex]) -> None:
        self._build = build
        self._index: StoryIndex | None = None

    @property
    def index(self) -> StoryIndex:
        if self._index is None:
            self._index = self._build()
        return self._index

    def observe(self, entry: Entry) -> None:
        self.index.observe(entry)

    def decide(self, key: str, entry: Entry, at: float) -> Decision:
        return self.index.decide(key, entry, at)

    def add(self, key: str, story: str, entry: Entry, at: float) -> None:
        self.index.add(key, story, entry, at)

    def expire(self, now: float) -> None:
        if self._index is not None:
            self._index.expire(now)


@dataclass
class Monitor:
    settings: Settings
    secrets: Secrets
    store: Store
    ruleset: RuleSet
    sender: Sender | ConsoleSender
    clock: Callable[[], float] = time.time
    fetcher: Fetcher = field(init=False)
    poller: Poller = field(init=False)

    def __post_init__(self) -> None:
        f = self.settings.fetch
        self.fetcher = Fetcher(
            timeout=f.timeout.total_seconds(),
            connect_timeout=f.connect_timeout.total_seconds(),
            max_bytes=f.max_bytes,
            user_agent=f.user_agent,
            pool_size=f.concurrency,
        )
        self.grouper = LazyIndex(self._story_index) if self.settings.stories.enabled else None
        self.ops = Ops(self.store, self.settings, self.clock)
        self.poller = Poller(
            self.settings,
            self.store,
            self.fetcher,
            self.engine,
            self.clock,
            grouper=self.grouper,
            on_stored=self.ops.after_poll,
        )
        feeds = [(feed.name, feed.url) for feed in self.settings.feeds if feed.enabled]
        self.store.sync_feeds(feeds, self.clock())

    def _story_index(self) -> StoryIndex:
        """Rebuilt from the database, so a restart keeps grouping with earlier alerts."""
        cfg = self.settings.stories
        index = StoryIndex(window=cfg.window.total_seconds(), threshold=cfg.threshold)
        for entry in self.store.recent_entries(WARM_ENTRIES):
            index.observe(entry)
        since = self.clock() - cfg.window.total_seconds()
        for entry_id, story_id, entry, at in self.store.recent_story_items(since):
            index.add(str(entry_id), str(story_id), entry, at)
        return index

    @classmethod
    def open(
        cls, settings: Settings, secrets: Secrets | None = None, stream: IO[str] | None = None
    ) -> Monitor:
        ruleset = load_rules(settings.rules)
        store = Store(settings.database)
        secrets = secrets or Secrets.from_env()
        return cls(settings, secrets, store, ruleset, make_sender(settings, secrets, stream))

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def engine(self) -> Engine:
        return self.ruleset.engine

    def feeds(self) -> list:  # type: ignore[type-arg]
        return [feed for feed in self.settings.feeds if feed.enabled]

    def poll(
        self,
        *,
        due_only: bool,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> PollReport:
        feeds = self.feeds()
        if due_only:
            due = set(self.store.due_feeds(self.clock()))
            feeds = [f for f in feeds if f.name in due]
        report = self.poller.poll(feeds, stop=stop, progress=progress)
        self.ops.check_feeds()
        return report

    def outbox(self, *, wait_out_429: bool) -> Outbox:
        d, slack = self.settings.delivery, self.settings.slack
        return Outbox(
            self.store,
            self.sender,
            wait_out_429=wait_out_429,
            max_wait=d.max_wait_429.total_seconds(),
            max_backoff=d.max_backoff.total_seconds(),
            breaker=slack.breaker,
            mentions=slack.mentions,
            clock=self.clock,
        )

    def deliver(
        self, *, wait_out_429: bool, stop: Callable[[], bool] = lambda: False
    ) -> DeliveryReport:
        report = self.outbox(wait_out_429=wait_out_429).deliver(stop)
        self.ops.slack({e.code for e in report.permanent}, report.sent)
        return report

    def send_digests(self) -> DeliveryReport:
        return self.outbox(wait_out_429=False).send_digests(self.settings.slack.digest_hour)

    def reload_rules_if_changed(self) -> bool:
        """Live reload: a bad edit never takes effect; the last good rules stay."""
        current = signature(self.settings.rules)
        if current == self.ruleset.signature:
            return False
        try:
            fresh = load_rules(self.settings.rules)
        except RuleError as exc:
            self.ruleset.signature = current  # report each broken state once
            text = "\n".join(str(p) for p in exc.problems if p.level == "error")
            self.store.set_meta("rules_error", text)
            self.ops.rules(text)
            log.error(
                "rules.invalid",
                error=str(exc),
                problems=len(exc.problems),
                msg="rule edit rejected; the last good rules stay active",
            )
            return False
        self.ruleset = fresh
        self.store.set_meta("rules_error", None)
        self.ops.rules(None)
        log.info("rules.reloaded", rules=len(fresh.rules))
        return True
