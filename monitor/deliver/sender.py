"""What every sender is: the Slack Web API, an incoming webhook, or the terminal.

A ``Post`` carries both the Slack rendering (``message``) and the data it was
rendered from, so the terminal prints the alert its own way while Slack senders
send the blocks. Each sender turns the outside world's failures into our
DeliveryError tree: transient (429, 5xx, network) is retried, permanent
(invalid_auth, channel_not_found…) marks the alert failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..alerts import Alert, Story
from .render import Message


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str | None  # the channel's ID, as Slack answered
    ts: str | None


@dataclass(frozen=True, slots=True)
class Post:
    message: Message
    channel: str
    alert_ids: tuple[int, ...]  # carried in the message's metadata, to find it after a crash
    thread_ts: str | None = None
    broadcast: bool = False
    style: str = "alert"  # alert | followup | line | digest
    alert: Alert | None = None  # what was rendered, for senders that render their own way
    story: Story | None = None
    digest: tuple[Alert, ...] = ()
    title: str = ""  # a digest's title


class Sender(Protocol):
    name: str
    threads: bool  # can reply in threads and edit messages
    interval: float  # seconds between two posts to one channel (0: no pacing)
    one_channel: bool  # every post lands in one channel (a webhook): one gate for all

    def post(self, post: Post) -> Posted: ...

    def update(self, channel_id: str, ts: str, message: Message) -> None: ...

    def find_posted(
        self, alert_id: int, channel: str, since: float, *, thread_ts: str | None = None
    ) -> Posted | None:
        """After a crash: was this alert posted (in ``thread_ts``'s thread, if given)?
        None: we cannot tell (no scope, webhook); Posted(None, None): it is not there."""
        ...

    def close(self) -> None: ...
