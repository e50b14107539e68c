"""Builds the parts from the settings; shared by `monitor once` and `monitor run`."""

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

from .config import FeedConfig, Secrets, Settings
from .deliver.outbox import Delivery, DeliveryReport
from .deliver.sender import Sender
from .errors import ConfigError, RuleError
from .feeds.fetch import Fetcher
from .ops import Ops
from .pipeline import CycleReport, FeedOutcome, Pipeline
from .rules import Engine, RuleSet, load_rules, signature
from .store import Store

log = structlog.get_logger("monitor")


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


@contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    """One daemon or `once` per database: two would send the same alerts."""
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        handle = open(database.with_name(database.name + ".lock"), "a+")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(
            f"cannot create the lock file beside the database: {exc.strerror or exc}",
            file=str(database),
            hint="`database:` must be a file in a folder the monitor may write to",
        ) from exc
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
    fetcher: Fetcher = field(init=False)
    pipeline: Pipeline = field(init=False)

    def __post_init__(self) -> None:
        f = self.settings.fetch
        self.fetcher = Fetcher(
            timeout=f.timeout.total_seconds(),
            connect_timeout=f.connect_timeout.total_seconds(),
            max_bytes=f.max_bytes,
            user_agent=f.user_agent,
            concurrency=f.concurrency,
            per_host=f.per_host,
            max_redirects=f.max_redirects,
            allow_private=f.allow_private,
        )
        self.ops = Ops(self.store, self.settings, self.clock)
        self.pipeline = Pipeline(
            self.settings,
            self.store,
            self.fetcher,
            self.engine,
            self.clock,
            on_stored=self.ops.after_poll,
        )
        feeds = [(feed.name, feed.url) for feed in self.settings.feeds if feed.enabled]
        self.store.feeds.sync(feeds, self.clock())

    @classmethod
    def open(
        cls, settings: Settings, secrets: Secrets | None = None, stream: IO[str] | None = None
    ) -> Monitor:
        ruleset = load_rules(settings.rules)
        store = Store(settings.database)
        sender = make_sender(settings, secrets or Secrets.from_env(), stream)
        return cls(settings, store, ruleset, sender)

    def close(self) -> None:
        self.fetcher.close()
        self.sender.close()
        self.store.close()

    def engine(self) -> Engine:
        return self.ruleset.engine

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
        )

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
            self.store.meta.set("rules_error", text)
            self.ops.rules(text)
            log.error(
                "rules.invalid",
                error=str(exc),
                problems=len(exc.problems),
                msg="rule edit rejected; the last good rules stay active",
            )
            return False
        self.ruleset = fresh
        self.store.meta.set("rules_error", None)
        self.ops.rules(None)
        log.info("rules.reloaded", rules=len(fresh.rules))
        return True


def deliver(
    monitor: Monitor, delivery: Delivery, *, once: bool, stop: Callable[[], bool] = lambda: False
) -> DeliveryReport:
    """One delivery run, and what it tells the ops checks about Slack."""
    report = delivery.run(once=once, stop=stop)
    Ops(delivery.store, monitor.settings, monitor.clock).slack(
        {e.code for e in report.permanent if isinstance(e.code, str)}, report.sent
    )
    return report
