"""Send what the outbox holds. Never fails a poll; never loses or repeats an alert.

Each alert is claimed (state ``sending``, committed) before Slack is called and
marked ``sent`` with Slack's ``ts`` after. A crash between the two leaves it
``sending``: on the next run we ask Slack whether it arrived (message metadata
carries the alert id) and only resend when it did not, or, where Slack cannot
be asked (webhooks, missing scopes), resend and say so in the log.

A story's first alert is a top-level message; later reports of the same story
are replies in its thread, and the first message is edited to count the
outlets. More than ``breaker`` alerts for one channel at once become one digest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ..errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from ..store import Store
from .render import Message, render_alert, render_digest, render_followup
from .slack import ConsoleSender, Posted, Sender

log = structlog.get_logger("deliver")

BURST = 4  # posts allowed back to back in one channel before pacing to ~1/s
ROOT_WAIT = 5.0  # a follow-up whose story's first alert is not out yet waits this long
PAGE = 500  # outbox rows read at a time


@dataclass
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    permanent: list[DeliveryError] = field(default_factory=list)


@dataclass
class Outbox:
    store: Store
    sender: Sender | ConsoleSender
    wait_out_429: bool = False  # `monitor once`: wait Retry-After in the run
    max_wait: float = 120.0
    max_backoff: float = 1800.0
    breaker: int = 20
    mentions: dict[str, list[str]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _recent: dict[str, list[float]] = field(default_factory=dict)

    def deliver(self, stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
        report = DeliveryReport()
        self._settle_in_doubt()
        streak, after = 0, 0
        while not stop():
            due = self.store.due_alerts(self.clock(), PAGE, after)
            if not due:
                break
            after = due[-1]["id"]
            for alert in self._trip_breakers(due, report):
                if stop():
                    break
                outcome = self._deliver_one(alert, report)
                streak = streak + 1 if outcome == "retry" else 0
                if streak >= 3 and not self.wait_out_429:
                    # Slack is down: leave the rest for the next run instead of hammering it
                    self._refresh_stories(report)
                    return report
        self._refresh_stories(report)
        return report

    # -- crash recovery ----------------------------------------------------------------

    def _settle_in_doubt(self) -> None:
        for alert in self.store.in_doubt():
            since = alert["claimed_at"] or alert["created_at"]
            found = self.sender.find_posted(alert["id"], alert["channel"], since)
            if found is not None and found.ts:
                self._sent(alert, found)
                log.info(
                    "alert.recovered",
                    alert=alert["id"],
                    ts=found.ts,
                    msg="alert in flight at a crash had reached Slack",
                )
                continue
            if found is None and self.sender.name != "terminal":
                log.warning(
                    "alert.resend_in_doubt",
                    alert=alert["id"],
                    msg="alert was in flight at a crash and Slack cannot be asked "
                    "whether it arrived; sending again (may repeat once)",
                )
            self.store.mark_retry(alert["id"], "in flight at a crash", 0)

    # -- one alert ----------------------------------------------------------------------

    def _deliver_one(self, alert: dict[str, Any], report: DeliveryReport) -> str:
        story = self.store.story(alert.get("story_id"))
        thread: tuple[str, str] | None = None
        if alert.get("role") == "followup" and story is not None:
            ready = self._story_ready(alert, story)
            if ready == "wait":
                self.store.defer(alert["id"], self.clock() + ROOT_WAIT)
                return "deferred"
            if ready == "thread":
                thread = (story["slack_channel"], story["slack_ts"])
        if not self.store.claim(alert["id"], self.clock()):
            return "skipped"
        if isinstance(self.sender, ConsoleSender):
            self.sender.show(alert, story)
            self._sent(alert, Posted(None, None))
            report.sent += 1
            return "sent"
        message, channel, kwargs = self._message(alert, story, thread)
        return self._post(self.sender, alert, message, channel, kwargs, report)

    def _story_ready(self, alert: dict[str, Any], story: dict[str, Any]) -> str:
        """thread: reply under the first message; line: post a compact line;
        alone: the first alert is not coming (failed, muted), post a full alert;
        wait: the first alert is not out yet."""
        root = self.store.story_root(story["id"])
        if root is None or root["state"] in ("failed", "muted", "digest"):
            return "alone"
        if root["state"] != "sent":
            return "wait"
        if story["slack_ts"] and self.sender.threads:
            return "thread"
        return "line"

    def _message(
        self, alert: dict[str, Any], story: dict[str, Any] | None, thread: tuple[str, str] | None
    ) -> tuple[Message, str, dict[str, Any]]:
        if thread is not None:
            broadcast = bool(alert.get("broadcast"))
            return (
                render_followup(alert),
                thread[0],
                {"thread_ts": thread[1], "broadcast": broadcast},
            )
        if (
            alert.get("role") == "followup"
            and story is not None
            and self._story_ready(alert, story) == "line"
        ):
            return render_followup(alert, thread=False), alert["channel"], {}
        severity = (
            alert["payload"]["matches"][0]["severity"] if alert["payload"].get("matches") else ""
        )
        mentions = self.mentions.get(severity) if alert.get("role") == "root" else None
        return render_alert(alert, story, mentions), alert["channel"], {}

    def _post(
        self,
        sender: Sender,
        alert: dict[str, Any],
        message: Message,
        channel: str,
        kwargs: dict[str, Any],
        report: DeliveryReport,
    ) -> str:
        alert_id = alert["id"]
        waited = 0.0
        while True:
            self._pace(channel)
            try:
                posted = sender.post(message, channel, alert_id, **kwargs)
            except TransientDeliveryError as exc:
                delay = exc.retry_after
                if self.wait_out_429 and delay is not None and waited + delay <= self.max_wait:
                    log.info("slack.rate_limited", alert=alert_id, wait=delay)
                    self.sleep(delay)
                    waited += delay
                    continue
                attempts = int(alert["attempts"]) + 1
                backoff = min(self.max_backoff, 30.0 * 2 ** (attempts - 1))
                next_at = self.clock() + max(backoff, delay or 0.0)
                self.store.mark_retry(alert_id, str(exc), next_at)
                log.warning(
                    "alert.retry_later",
                    alert=alert_id,
                    error=str(exc),
                    retry_in=round(next_at - self.clock()),
                )
                report.retry += 1
                report.errors.append(str(exc))
                return "retry"
            except PermanentDeliveryError as exc:
                self.store.mark_failed(alert_id, f"{exc.code}: {exc}")
                log.error(
                    "alert.failed", alert=alert_id, channel=channel, error=exc.code, hint=exc.hint
                )
                report.failed += 1
                report.errors.append(exc.describe())
                report.permanent.append(exc)
                return "failed"
            self._sent(alert, posted)
            log.info(
                "alert.sent",
                alert=alert_id,
                channel=posted.channel or channel,
                ts=posted.ts,
                rule=alert["rule_id"],
                story=alert.get("story_id"),
                role=alert.get("role"),
            )
            report.sent += 1
            return "sent"

    def _sent(self, alert: dict[str, Any], posted: Posted) -> None:
        self.store.mark_sent(alert["id"], self.clock(), posted.channel, posted.ts)
        story_id = alert.get("story_id")
        if story_id is None:
            return
        if alert.get("role") == "root":
            self.store.set_story_message(story_id, posted.channel, posted.ts)
        else:
            self.store.mark_story_dirty(story_id, True)  # the first message shows a count

    def _refresh_stories(self, report: DeliveryReport) -> None:
        """Edit each story's first message to count its outlets (chat.update)."""
        if not self.sender.threads or isinstance(self.sender, ConsoleSender):
            return
        for story_id in self.store.dirty_stories():
            story = self.store.story(story_id)
            root = self.store.story_root(story_id)
            if story is None or root is None:
                continue
            try:
                self.sender.update(
                    story["slack_channel"], story["slack_ts"], render_alert(root, story)
                )
            except DeliveryError as exc:
                log.warning("story.update_failed", story=story_id, error=str(exc))
                report.errors.append(str(exc))
                continue
            self.store.mark_story_dirty(story_id, False)

    # -- many at once -------------------------------------------------------------------

    def _trip_breakers(
        self, due: list[dict[str, Any]], report: DeliveryReport
    ) -> list[dict[str, Any]]:
        """More than ``breaker`` new alerts for one channel: one digest, not N pings."""
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for alert in due:
            if alert["kind"] == "alert" and alert.get("role") == "root":
                by_channel.setdefault(alert["channel"], []).append(alert)
        tripped = {ch for ch, alerts in by_channel.items() if len(alerts) > self.breaker}
        for channel in tripped:
            alerts = by_channel[channel]
            title = f"{len(alerts)} alerts at once for {channel}; sent as one digest"
            if self._send_digest(channel, title, alerts, report):
                log.warning("breaker.tripped", channel=channel, alerts=len(alerts))
        return [
            a
            for a in due
            if not (a["channel"] in tripped and a["kind"] == "alert" and a.get("role") == "root")
        ]

    def send_digests(self, digest_hour: int) -> DeliveryReport:
        """Collected low-severity (and `digest:`) alerts whose period has ended."""
        report = DeliveryReport()
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        hour_start = now.replace(minute=0, second=0, microsecond=0)
        day_start = now.replace(hour=digest_hour, minute=0, second=0, microsecond=0)
        if day_start > now:
            day_start -= timedelta(days=1)
        due: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for alert in self.store.digest_alerts():
            period = alert.get("digest") or "daily"
            boundary = hour_start if period == "hourly" else day_start
            if alert["created_at"] < boundary.timestamp():
                due.setdefault((alert["channel"], period), []).append(alert)
        for (channel, period), alerts in due.items():
            title = f"{'Hourly' if period == 'hourly' else 'Daily'} digest: {len(alerts)} items"
            self._send_digest(channel, title, alerts, report)
        return report

    def _send_digest(
        self, channel: str, title: str, alerts: list[dict[str, Any]], report: DeliveryReport
    ) -> bool:
        ids = [a["id"] for a in alerts]
        if isinstance(self.sender, ConsoleSender):
            self.sender.show_digest(title, alerts)
            self.store.mark_many_sent(ids, self.clock(), None, None)
            report.sent += len(ids)
            return True
        self._pace(channel)
        try:
            posted = self.sender.post(render_digest(title, alerts), channel, -ids[0])
        except DeliveryError as exc:
            log.warning("digest.not_sent", channel=channel, items=len(ids), error=str(exc))
            report.errors.append(str(exc))
            return False
        self.store.mark_many_sent(ids, self.clock(), posted.channel, posted.ts)
        for alert in alerts:
            if alert.get("story_id") and alert.get("role") == "root":
                self.store.set_story_message(alert["story_id"], posted.channel, posted.ts)
        report.sent += len(ids)
        log.info("digest.sent", channel=channel, items=len(ids), ts=posted.ts)
        return True

    def _pace(self, channel: str) -> None:
        """About one post per second per channel after a short burst (Slack's limit)."""
        now = self.clock()
        recent = [t for t in self._recent.get(channel, []) if now - t < BURST]
        if len(recent) >= BURST:
            wait = 1.0 - (now - recent[-1])
            if wait > 0:
                self.sleep(wait)
        recent.append(self.clock())
        self._recent[channel] = recent[-BURST:]
