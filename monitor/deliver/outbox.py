"""Send what the outbox holds. Never fails a poll; never loses or repeats an alert.

Each alert is claimed (state ``sending``, committed) before Slack is called and
marked ``sent`` with Slack's ``ts`` after. A crash between the two leaves it
``sending``: on the next run we ask Slack whether it arrived (message metadata
carries the alert id) and only resend when it did not — or, where Slack cannot
be asked (webhooks, missing scopes), resend and say so in the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from ..errors import PermanentDeliveryError, TransientDeliveryError
from ..store import Store
from .render import render_alert
from .slack import ConsoleSender, Sender

log = structlog.get_logger("deliver")

BURST = 4  # posts allowed back to back in one channel before pacing to ~1/s


@dataclass
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Outbox:
    store: Store
    sender: Sender | ConsoleSender
    wait_out_429: bool = False  # `monitor once`: wait Retry-After in the run
    max_wait: float = 120.0
    max_backoff: float = 1800.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _recent: dict[str, list[float]] = field(default_factory=dict)

    def deliver(self, stop: Callable[[], bool] = lambda: False) -> DeliveryReport:
        report = DeliveryReport()
        self._settle_in_doubt()
        streak = 0
        for alert in self.store.due_alerts(self.clock()):
            if stop():
                break
            outcome = self._deliver_one(alert, report)
            streak = streak + 1 if outcome == "retry" else 0
            if streak >= 3 and not self.wait_out_429:
                # Slack is down: leave the rest for the next run instead of hammering it
                break
        return report

    def _settle_in_doubt(self) -> None:
        for alert in self.store.in_doubt():
            since = alert["claimed_at"] or alert["created_at"]
            found = self.sender.find_posted(alert["id"], alert["channel"], since)
            if found is not None and found.ts:
                self.store.mark_sent(alert["id"], self.clock(), found.channel, found.ts)
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

    def _deliver_one(self, alert: dict[str, object], report: DeliveryReport) -> str:
        alert_id = int(alert["id"])  # type: ignore[call-overload]
        channel = str(alert["channel"])
        if not self.store.claim(alert_id, self.clock()):
            return "skipped"
        if isinstance(self.sender, ConsoleSender):
            self.sender.show(alert)
            self.store.mark_sent(alert_id, self.clock(), None, None)
            report.sent += 1
            return "sent"
        message = render_alert(alert)
        waited = 0.0
        while True:
            self._pace(channel)
            try:
                posted = self.sender.post(message, channel, alert_id)
            except TransientDeliveryError as exc:
                delay = exc.retry_after
                if self.wait_out_429 and delay is not None and waited + delay <= self.max_wait:
                    log.info("slack.rate_limited", alert=alert_id, wait=delay)
                    self.sleep(delay)
                    waited += delay
                    continue
                attempts = int(alert["attempts"]) + 1  # type: ignore[call-overload]
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
                return "failed"
            self.store.mark_sent(alert_id, self.clock(), posted.channel, posted.ts)
            log.info(
                "alert.sent",
                alert=alert_id,
                channel=posted.channel or channel,
                ts=posted.ts,
                rule=alert["rule_id"],
            )
            report.sent += 1
            return "sent"

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
