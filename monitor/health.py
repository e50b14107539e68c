"""Is the monitor well? One function answers for `/healthz`, `monitor health` and so
Docker's HEALTHCHECK.

Healthy when all three hold:

    ticking     the scheduler wrote its heartbeat within ``health.max_tick_age``
    writable    the database takes a write (a meta row) within a few seconds
    delivering  the outbox is not stuck. Stuck: alerts have been pending for longer
                than ``health.stuck_after`` *and* nothing at all was sent for that long.
                A slow drain (Slack's pace, 429s) still sends something, so it is not
                stuck; a dead delivery thread, a revoked token that fails every alert
                into retries, or a Slack outage longer than ``stuck_after`` is.
                Restarting cures only the first: the reason says which it is likely to be.

Unhealthy answers carry every reason, each a sentence a person can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import StoreError
from .store import Store

PROBE_BUSY_MS = 5000  # a health check must answer well inside Docker's 10 s timeout


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    reasons: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", "reasons": list(self.reasons)} | {
            k: round(v, 1) if isinstance(v, float) else v for k, v in self.facts.items()
        }


def check(
    settings: Settings, now: float | None = None, *, max_tick_age: float | None = None
) -> Health:
    now = time.time() if now is None else now
    max_tick = (
        max_tick_age if max_tick_age is not None else settings.health.max_tick_age.total_seconds()
    )
    stuck_after = settings.health.stuck_after.total_seconds()
    if not Path(settings.database).exists():
        return Health(False, ("no database yet: has the daemon started?",))
    try:
        with Store(settings.database) as store:
            store.db.wait_at_most(PROBE_BUSY_MS)
            beat = store.meta.get("heartbeat")
            store.meta.set("health_probe", str(now))  # the database takes a write
            pending, oldest = store.outbox.pending_summary()
            last_sent = store.outbox.last_sent_at()
    except StoreError as exc:
        return Health(False, (f"the database cannot be written: {exc}",))
    facts: dict[str, Any] = {
        "last_tick_age": _age(now, float(beat) if beat else None),
        "pending": pending,
        "oldest_pending_age": _age(now, oldest),
        "last_sent_age": _age(now, last_sent),
    }
    reasons = []
    tick_age = facts["last_tick_age"]
    if tick_age is None:
        reasons.append("the scheduler has never ticked: is `monitor run` running?")
    elif tick_age > max_tick:
        reasons.append(f"the scheduler last ticked {tick_age:.0f}s ago (limit {max_tick:.0f}s)")
    if stuck(pending, facts["oldest_pending_age"], facts["last_sent_age"], stuck_after):
        sent = (
            "nothing was ever sent"
            if last_sent is None
            else f"nothing sent for {facts['last_sent_age']:.0f}s"
        )
        reasons.append(
            f"the outbox is stuck: {pending} alerts pending, the oldest for "
            f"{facts['oldest_pending_age']:.0f}s, {sent} (see `monitor status`: Slack's "
            "answer is on each pending alert)"
        )
    return Health(not reasons, tuple(reasons), facts)


def stuck(
    pending: int, oldest_age: float | None, last_sent_age: float | None, after: float
) -> bool:
    """Alerts waiting longer than ``after`` while nothing was sent for that long."""
    if not pending or oldest_age is None or oldest_age <= after:
        return False
    return last_sent_age is None or last_sent_age > after


def _age(now: float, then: float | None) -> float | None:
    return None if then is None else max(0.0, now - then)
