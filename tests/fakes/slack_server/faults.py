"""What goes wrong on purpose: Slack's per-channel rate limit, scripted failures
(:meth:`FakeSlack.fail_next`) and a whole outage (:meth:`FakeSlack.set_down`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .replies import Reply, json_reply, text_reply

#: Burst a channel's token bucket tolerates before rate limiting kicks in.
RATE_LIMIT_BURST = 1  # Slack at its strictest: one message per second, no burst

_OUTAGE_PAGE = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>Slack is having trouble.</p></body></html>"
)

_WEBHOOK_DEFAULT_ERRORS = {
    400: "invalid_payload",
    403: "invalid_token",
    404: "no_service",
    410: "channel_is_archived",
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token bucket per channel: ``rate`` messages a second, ``burst`` back to back."""

    rate: float | None
    burst: float
    clock: Callable[[], float]
    rate_limited: list[tuple[str, float]] = field(default_factory=list)  # (channel ID, when)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, channel_id: str) -> Reply | None:
        """A 429 reply when the channel is over its rate; ``None`` takes a token."""
        if self.rate is None:
            return None
        now = self.clock()
        bucket = self._buckets.setdefault(channel_id, _Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
        self.rate_limited.append((channel_id, now))
        return json_reply(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        )


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    error: str | None
    methods: tuple[str, ...] | None


@dataclass
class Faults:
    """Scripted failures, taken in order by the requests they match, and the outage."""

    down: bool = False
    _failures: list[_Failure] = field(default_factory=list)

    def add(
        self,
        n: int,
        status: int,
        retry_after: int | None,
        error: str | None,
        methods: tuple[str, ...] | None,
    ) -> None:
        self._failures.append(_Failure(n, status, retry_after, error, methods))

    def outage(self) -> Reply:
        reply = text_reply(503, _OUTAGE_PAGE, content_type="text/html; charset=utf-8")
        reply.error = "service_unavailable"
        return reply

    def take(self, name: str, kind: str) -> Reply | None:
        """The failure reply for this request, if one is scripted for it."""
        for failure in self._failures:
            if failure.methods is None or name in failure.methods:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return _failure_reply(failure, kind)
        return None


def _failure_reply(failure: _Failure, kind: str) -> Reply:
    headers: dict[str, str] = {}
    if failure.retry_after is not None or failure.status == 429:
        headers["Retry-After"] = str(failure.retry_after if failure.retry_after is not None else 1)
    if failure.status == 429:
        retry_after = int(headers["Retry-After"])
        if kind == "webhook":
            payload = {
                "retry_after": retry_after,
                "ok": False,
                "error": failure.error or "rate_limited",
            }
        else:
            payload = {"ok": False, "error": failure.error or "ratelimited"}
        return json_reply(429, payload, headers)
    if kind == "webhook":
        default = (
            "internal_error"
            if failure.status >= 500
            else _WEBHOOK_DEFAULT_ERRORS.get(failure.status, "error")
        )
        reply = text_reply(failure.status, failure.error or default)
        reply.headers.update(headers)
        return reply
    return json_reply(
        failure.status, {"ok": False, "error": failure.error or "internal_error"}, headers
    )
