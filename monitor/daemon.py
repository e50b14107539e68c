"""The long-running daemon: APScheduler jobs over the Monitor, until SIGTERM/SIGINT.

Per-feed schedule state lives in the database (next_poll_at), and a short
periodic tick polls the feeds that are due, so a restart neither re-polls
everything at once nor forgets a back-off. Jobs share one worker thread: they
share one SQLite connection, and a poll must never interleave with a delivery.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from types import FrameType

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from .app import Monitor

log = structlog.get_logger("daemon")
DELIVERY_EVERY = 5.0
HOUSEKEEPING_EVERY = 3600.0
DIGEST_EVERY = 300.0


class Daemon:
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        m = self.monitor
        m.store.set_meta("heartbeat", str(time.time()))
        m.reload_rules_if_changed()
        report = m.poll(due_only=True, stop=self.stopping.is_set)
        if report.outcomes:
            log.info(
                "tick",
                feeds=len(report.outcomes),
                alerts=report.alerts,
                errors=len(report.errors),
                unchanged=report.count("not_modified") + report.count("unchanged"),
            )
        if report.alerts and not self.stopping.is_set():
            self.deliver()

    def deliver(self) -> None:
        if not self.stopping.is_set():
            self.monitor.deliver(wait_out_429=False, stop=self.stopping.is_set)

    def digests(self) -> None:
        if not self.stopping.is_set():
            self.monitor.send_digests()

    def housekeeping(self) -> None:
        m = self.monitor
        cutoff = time.time() - m.settings.retention.total_seconds()
        pruned = m.store.prune(cutoff)
        if m.grouper is not None:
            m.grouper.expire(time.time())
        m.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.info("housekeeping", pruned=pruned)

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
            self.deliver,
            "interval",
            seconds=DELIVERY_EVERY,
            id="deliver",
            next_run_time=now + timedelta(seconds=1),
        )
        self.scheduler.add_job(
            self.digests,
            "interval",
            seconds=DIGEST_EVERY,
            id="digests",
            next_run_time=now + timedelta(seconds=30),
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
        feeds = len(self.monitor.feeds())
        log.info(
            "daemon.start",
            feeds=feeds,
            rules=len(self.monitor.ruleset.rules),
            tick=tick,
            delivery=self.monitor.sender.name,
        )
        self.scheduler.start()
        while not self.stopping.wait(1.0):
            pass
        log.info("daemon.stopping", msg="finishing the job in progress")
        self.scheduler.shutdown(wait=True)
        log.info("daemon.stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()
