"""The long-running daemon, until SIGTERM/SIGINT: polling and delivery side by side.

Polling: APScheduler jobs on one worker thread (tick: poll the feeds that are
due; housekeeping). Per-feed schedule state lives in the database
(next_poll_at), so a restart neither re-polls everything at once nor forgets a
back-off. Delivery: a thread of its own with its own database connection, woken
when a cycle routed new alerts, so a long drain at Slack's pace never delays a
poll. With ``SLACK_APP_TOKEN``, a Socket Mode client runs beside them
(``slackapp/``): clicks are recorded in the database and wake delivery, which
edits the messages. On SIGTERM each finishes what it holds (a poll, a post, a
click) and stops.

Metrics and health: with ``metrics.enabled``, a small HTTP server on its own thread
serves ``/metrics`` (``metrics.py``) and ``/healthz`` (``health.py``); both threads
above feed the metrics with the reports they already get. Rule and feed-file edits
are taken at each tick.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from . import health
from .app import Monitor, deliver
from .deliver.outbox import DeliveryReport
from .errors import MonitorError
from .metrics import Metrics
from .serve import MetricsServer
from .store import Store

if TYPE_CHECKING:
    from .slackapp import SlackApp

log = structlog.get_logger("daemon")
DELIVERY_EVERY = 5.0  # the delivery thread looks at the outbox at least this often
HOUSEKEEPING_EVERY = 3600.0


class Daemon:
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.metrics = Metrics(
            monitor.settings.database, lambda: [f.name for f in self.monitor.feeds()]
        )
        self.server: MetricsServer | None = None
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        m = self.monitor
        m.store.meta.set("heartbeat", str(time.time()))
        self.metrics.observe_reload("feeds", m.reload_feeds_if_changed())
        self.metrics.observe_reload("rules", m.reload_rules_if_changed())
        report = m.poll(due_only=True, stop=self.stopping.is_set)
        self.metrics.observe_cycle(report, time.time())
        if report.outcomes:
            log.info(
                "tick",
                feeds=len(report.outcomes),
                alerts=report.alerts,
                errors=len(report.errors),
                unchanged=report.count("not_modified") + report.count("unchanged"),
            )
        if report.routed:
            self.wake.set()

    def housekeeping(self) -> None:
        m = self.monitor
        now = time.time()
        pruned = m.store.entries.prune(now - m.settings.retention.total_seconds())
        m.pipeline.expire(now)
        m.store.db.checkpoint()
        log.info("housekeeping", pruned=pruned)

    def deliver_forever(self) -> None:
        store = Store(self.monitor.settings.database)
        delivery = self.monitor.delivery(store, sleep=self.stopping.wait)
        try:
            while not self.stopping.is_set():
                timeout = DELIVERY_EVERY
                try:
                    report = DeliveryReport()
                    self.metrics.delivering(report)  # counted live: a drain can be long
                    deliver(
                        self.monitor, delivery, once=False, stop=self.stopping.is_set, report=report
                    )
                    self.metrics.delivered(report)
                    if report.next_wake is not None:
                        timeout = min(timeout, max(0.05, report.next_wake - time.time()))
                except MonitorError as exc:  # the database failing: say so, keep trying
                    log.error("deliver.failed", error=str(exc), hint=exc.hint)
                except Exception:
                    log.exception("deliver.bug")
                self.wake.wait(timeout)
                self.wake.clear()
        finally:
            store.close()

    def run(self) -> None:
        now = datetime.now(UTC)
        tick = self.monitor.settings.tick.total_seconds()
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=tick,
            next_run_time=now,
            id="tick",
            jitter=min(2.0, tick / 10),
        )
        self.scheduler.add_job(
            self.housekeeping,
            "interval",
            seconds=HOUSEKEEPING_EVERY,
            id="housekeeping",
            next_run_time=now + timedelta(minutes=1),
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.serve_metrics()
        log.info(
            "daemon.start",
            feeds=len(self.monitor.feeds()),
            rules=len(self.monitor.ruleset.rules),
            tick=tick,
            delivery=self.monitor.sender.name,
        )
        sender = threading.Thread(target=self.deliver_forever, name="deliver")
        sender.start()
        self.scheduler.start()
        slack_app = self._slack_app()
        while not self.stopping.wait(1.0):
            pass
        log.info("daemon.stopping", msg="finishing the job in progress")
        if slack_app is not None:
            slack_app.close()
        self.wake.set()
        self.scheduler.shutdown(wait=True)
        sender.join()
        if self.server is not None:
            self.server.stop()
        log.info("daemon.stopped")

    def serve_metrics(self) -> None:
        config = self.monitor.settings.metrics
        if not config.enabled:
            return
        settings = self.monitor.settings
        self.server = MetricsServer(
            config.address, self.metrics.registry, lambda: health.check(settings)
        )
        url = self.server.start()
        log.info("metrics.listening", url=url, metrics=f"{url}/metrics", health=f"{url}/healthz")

    def _slack_app(self) -> SlackApp | None:
        """Buttons and /monitor over Socket Mode, when SLACK_APP_TOKEN is set."""
        secrets = self.monitor.secrets
        if secrets.app_token is None:
            return None
        if not self.monitor.interactive:
            log.warning(
                "slack.app_token_unused",
                hint="SLACK_APP_TOKEN needs SLACK_BOT_TOKEN too (buttons edit the bot's messages)",
            )
            return None
        from .slackapp import SlackApp

        m = self.monitor
        return SlackApp(m.settings, secrets, m.engine, self.wake.set).start()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()
