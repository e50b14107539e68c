"""The buttons under a top-level alert, and the lines that say what people did. Pure.

Sent only when the monitor answers clicks (``SLACK_APP_TOKEN`` set, Socket Mode).
One ``actions`` block (at most 25 elements; we use at most 4) with a fixed
``block_id``; every button's ``value`` is the alert id, its ``action_id`` says
what it does. Once acknowledged, the row is replaced by a line saying who and
when; a mute in force keeps only its *Unmute* button.
"""

from __future__ import annotations

import re
from typing import Any

from ..alerts import Alert, AlertKind, Marks, Mute
from .render import MAX_BLOCKS, Message, escape, fit, when

BLOCK_ID = "monitor_actions"
ACK = "monitor_ack"
MUTE_STORY = "monitor_mute_story"
MUTE_FEED = "monitor_mute_feed"
UNMUTE_STORY = "monitor_unmute_story"
UNMUTE_FEED = "monitor_unmute_feed"
NOISE = "monitor_noise"
ACTIONS = (ACK, MUTE_STORY, MUTE_FEED, UNMUTE_STORY, UNMUTE_FEED, NOISE)
MUTE_FOR = 24 * 3600.0  # "Mute … 24h"

_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def has_buttons(alert: Alert) -> bool:
    """Only an alert's own top-level message: not digests, summaries or ops messages."""
    return alert.kind == AlertKind.ALERT


def with_actions(message: Message, alert: Alert, marks: Marks) -> Message:
    """``message`` (an alert as ``render_alert`` made it) with the status lines and
    the button row, within Slack's 50 blocks."""
    extra: list[dict[str, Any]] = []
    lines = status_lines(alert, marks)
    if lines:
        extra.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in lines]}
        )
    buttons = buttons_for(alert, marks)
    if buttons:
        extra.append({"type": "actions", "block_id": BLOCK_ID, "elements": buttons})
    blocks = list(message.blocks)[: MAX_BLOCKS - len(extra)]
    return Message(message.text, blocks + extra)


def buttons_for(alert: Alert, marks: Marks) -> list[dict[str, Any]]:
    story_mute, feed_mute = marks.muted("story"), marks.muted("feed")
    value = str(alert.id)
    out = []
    if marks.acked_by is None:
        out.append(_button("Acknowledge", ACK, value, style="primary"))
    if story_mute is not None:
        out.append(_button("Unmute story", UNMUTE_STORY, value))
    elif marks.acked_by is None and alert.story_id is not None:
        out.append(_button("Mute story 24h", MUTE_STORY, value))
    if feed_mute is not None:
        out.append(_button("Unmute feed", UNMUTE_FEED, value))
    elif marks.acked_by is None:
        out.append(_button("Mute feed 24h", MUTE_FEED, value))
    if marks.acked_by is None and marks.noise_by is None:
        out.append(_button("Not relevant", NOISE, value))
    return out


def status_lines(alert: Alert, marks: Marks) -> list[str]:
    lines = []
    if marks.acked_by is not None:
        lines.append(
            f":white_check_mark: Acknowledged by {user(marks.acked_by)} · {when(marks.acked_at)}"
        )
    for mute in marks.mutes:
        lines.append(mute_line(mute))
    if marks.noise_by is not None:
        lines.append(f":wastebasket: Marked not relevant by {user(marks.noise_by)}")
    return lines[:10]  # a context block takes 10 elements


def mute_line(mute: Mute) -> str:
    if mute.kind == "story":
        what = f"Story {escape(mute.value)}"
    else:
        what = f"Feed *{fit(escape(mute.value), 100)}*"
    until = "until unmuted" if mute.until is None else f"until {when(mute.until)}"
    reason = f" ({fit(escape(mute.reason), 200)})" if mute.reason else ""
    return f":mute: {what} muted {until}{reason}"


def user(slack_id: str) -> str:
    """A user mention, only for something shaped like a Slack user id."""
    return f"<@{slack_id}>" if _ID.fullmatch(slack_id) else fit(escape(slack_id), 60)


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
