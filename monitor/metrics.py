"""Prometheus metrics: what the daemon counts, and what the database says at scrape time.

Counters and the histogram are fed from the reports the stages already return:
``CycleReport``/``FeedOutcome`` from the pipeline, ``DeliveryReport`` from delivery,
and the outcome of rule and feed reloads. State (pending alerts, the oldest one's age,
failing feeds, the last tick) is read from the database by a custom collector at each
scrape, so it is exact at that moment, even after `monitor once` changed the database.
Each ``Metrics`` has a registry of its own: no global state, so tests can build many.

Names follow Prometheus' conventions: ``monitor_`` prefix, base units (seconds,
bytes), ``_total`` on counters. Serving them is ``serve.py``'s job.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from . import __version__
from .alerts import AlertState
from .deliver.poster import DeliveryReport
from .errors import StoreError
from .pipeline import CycleReport
from .store import Store

POLL_OUTCOMES = ("ok", "not_modified", "unchanged")  # and one per error kind (pipeline.py)
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, database: Path, feeds: Callable[[], Collection[str]]) -> None:
        """``feeds``: the names of the feeds configured now (they change on reload)."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome", ["outcome"], registry=r)
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome)
        self.fetch_seconds = Histogram(
            "monitor_fetch_duration_seconds",
            "Time one fetch took, headers to last byte",
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.fetched_bytes = Counter("monitor_fetched_bytes", "Feed bytes received", registry=r)
        self.new_entries = Counter(
            "monitor_new_entries", "Entries seen for the first time", registry=r
        )
        self.alerts_created = Counter(
            "monitor_alerts_created",
            "Alerts created, by severity and rule",
            ["severity", "rule"],
            registry=r,
        )
        self.delivery = DeliveryCollector()
        r.register(self.delivery)
        self.story_joins = Counter(
            "monitor_story_joins",
            "Alerts that joined a story already told (thread replies)",
            registry=r,
        )
        self.rule_reloads = Counter("monitor_rule_reloads", "Rule edits taken live", registry=r)
        self.rule_rejected = Counter(
            "monitor_rule_edits_rejected",
            "Rule edits refused (the last good rules stay)",
            registry=r,
        )
        self.feed_reloads = Counter(
            "monitor_feed_reloads", "Feeds file edits taken live", registry=r
        )
        self.feed_rejected = Counter(
            "monitor_feed_edits_rejected",
            "Feeds file edits refused (the last good feeds stay)",
            registry=r,
        )
        self.cycles = Counter(
            "monitor_cycles", "Poll cycles that polled at least one feed", registry=r
        )
        self.last_success = Gauge(
            "monitor_last_successful_cycle_timestamp_seconds",
            "When a cycle last had at least one feed answer (Unix time)",
            registry=r,
        )
        Info("monitor_build", "The monitor's version", registry=r).info(
            {"version": __version__, "python": platform.python_version()}
        )
        r.register(DatabaseCollector(database, feeds))

    def observe_cycle(self, report: CycleReport, now: float) -> None:
        for o in report.outcomes:
            self.polls.labels(o.error_kind or o.status).inc()
            if o.seconds:
                self.fetch_seconds.observe(o.seconds)
            self.fetched_bytes.inc(o.size)
            self.new_entries.inc(o.new_entries)
        for (severity, rule), n in report.created.items():
            self.alerts_created.labels(severity, rule).inc(n)
        self.story_joins.inc(report.joins)
        if report.outcomes:
            self.cycles.inc()
            if any(o.status != "error" for o in report.outcomes):
                self.last_success.set(now)

    def delivering(self, report: DeliveryReport) -> None:
        """A delivery run starts filling ``report``: scrapes count it as it goes."""
        self.delivery.live = report

    def delivered(self, report: DeliveryReport) -> None:
        self.delivery.finished(report)

    def observe_reload(self, what: str, outcome: str) -> None:
        """``what``: rules | feeds; ``outcome``: reloaded | rejected | unchanged."""
        counters = {
            ("rules", "reloaded"): self.rule_reloads,
            ("rules", "rejected"): self.rule_rejected,
            ("feeds", "reloaded"): self.feed_reloads,
            ("feeds", "rejected"): self.feed_rejected,
        }
        counter = counters.get((what, outcome))
        if counter is not None:
            counter.inc()


class DeliveryCollector(Collector):
    """Delivery's counters: finished runs added up, plus the run in progress (a drain
    at Slack's pace, or through an outage, can last long; counts must not wait for it)."""

    FIELDS = (
        ("sent", "monitor_alerts_sent", "Alerts Slack accepted"),
        ("retried", "monitor_alerts_retried", "Delivery attempts that failed, to be retried"),
        ("failed", "monitor_alerts_failed", "Alerts Slack refused for good (invalid_auth, …)"),
        ("rate_limited", "monitor_slack_rate_limited", "Slack 429 answers"),
        (
            "retry_after",
            "monitor_slack_rate_limit_wait_seconds",
            "Seconds Slack's Retry-After asked a channel to wait",
        ),
    )

    def __init__(self) -> None:
        self.totals = dict.fromkeys((f for f, _, _ in self.FIELDS), 0.0)
        self.live: DeliveryReport | None = None
        self.lock = threading.Lock()

    def finished(self, report: DeliveryReport) -> None:
        with self.lock:
            for name in self.totals:
                self.totals[name] += float(getattr(report, name))
            if self.live is report:
                self.live = None

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[CounterMetricFamily]:
        with self.lock:
            live = self.live
            totals = dict(self.totals)
        for name, metric, doc in self.FIELDS:
            extra = float(getattr(live, name)) if live is not None else 0.0
            yield CounterMetricFamily(metric, doc, value=totals[name] + extra)


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape, on a connection of its own (the
    scrape runs on the HTTP server's thread)."""

    def __init__(self, database: Path, feeds: Callable[[], Collection[str]]) -> None:
        self.database = database
        self.feeds = feeds

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # described at collect time; the registry does not need it

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now, names = time.time(), self.feeds()
        up = GaugeMetricFamily("monitor_database_up", "1 when the database could be read")
        try:
            with Store(self.database) as store:
                counts = store.outbox.counts()
                pending, oldest = store.outbox.pending_summary()
                failing = store.feeds.failing(names)
                beat = store.meta.get("heartbeat")
        except StoreError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_state = GaugeMetricFamily(
            "monitor_outbox_alerts", "Alerts in the outbox by state", labels=["state"]
        )
        for state in AlertState:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "monitor_outbox_pending",
            "Alerts waiting to be sent (pending, or being sent now)",
            value=pending,
        )
        yield GaugeMetricFamily(
            "monitor_outbox_oldest_pending_age_seconds",
            "How long the oldest pending alert has waited (0: none pending)",
            value=max(0.0, now - oldest) if oldest is not None else 0.0,
        )
        yield GaugeMetricFamily("monitor_feeds", "Feeds configured and enabled", value=len(names))
        yield GaugeMetricFamily(
            "monitor_feeds_failing", "Feeds whose last poll failed", value=failing
        )
        yield GaugeMetricFamily(
            "monitor_last_tick_timestamp_seconds",
            "When the scheduler last ticked (Unix time; 0: never)",
            value=float(beat) if beat else 0.0,
        )
