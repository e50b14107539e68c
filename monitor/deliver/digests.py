"""Which collected alerts are due to go out as one digest message, and when. Pure.

A breaker digest (more alerts for one channel at once than ``slack.breaker``) is
due at once; an hourly digest when its hour has ended; a daily one at
``slack.digest_hour`` (UTC) for what arrived before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..alerts import BREAKER, Alert


@dataclass(frozen=True, slots=True)
class DigestDue:
    channel: str
    period: str  # breaker | hourly | daily
    alerts: tuple[Alert, ...]

    @property
    def title(self) -> str:
        if self.period == BREAKER:
            return f"{len(self.alerts)} alerts at once for {self.channel}; sent as one digest"
        name = "Hourly" if self.period == "hourly" else "Daily"
        return f"{name} digest: {len(self.alerts)} items"


def due_digests(alerts: Sequence[Alert], now: float, digest_hour: int) -> list[DigestDue]:
    moment = datetime.fromtimestamp(now, tz=UTC)
    hour_start = moment.replace(minute=0, second=0, microsecond=0).timestamp()
    day = moment.replace(hour=digest_hour, minute=0, second=0, microsecond=0)
    if day > moment:
        day -= timedelta(days=1)
    day_start = day.timestamp()
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        period = alert.digest or "daily"
        boundary = {BREAKER: now + 1, "hourly": hour_start}.get(period, day_start)
        if alert.created_at < boundary:
            groups.setdefault((alert.channel, period), []).append(alert)
    return [DigestDue(ch, period, tuple(items)) for (ch, period), items in sorted(groups.items())]
