"""When to poll a feed next: pure arithmetic over what the user configured and what
the publisher asked for. The pipeline calls ``plan`` after every successful poll.

    interval    the user's: a duration, or ``auto``, which adapts to how often the
                feed publishes (Miniflux's rule: 7 days divided by the entries
                published in the last 7 days, clamped to min_interval..max_interval;
                nothing published in a week: max_interval)
    publisher   what the publisher asks: ``<ttl>`` and ``sy:updatePeriod`` /
                ``sy:updateFrequency`` in the document, ``Cache-Control: max-age`` /
                ``Expires`` on the response. The next poll is never sooner than that,
                capped at max_interval (a year-long max-age must not silence a feed)
    explicit    an ``interval:`` written on the feed itself (a duration, not ``auto``).
                Only it may poll sooner than the publisher asks: the user chose it
                for this one feed. ``defaults.interval`` and ``auto`` always yield.
    jitter      up to 10% of the interval (at most 5 minutes) added at random, so
                feeds that fell due together drift apart instead of hitting one site
                in the same second, poll after poll

``Retry-After`` on a refusal (429, 503) is honoured by the failure back-off in the
pipeline, whatever the interval: a refusal is not a request for fresh news.
"""

from __future__ import annotations

from dataclasses import dataclass

WEEK = 7 * 86400.0
JITTER = 0.1  # of the interval
JITTER_CAP = 300.0  # seconds
FIRST_SPREAD = 60.0  # a new feed's first poll: somewhere in the next minute (or interval)


@dataclass(frozen=True, slots=True)
class Policy:
    """The user's side, from the configuration."""

    interval: float | None  # seconds; None: auto
    explicit: bool  # written on the feed itself
    min_interval: float
    max_interval: float

    @property
    def base(self) -> float:
        """The interval before anything is known of the feed (auto: the shortest)."""
        return self.interval if self.interval is not None else self.min_interval


@dataclass(frozen=True, slots=True)
class Hints:
    """The publisher's side: from the document and from the response."""

    publisher_interval: float | None = None  # <ttl>, sy:update*
    fresh_for: float | None = None  # Cache-Control max-age / Expires


@dataclass(frozen=True, slots=True)
class Plan:
    at: float  # Unix time of the next poll
    interval: float  # the interval chosen, before jitter
    why: str  # for `monitor status` and the log


def adaptive_interval(weekly: int, low: float, high: float) -> float:
    """Miniflux's ``ProcessEntryWeeklyCount``: a feed that published N entries in the
    last week is polled every week/N, clamped to [low, high]."""
    if weekly <= 0:
        return high
    return min(high, max(low, WEEK / weekly))


def plan(now: float, policy: Policy, hints: Hints, *, weekly: int = 0, jitter: float = 0.0) -> Plan:
    """The next poll. ``weekly``: entries published in the last 7 days (auto only);
    ``jitter``: a number in [0, 1), random in production, fixed in tests."""
    if policy.interval is None:
        interval = adaptive_interval(weekly, policy.min_interval, policy.max_interval)
        why = f"auto ({weekly} entries in 7 days)"
    else:
        interval = policy.interval
        why = "set on the feed" if policy.explicit else "defaults.interval"
    if not policy.explicit:
        asks = [
            (seconds, name)
            for seconds, name in (
                (hints.publisher_interval, "the feed's ttl/sy:updatePeriod"),
                (hints.fresh_for, "Cache-Control/Expires"),
            )
            if seconds
        ]
        if asks:
            seconds, name = max(asks)
            seconds = min(seconds, max(policy.max_interval, interval))
            if seconds > interval:
                interval, why = seconds, f"publisher asks ({name})"
    return Plan(now + interval + spread(interval, jitter), interval, why)


def spread(interval: float, jitter: float) -> float:
    return max(0.0, min(jitter, 1.0)) * min(interval * JITTER, JITTER_CAP)


def first_poll(now: float, policy: Policy, jitter: float) -> float:
    """A feed new to the database: polled soon, but not all new feeds in one second."""
    return now + max(0.0, min(jitter, 1.0)) * min(policy.base, FIRST_SPREAD)
