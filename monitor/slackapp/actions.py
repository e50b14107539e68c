"""A click on an alert's button (a ``block_actions`` payload): check who clicked,
decide (``decide.py``), record it in one transaction, wake delivery to edit the
message, answer the user.

The click is keyed on itself (channel, message, button, Slack's ``action_ts``), so
an envelope Slack sends again after a late ack is handled once; the decision is
made from the state, so a double click does one thing. Mutes are the same as
`monitor mute … --for 24h --reason "from Slack by …"`, validated by the CLI's
own check. The message is never edited from here: delivery owns the channel
gates and does the ``chat.update`` at Slack's pace.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import click
import structlog

from ..alerts import Alert
from ..config import Settings
from ..deliver.buttons import ACTIONS, MUTE_FEED, MUTE_FOR, MUTE_STORY
from ..errors import StoreError
from ..store import Store, mute_targets
from ..store.marks import Marks
from ..store.mutes import Mutes
from ..store.noise import Noise
from .actors import Actors
from .decide import Decision, Effect, State, decide

log = structlog.get_logger("slack")
Reply = Callable[[str, str], None]  # (response_url, text)


class ActionHandler:
    def __init__(
        self,
        settings: Settings,
        actors: Actors,
        reply: Reply,
        wake: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.actors, self.reply, self.wake = settings, actors, reply, wake
        self.clock = clock

    def handle(self, store: Store, payload: dict[str, Any]) -> list[Decision]:
        """Every action in the payload (a click carries one); what was decided for each
        that was not a re-send."""
        user = payload.get("user") or {}
        who = Who(str(user.get("id") or ""), str(user.get("username") or user.get("name") or ""))
        container = payload.get("container") or {}
        channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id"))
        message_ts = str(container.get("message_ts") or "")
        url = str(payload.get("response_url") or "")
        out = []
        for action in payload.get("actions") or []:
            if not isinstance(action, dict) or action.get("action_id") not in ACTIONS:
                continue  # not one of our buttons
            decision = self._one(store, action, who, channel, message_ts)
            if decision is None:
                continue
            out.append(decision)
            if decision.effect != Effect.NONE:
                self.wake()  # delivery edits the message now, through the channel's gate
            if decision.reply:
                self.reply(url, decision.reply)
        return out

    def _one(
        self, store: Store, action: dict[str, Any], who: Who, channel: str, message_ts: str
    ) -> Decision | None:
        action_id = str(action["action_id"])
        key = f"{channel}:{message_ts}:{action_id}:{action.get('action_ts')}"
        value = str(action.get("value") or "")
        alert = store.outbox.get(int(value)) if value.isdigit() else None
        if alert is not None and (alert.slack_channel, alert.slack_ts) != (channel, message_ts):
            alert = None  # a button value that names another message: not ours to touch
        allowed = self.actors.allows(who.id)
        problem = self._mute_problem(store, action_id, alert) if allowed and alert else None
        now = self.clock()
        try:
            with store.db.transaction() as conn:
                alert_id = alert.id if alert else None
                if not Marks.log(conn, key, alert_id, action_id, who.id, now, ""):
                    log.info("slack.action_repeat", action=action_id, user=who.id)
                    return None  # Slack sent this very click again: handled already
                if alert is None:
                    decision = Decision(
                        Effect.NONE, "invalid", "This message is not an alert this monitor knows."
                    )
                elif problem is not None:
                    decision = Decision(Effect.NONE, "invalid", problem)
                else:
                    decision = decide(action_id, _state(conn, alert, now), allowed)
                    _apply(conn, decision.effect, alert, who, now)
                Marks.set_outcome(conn, key, decision.outcome)
        except StoreError as exc:
            log.error("slack.action_failed", action=action_id, user=who.id, error=str(exc))
            return Decision(Effect.NONE, "failed", "The monitor could not record that; try again.")
        log.info(
            "slack.action",
            action=action_id,
            user=who.id,
            alert=alert.id if alert else None,
            story=alert.story_id if alert else None,
            outcome=decision.outcome,
        )
        return decision

    def _mute_problem(self, store: Store, action_id: str, alert: Alert) -> str | None:
        """The CLI's check: a feed that is no longer configured, a story that is gone."""
        from ..cli.mutes import check_target

        if action_id not in (MUTE_STORY, MUTE_FEED):
            return None
        kind = "story" if action_id == MUTE_STORY else "feed"
        target = str(alert.story_id) if kind == "story" else alert.feed
        if kind == "story" and alert.story_id is None:
            return None  # decide() answers this one
        try:
            check_target(self.settings, store, kind, target)
        except click.BadParameter as exc:
            return f"Cannot mute: {exc.message}"
        return None


class Who:
    """The person who clicked: the Slack user id, and the name for mute reasons."""

    def __init__(self, id: str, name: str) -> None:
        self.id, self.name = id, name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


def _state(conn: sqlite3.Connection, alert: Alert, now: float) -> State:
    acked_by, _, noise_by = Marks.read(conn, alert.id)
    muted = {m.kind for m in Mutes.of(conn, mute_targets(alert), now)}
    return State(
        acked_by=acked_by,
        noise=noise_by is not None or Noise.exists(conn, alert.id),
        story_muted="story" in muted,
        feed_muted="feed" in muted,
        has_story=alert.story_id is not None,
    )


def _apply(conn: sqlite3.Connection, effect: Effect, alert: Alert, who: Who, now: float) -> None:
    reason = f"from Slack by {who.label}"
    story, feed = ("story", str(alert.story_id)), ("feed", alert.feed)
    if effect == Effect.NONE:
        return
    if effect == Effect.ACK:
        Marks.acknowledge(conn, alert.id, who.id, now)
    elif effect in (Effect.MUTE_STORY, Effect.MUTE_FEED):
        kind, value = story if effect == Effect.MUTE_STORY else feed
        Mutes.insert(conn, kind, value, until=now + MUTE_FOR, reason=reason, now=now)
    elif effect in (Effect.UNMUTE_STORY, Effect.UNMUTE_FEED):
        kind, value = story if effect == Effect.UNMUTE_STORY else feed
        Mutes.delete(conn, kind, value)
    elif effect == Effect.NOISE:
        Noise.insert(conn, alert, who.label, now)
        Marks.noise(conn, alert.id, who.id)
    Marks.touch(conn, alert.id)  # the message owes an edit (REDRAW: only that)
