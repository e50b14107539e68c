"""Builds the parts from the settings; shared by `monitor once` and `monitor run`."""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import structlog

from . import schedule
from .config import FeedConfig, Secrets, Settings, load_feeds_file
from .deliver.outbox import Delivery, DeliveryReport
from .deliver.sender import Sender
from .errors import ConfigError, RuleError
from .feeds.fetch import Fetcher
from .lockfile import open_beside
from .ops import Ops
from .pipeline import CycleReport, FeedOutcome, Pipeline
from .rules import Engine, RuleSet, load_rules, signature
from .store import Store

log = structlog.get_logger("monitor")
Reload = Literal["unchanged", "reloaded", "rejected"]


def make_sender(settings: Settings, secrets: Secrets, stream: IO[str] | None = None) -> Sender:
    if secrets.bot_token:
        from .deliver.slack import BotSender

        return BotSender(
            secrets.bot_token.get_secret_value(), secrets.api_url, settings.slack.username
        )
    if secrets.webhook_url:
        from .deliver.webhook import WebhookSender

        return WebhookSender(secrets.webhook_url.get_secret_value())
    from .deliver.console import ConsoleSender

    return ConsoleSender(stream)


def make_fetcher(settings: Settings) -> Fetcher:
    f = settings.fetch
    return Fetcher(
        timeout=f.timeout.total_seconds(),
        connect_timeout=f.connect_timeout.total_seconds(),
        max_bytes=f.max_bytes,
        user_agent=f.user_agent,
        concurrency=f.concurrency,
        per_host=f.per_host,
        max_redirects=f.max_redirects,
        allow_private=f.allow_private,
    )


@contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    """One daemon or `once` per database: two would send the same alerts."""
    handle = open_beside(
        database, "`database:` must be a file in a folder the monitor may write to"
    )
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


@dataclass
class Monitor:
    settings: Settings
    store: Store
    ruleset: RuleSet
    sender: Sender
    clock: Callable[[], float] = time.time
    secrets: Secrets = field(default_factory=Secrets)
    fetcher: Fetcher = field(init=False)
    pipeline: Pipeline = field(init=False)
    feeds_signature: tuple[int, ...] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.fetcher = make_fetcher(self.settings)
        self.ops = Ops(self.store, self.settings, self.clock)
        self.pipeline = Pipeline(
            self.settings,
            self.store,
            self.fetcher,
            self.engine,
            self.clock,
            on_stored=self.ops.after_poll,
        )
        self.feeds_signature = _signature(self.settings.feeds_file)
        self.sync_feeds()

    def sync_feeds(self) -> None:
        """The feeds table follows the settings; new feeds' first polls are spread
        over the next minute (or interval), so a big import does not hit at once."""
        now = self.clock()
        feeds = [f for f in self.settings.feeds if f.enabled]
        first = {
            f.name: schedule.first_poll(now, self.settings.policy(f), random.random())
            for f in feeds
        }
        self.store.feeds.sync([(f.name, f.url) for f in feeds], now, first)

    @classmethod
    def open(
        cls, settings: Settings, secrets: Secrets | None = None, stream: IO[str] | None = None
    ) -> Monitor:
        ruleset = load_rules(settings.rules)
        store = Store(settings.database)
        secrets = secrets or Secrets.from_env()
        sender = make_sender(settings, secrets, stream)
        return cls(settings, store, ruleset, sender, secrets=secrets)

    def close(self) -> None:
        self.pipeline.parser.close()
        self.fetcher.close()
        self.sender.close()
        self.store.close()

    def engine(self) -> Engine:
        return self.ruleset.engine

    @property
    def interactive(self) -> bool:
        """People act on alerts from Slack: an app token (Socket Mode) beside a bot
        token (which edits the messages). Without it no buttons are sent."""
        return bool(self.secrets.app_token and self.secrets.bot_token)

    def feeds(self) -> list[FeedConfig]:
        return [feed for feed in self.settings.feeds if feed.enabled]

    def poll(
        self,
        *,
        due_only: bool,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[FeedOutcome], None] | None = None,
    ) -> CycleReport:
        feeds = self.feeds()
        if due_only:
            due = set(self.store.feeds.due(self.clock()))
            feeds = [f for f in feeds if f.name in due]
        report = self.pipeline.poll(feeds, stop=stop, progress=progress)
        self.ops.check_feeds()
        return report

    def delivery(
        self, store: Store | None = None, sleep: Callable[[float], object] = time.sleep
    ) -> Delivery:
        """The outbox's sender. The daemon gives it a connection of its own (``store``),
        so delivery drains while the next poll runs."""
        d, slack = self.settings.delivery, self.settings.slack
        return Delivery(
            store or self.store,
            self.sender,
            max_wait_429=d.max_wait_429.total_seconds(),
            max_backoff=d.max_backoff.total_seconds(),
            digest_hour=slack.digest_hour,
            clock=self.clock,
            sleep=sleep,
            buttons=self.interactive,
        )

    def reload_feeds_if_changed(self) -> Reload:
        """The feeds file changed (`monitor feeds add`, `remove`, `import`, or by hand):
        take it live. A bad edit never takes effect: the last good feeds stay."""
        current = _signature(self.settings.feeds_file)
        if current == self.feeds_signature:
            return "unchanged"
        self.feeds_signature = current
        assert self.settings.feeds_file is not None
        try:
            fresh = load_feeds_file(self.settings.feeds_file, self.settings)
        except ConfigError as exc:
            self.store.meta.set("feeds_error", str(exc))
            log.error("feeds.invalid", error=str(exc), msg="the last good feeds stay active")
            return "rejected"
        self.store.meta.set("feeds_error", None)
        self.settings = self.settings.with_managed(fresh)
        self.pipeline.settings = self.ops.settings = self.settings
        self.sync_feeds()
        log.info("feeds.reloaded", feeds=len(self.feeds()))
        return "reloaded"

    def reload_rules_if_changed(self) -> Reload:
        """Live reload: a bad edit never takes effect; the last good rules stay."""
        current = signature(self.settings.rules)
        if current == self.ruleset.signature:
            return "unchanged"
        try:
            fresh = load_rules(self.settings.rules)
        except RuleError as exc:
            self.ruleset.signature = current  # report each broken state once
            text = "\n".join(str(p) for p in exc.problems if p.level == "error")
            self.store.meta.set("rules_error", text)
            self.ops.rules(text)
            log.error(
                "rules.invalid",
                error=str(exc),
                problems=len(exc.problems),
                msg="rule edit rejected; the last good rules stay active",
            )
            return "rejected"
        self.ruleset = fresh
        self.store.meta.set("rules_error", None)
        self.ops.rules(None)
        log.info("rules.reloaded", rules=len(fresh.rules))
        return "reloaded"


def _signature(path: Path | None) -> tuple[int, ...] | None:
    """Changes with every edit: a new inode (an atomic rewrite), a new time or size."""
    try:
        stat = path.stat() if path else None
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size) if stat else None


def deliver(
    monitor: Monitor,
    delivery: Delivery,
    *,
    once: bool,
    stop: Callable[[], bool] = lambda: False,
    report: DeliveryReport | None = None,
) -> DeliveryReport:
    """One delivery run, and what it tells the ops checks about Slack."""
    report = delivery.run(once=once, stop=stop, report=report)
    Ops(delivery.store, monitor.settings, monitor.clock).slack(
        {e.code for e in report.permanent if isinstance(e.code, str)}, report.sent
    )
    return report
