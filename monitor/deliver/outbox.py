"""Send what the outbox holds: in order per channel, at Slack's pace, exactly once.

Work is sorted into one lane per channel (``gate.py``); lanes drain side by side
(each with at most one post in flight, on a small thread pool), while every
database write stays on the calling thread. An alert is claimed (``sending``,
committed) before Slack is called and marked ``sent`` with Slack's ``ts`` after;
a crash in between leaves it ``sending``, and the next run asks Slack whether it
arrived (``settle.py``) before sending it again.

A story's own message is its root alert's: later reports are replies in its
thread, and the root is edited to count the outlets (``chat.update``, through
the same gate). A digest is never a thread's parent and is never edited. A click
in Slack (acknowledged, muted) is recorded in the database and shown by an edit
from here too, so edits keep Slack's pace like every post.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..store import Store
from .digests import due_digests
from .gate import Gates
from .poster import CHANNEL_IDS, DeliveryReport, Poster, Work
from .sender import Posted, Sender
from .settle import settle_in_doubt

__all__ = ["Delivery", "DeliveryReport"]


@dataclass
class Delivery:
    store: Store
    sender: Sender
    max_wait_429: float = 120.0  # `once`: the most Retry-After waited out in one run
    max_backoff: float = 1800.0
    digest_hour: int = 8
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], object] = time.sleep
    root_wait: float = 5.0  # a follow-up whose root is not out yet waits this long
    horizon: float = 2.0  # daemon: wait inside a run for a gate opening this soon
    parallel: int = 4  # lanes posting at once
    page: int = 500  # outbox rows read at a time
    buttons: bool = False  # top-level alerts carry buttons (Socket Mode answers clicks)
    gates: Gates = field(init=False)
    channel_ids: dict[str, str] = field(init=False)  # name → ID, kept in the database
    poster: Poster = field(init=False)

    def __post_init__(self) -> None:
        self.gates = Gates(
            interval=self.sender.interval,
            max_backoff=self.max_backoff,
            one_channel=self.sender.one_channel,
        )
        # after a restart, the crash check asks conversations.history by channel ID;
        # remembering the IDs Slack answered spares the channels:read scope
        self.channel_ids = json.loads(self.store.meta.get(CHANNEL_IDS) or "{}")
        for name, channel_id in self.channel_ids.items():
            self.gates.learn(name, channel_id)
        self.poster = Poster(
            self.store,
            self.sender,
            self.gates,
            self.channel_ids,
            self.clock,
            self.root_wait,
            self.buttons,
        )

    def run(
        self,
        *,
        once: bool = False,
        stop: Callable[[], bool] = lambda: False,
        report: DeliveryReport | None = None,
    ) -> DeliveryReport:
        """Deliver what is due. ``once``: every pending alert now, whatever its back-off,
        waiting out Retry-After within ``max_wait_429``; a lane that meets an outage
        stops, and the report says when the daemon would try it again. ``report``: one
        to fill as it goes (the daemon's metrics read it while a long drain runs)."""
        report = DeliveryReport() if report is None else report
        settle_in_doubt(self.store, self.sender, self.gates, self.channel_ids)
        lanes = self._lanes(once)
        inflight: dict[str, tuple[Work, Future[Posted]]] = {}
        with ThreadPoolExecutor(max(1, min(self.parallel, len(lanes))), "slack") as pool:
            while True:
                now = self.clock()
                if not stop():
                    for key, queue in lanes.items():
                        if key not in inflight and queue and self.gates.opens_at(key) <= now:
                            started = self.poster.start(queue, pool, once, now)
                            if started is not None:
                                started[0].sent_at = now
                                inflight[key] = started
                if inflight:
                    opens = [
                        self.gates.opens_at(k) for k, q in lanes.items() if q and k not in inflight
                    ]
                    timeout = max(0.0, min(opens) - now) if opens and not stop() else None
                    futures = [f for _, f in inflight.values()]
                    done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
                    for key in [k for k, (_, f) in inflight.items() if f in done]:
                        work, future = inflight.pop(key)
                        self.poster.finish(key, work, future, lanes[key], report, once)
                    continue
                waiting = [(self.gates.opens_at(k), k) for k, q in lanes.items() if q]
                if stop() or not waiting:
                    break
                opens_at, first = min(waiting)
                delay = opens_at - now
                if delay <= 0:
                    continue
                if once and self.gates.get(first).limited:  # Retry-After, within the budget
                    if report.waited + delay > self.max_wait_429:
                        report.next_wake = opens_at
                        break
                    report.waited += delay
                elif not once and delay > self.horizon:
                    report.next_wake = opens_at
                    break
                self.sleep(delay)
        return report

    # -- building the lanes ---------------------------------------------------------------

    def _lanes(self, once: bool) -> dict[str, deque[Work]]:
        now = self.clock()
        lanes: dict[str, deque[Work]] = {}

        def add(channel: str, work: Work) -> None:
            lanes.setdefault(self.gates.key(channel), deque()).append(work)

        after = 0
        while True:  # every pending alert, in id order, paged
            page = self.store.outbox.pending(after, self.page)
            if not page:
                break
            for alert in page:
                key = self.gates.key(alert.channel)
                if not once and key not in lanes and alert.next_attempt_at > now:
                    # the channel's first alert waits out a back-off: the rest wait behind
                    # it, so a restart never sends them out of order
                    gate = self.gates.get(key)
                    gate.opens_at = max(gate.opens_at, alert.next_attempt_at)
                add(alert.channel, Work("alert", alert=alert))
            after = page[-1].id
        for digest in due_digests(self.store.outbox.digest_alerts(), now, self.digest_hour):
            add(digest.channel, Work("digest", digest=digest))
        if self.sender.threads:
            for story_id in self.store.stories.dirty():
                story = self.store.stories.get(story_id)
                if story is not None and story.slack_channel:
                    add(story.slack_channel, Work("update", story_id=story_id))
            # what people did in Slack (acknowledged, muted): an edit through the gate
            for alert_id, channel_id in self.store.marks.dirty() if self.buttons else ():
                add(channel_id, Work("mark", marked=alert_id))
        return lanes
