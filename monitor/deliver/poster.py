"""One piece of an outbox run: start it (claim, render, post on the pool) and
finish it (record what Slack answered: sent, a 429, an outage, a refusal).

Every database write happens here, on the thread that runs the outbox; only
the Slack call itself runs on the pool.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog

from ..alerts import Alert, AlertKind, AlertState, Role, Story
from ..errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from ..store import Store
from .buttons import has_buttons, with_actions
from .digests import DigestDue
from .gate import Gates
from .render import Message, render_alert, render_digest, render_followup
from .sender import Post, Posted, Sender

log = structlog.get_logger("deliver")
CHANNEL_IDS = "slack_channel_ids"


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0  # transient failures (5xx, network): tried again later
    failed: int = 0
    rate_limited: int = 0  # 429s: the channel's gate closed for Retry-After
    waited: float = 0.0  # seconds spent waiting out Retry-After in this run
    retry_after: float = 0.0  # the Retry-After seconds of this run's 429s, added up
    errors: list[str] = field(default_factory=list)
    permanent: list[DeliveryError] = field(default_factory=list)
    next_wake: float | None = None  # when a lane opens again (daemon: sleep until then)


@dataclass
class Work:
    kind: str  # alert | digest | update | mark
    alert: Alert | None = None
    digest: DigestDue | None = None
    story_id: int | None = None
    requeued: bool = False
    sent_at: float | None = None  # when its Slack call left (the channel's pace counts from it)
    marked: int | None = None  # mark: the alert whose message shows what people did
    version: int = 0  # mark: the marks' version the edit shows


@dataclass
class Poster:
    store: Store
    sender: Sender
    gates: Gates
    channel_ids: dict[str, str]
    clock: Callable[[], float] = time.time
    root_wait: float = 5.0  # a follow-up whose root is not out yet waits this long
    buttons: bool = False  # top-level alerts carry buttons (the monitor answers clicks)

    def start(
        self, queue: deque[Work], pool: ThreadPoolExecutor, once: bool, now: float
    ) -> tuple[Work, Future[Posted]] | None:
        work = queue.popleft()
        if work.kind == "update":
            return self._start_update(work, pool)
        if work.kind == "mark":
            return self._start_mark(work, pool)
        if work.kind == "digest":
            assert work.digest is not None
            ids = [a.id for a in work.digest.alerts]
            if not self.store.outbox.claim_digest(ids, now):
                return None
            post = Post(
                render_digest(work.digest.title, work.digest.alerts),
                work.digest.channel,
                tuple(ids),
                style="digest",
                digest=work.digest.alerts,
                title=work.digest.title,
            )
            return work, pool.submit(self.sender.post, post)
        alert = work.alert
        assert alert is not None
        story = self.store.stories.get(alert.story_id)
        style, thread = "alert", None
        if alert.role == Role.FOLLOWUP and story is not None:
            root = self.store.outbox.story_root(story.id)
            if (
                root is not None
                and root.id != alert.id
                and root.state
                in (
                    AlertState.PENDING,
                    AlertState.SENDING,
                )
            ):
                if once and not work.requeued:  # its root is queued in another lane
                    work.requeued = True
                    queue.append(work)
                else:
                    self.store.outbox.defer(alert.id, now + self.root_wait)
                return None
            if story.slack_ts and self.sender.threads:
                style, thread = "followup", story.slack_ts
            elif story.slack_ts or (root is not None and root.state == AlertState.SENT):
                style = "line"  # the root went out where no thread can hang (a webhook)
        if not self.store.outbox.claim(alert.id, now):
            return None
        if style == "followup":
            message = render_followup(alert)
        elif style == "line":
            message = render_followup(alert, thread=False)
        else:
            message = self._root_message(alert, story)
        channel = story.slack_channel if thread and story and story.slack_channel else alert.channel
        post = Post(
            message,
            channel,
            (alert.id,),
            thread_ts=thread,
            broadcast=alert.broadcast and thread is not None,
            style=style,
            alert=alert,
            story=story,
        )
        work.kind = f"alert:{style}"
        return work, pool.submit(self.sender.post, post)

    def _start_update(
        self, work: Work, pool: ThreadPoolExecutor
    ) -> tuple[Work, Future[Posted]] | None:
        story = self.store.stories.get(work.story_id)
        root = self.store.outbox.story_root(story.id) if story else None
        if story is None or root is None or not story.slack_ts or not story.slack_channel:
            return None
        if root.slack_ts != story.slack_ts:
            return None  # only ever edit the message that was posted for this story
        message = self._root_message(root, story)
        return work, pool.submit(self._update, story.slack_channel, story.slack_ts, message)

    def _start_mark(
        self, work: Work, pool: ThreadPoolExecutor
    ) -> tuple[Work, Future[Posted]] | None:
        """Show what people did on an alert's message (a click in Slack): an edit."""
        alert = self.store.outbox.get(work.marked) if work.marked is not None else None
        if alert is None or not alert.slack_ts or not alert.slack_channel:
            return None
        marks = self.store.marks_of(alert, self.clock())
        work.version = marks.version
        story = self.store.stories.get(alert.story_id)
        message = self._root_message(alert, story)
        return work, pool.submit(self._update, alert.slack_channel, alert.slack_ts, message)

    def _update(self, channel: str, ts: str, message: Message) -> Posted:
        self.sender.update(channel, ts, message)
        return Posted(channel, ts)

    def _root_message(self, alert: Alert, story: Story | None) -> Message:
        """An alert's own top-level message: with its buttons and what people did."""
        message = render_alert(alert, story)
        if self.buttons and has_buttons(alert):
            message = with_actions(message, alert, self.store.marks_of(alert, self.clock()))
        return message

    def finish(
        self,
        key: str,
        work: Work,
        future: Future[Posted],
        queue: deque[Work],
        report: DeliveryReport,
        once: bool,
    ) -> None:
        now = self.clock()
        ids = self._ids(work)
        try:
            posted = future.result()
        except TransientDeliveryError as exc:
            self._transient(key, work, ids, exc, queue, report, once, now)
            return
        except PermanentDeliveryError as exc:
            self._permanent(work, ids, exc, report)
            self.gates.passed(key, now, work.sent_at)
            return
        except Exception as exc:  # a bug must not lose the alert: it stays pending
            log.exception("deliver.bug", alerts=ids)
            self._transient(
                key, work, ids, TransientDeliveryError(str(exc)), queue, report, once, now
            )
            return
        self.gates.passed(key, now, work.sent_at)
        self._sent(work, ids, posted, queue, report, now)

    def _ids(self, work: Work) -> list[int]:
        if work.digest is not None:
            return [a.id for a in work.digest.alerts]
        return [work.alert.id] if work.alert is not None else []

    def _sent(
        self,
        work: Work,
        ids: list[int],
        posted: Posted,
        queue: deque[Work],
        report: DeliveryReport,
        now: float,
    ) -> None:
        if work.kind == "update":
            assert work.story_id is not None
            self.store.stories.mark_dirty(work.story_id, False)
            return
        if work.kind == "mark":
            assert work.marked is not None
            self.store.marks.shown(work.marked, work.version)
            log.info("alert.marks_shown", alert=work.marked, channel=posted.channel)
            return
        channel = work.digest.channel if work.digest else work.alert.channel if work.alert else ""
        self.gates.learn(channel, posted.channel)
        name = channel.lstrip("#")
        if posted.channel and self.channel_ids.get(name) != posted.channel:
            self.channel_ids[name] = posted.channel
            self.store.meta.set(CHANNEL_IDS, json.dumps(self.channel_ids))
        alert = work.alert
        story_id = alert.story_id if alert is not None and work.digest is None else None
        own = work.kind == "alert:alert" and alert is not None and alert.kind == AlertKind.ALERT
        followup = work.kind in ("alert:followup", "alert:line")
        self.store.record_sent(
            ids,
            now,
            posted.channel,
            posted.ts,
            story_id=story_id,
            own_message=own,
            followup=followup,
        )
        report.sent += len(ids)
        owed = any(w.kind == "update" and w.story_id == story_id for w in queue)
        if story_id is not None and followup and self.sender.threads and not owed:
            queue.append(Work("update", story_id=story_id))
        (log.debug if self.sender.name == "terminal" else log.info)(
            "alert.sent",
            alerts=ids,
            how=work.kind,
            channel=posted.channel or channel,
            ts=posted.ts,
            story=alert.story_id if alert else None,
        )

    def _transient(
        self,
        key: str,
        work: Work,
        ids: list[int],
        exc: TransientDeliveryError,
        queue: deque[Work],
        report: DeliveryReport,
        once: bool,
        now: float,
    ) -> None:
        rate_limited = exc.retry_after is not None or exc.code in ("ratelimited", "rate_limited")
        if rate_limited:
            wait_for = exc.retry_after if exc.retry_after is not None else 1.0
            self.gates.rate_limited(key, now, wait_for)
            report.rate_limited += 1
            report.retry_after += wait_for
            next_at, counted = 0.0, False
        else:
            next_at, counted = now + self.gates.failed(key, now), True
            report.retried += 1
            report.errors.append(str(exc))
        # recorded before it is logged: what the log says, `monitor status` shows
        self._release(work, ids, str(exc), next_at, counted)
        if rate_limited:
            log.info("slack.rate_limited", channel=key, wait=wait_for, alerts=ids)
        else:
            log.warning(
                "alert.retry_later", alerts=ids, error=str(exc), retry_in=round(next_at - now)
            )
        if once and not rate_limited:
            report.next_wake = min(filter(None, (report.next_wake, next_at)))
            queue.clear()  # Slack is failing for this channel: the rest waits in order
        else:
            work.kind = work.kind.split(":")[0]
            queue.appendleft(work)  # keeps its place: the gate holds the whole channel

    def _release(
        self, work: Work, ids: list[int], error: str, next_at: float, counted: bool
    ) -> None:
        if work.kind in ("update", "mark"):
            return  # the message stays owed its edit
        if work.digest is not None:
            self.store.outbox.release_digest(ids, error)
            return
        self.store.outbox.mark_retry(ids[0], error, next_at, count_attempt=counted)

    def _permanent(
        self, work: Work, ids: list[int], exc: PermanentDeliveryError, report: DeliveryReport
    ) -> None:
        if work.kind == "update":
            assert work.story_id is not None
            log.warning("story.update_failed", story=work.story_id, error=exc.code)
            self.store.stories.mark_dirty(work.story_id, False)
            return
        if work.kind == "mark":
            assert work.marked is not None
            log.warning("alert.marks_failed", alert=work.marked, error=exc.code)
            self.store.marks.shown(work.marked, work.version)
            return
        for alert_id in ids:
            self.store.outbox.mark_failed(alert_id, f"{exc.code}: {exc}")
        log.error("alert.failed", alerts=ids, error=exc.code, hint=exc.hint)
        report.failed += len(ids)
        report.errors.append(exc.describe())
        report.permanent.append(exc)
