"""What a click on an alert's button does, given what the message already shows. Pure.

Decided from state, not from the click's history, so a double click or a click on
a stale message does the thing once: acknowledging an acknowledged alert, muting a
muted story, unmuting what is not muted change nothing (a stale message is redrawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..deliver.buttons import ACK, MUTE_FEED, MUTE_STORY, NOISE, UNMUTE_FEED, UNMUTE_STORY
from ..deliver.buttons import user as mention

REFUSED = (
    "You may not act on alerts here: ask whoever runs the monitor to add your user id "
    "(or a group of yours) to `slack.actors`."
)


class Effect(StrEnum):
    NONE = "none"
    ACK = "ack"
    MUTE_STORY = "mute_story"
    MUTE_FEED = "mute_feed"
    UNMUTE_STORY = "unmute_story"
    UNMUTE_FEED = "unmute_feed"
    NOISE = "noise"
    REDRAW = "redraw"  # nothing changes, but the message shows an older state


@dataclass(frozen=True, slots=True)
class State:
    acked_by: str | None = None
    noise: bool = False
    story_muted: bool = False
    feed_muted: bool = False
    has_story: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    effect: Effect
    outcome: str  # for the log: done | refused | already | invalid
    reply: str | None = None  # ephemeral answer to the user; None: the edit says it all


def decide(action: str, state: State, allowed: bool) -> Decision:
    if not allowed:
        return Decision(Effect.NONE, "refused", REFUSED)
    if action == ACK:
        if state.acked_by is not None:
            return Decision(
                Effect.NONE, "already", f"Already acknowledged by {mention(state.acked_by)}."
            )
        return Decision(Effect.ACK, "done")
    if action in (MUTE_STORY, UNMUTE_STORY) and not state.has_story:
        return Decision(Effect.NONE, "invalid", "This alert belongs to no story.")
    if action == MUTE_STORY:
        if state.story_muted:
            return Decision(Effect.REDRAW, "already", "This story is already muted.")
        return Decision(Effect.MUTE_STORY, "done")
    if action == MUTE_FEED:
        if state.feed_muted:
            return Decision(Effect.REDRAW, "already", "This feed is already muted.")
        return Decision(Effect.MUTE_FEED, "done")
    if action == UNMUTE_STORY:
        if not state.story_muted:
            return Decision(Effect.REDRAW, "already", "This story is not muted.")
        return Decision(Effect.UNMUTE_STORY, "done")
    if action == UNMUTE_FEED:
        if not state.feed_muted:
            return Decision(Effect.REDRAW, "already", "This feed is not muted.")
        return Decision(Effect.UNMUTE_FEED, "done")
    if action == NOISE:
        if state.noise:
            return Decision(Effect.NONE, "already", "Already marked not relevant.")
        return Decision(
            Effect.NOISE,
            "done",
            "Recorded as not relevant. Rule authors see it with `monitor rules noise`.",
        )
    return Decision(Effect.NONE, "invalid", "This button is not one the monitor knows.")
