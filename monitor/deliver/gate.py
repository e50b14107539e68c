"""One gate per Slack channel: the pace Slack allows, and its answers' waits.

Slack allows about one message per second per channel. A 429 means "this
channel, wait N seconds", not "this message failed": the gate closes for exactly
Retry-After, for every message queued to the channel, and none loses its place
or counts a failed attempt. An outage (5xx, network) closes it with a capped,
jittered back-off that grows while the channel keeps failing; the first success
opens it to the normal pace again, so the whole queue drains in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Gate:
    opens_at: float = 0.0
    failures: int = 0  # transient failures in a row (an outage)
    limited: bool = False  # closed by a 429 (Retry-After), not by a failure


@dataclass
class Gates:
    interval: float = 1.0  # seconds between two posts to one channel
    margin: float = 0.05  # posts reach Slack with a little jitter: keep them this far apart
    base_backoff: float = 30.0
    max_backoff: float = 1800.0
    one_channel: bool = False  # a webhook: every post lands in one channel
    _gates: dict[str, Gate] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)  # channel ID → the name posts use

    def key(self, channel: str) -> str:
        """Posts name a channel (``#alerts``), edits its ID (``C0123``): one gate for both."""
        if self.one_channel:
            return "*"
        name = channel.lstrip("#")
        return self._names.get(name, name)

    def learn(self, channel: str, channel_id: str | None) -> None:
        if channel_id and channel_id != channel.lstrip("#"):
            self._names[channel_id] = channel.lstrip("#")

    def get(self, key: str) -> Gate:
        return self._gates.setdefault(key, Gate())

    def opens_at(self, key: str) -> float:
        return self.get(key).opens_at

    def passed(self, key: str, now: float, sent: float | None = None) -> None:
        """A post went through: the next one leaves ``interval`` (and a margin for the
        network's jitter) after this one left, or at once if the answer took longer.
        Counting from the answer instead would add Slack's round trip to every post."""
        gate = self.get(key)
        start = now if sent is None else sent
        gate.opens_at = max(now, start + self.interval + (self.margin if sent is not None else 0))
        gate.failures, gate.limited = 0, False

    def rate_limited(self, key: str, now: float, retry_after: float) -> None:
        gate = self.get(key)
        gate.opens_at = max(gate.opens_at, now + retry_after)
        gate.limited = True

    def failed(self, key: str, now: float) -> float:
        """An outage answer; returns the wait before this channel is tried again."""
        gate = self.get(key)
        gate.failures += 1
        delay = min(self.max_backoff, self.base_backoff * 2.0 ** min(gate.failures - 1, 16))
        delay *= random.uniform(0.8, 1.0)  # jitter: many monitors do not return at once
        gate.opens_at, gate.limited = now + delay, False
        return delay
