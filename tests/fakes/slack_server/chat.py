"""The ``chat.*`` methods: post (top level or in a thread), edit, post ephemeral.

Threads behave like Slack's: ``thread_ts`` must be a ``"1234567890.123456"``
string (other strings: ``invalid_thread_ts``); a well-formed ts naming no message
in the channel is accepted with ``ok: true`` but the reply is an *orphan*
(invisible); a reply to a reply lands in the root thread; a JSON *number* is an
orphan too (python-slack-sdk #840), or refused with ``numeric_thread_ts="reject"``.
``chat.update`` takes the channel ID only, never ``#name``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .content import ContentError, check_content, content_error
from .replies import Reply, api_error, json_reply, truthy
from .workspace import Channel, Workspace

_TS_RE = re.compile(r"^\d{10}\.\d{6}$")


def _resolve_thread(ws: Workspace, channel_id: str, raw: Any) -> tuple[str | None, bool] | str:
    """``thread_ts`` -> (root ts or None, orphan?) or an error code."""
    if raw is None:
        return None, False
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # Real Slack answers ok:true and files the reply nowhere visible
        # (python-slack-sdk #840), even when the number "looks" right.
        if ws.numeric_thread_ts == "reject":
            return "invalid_thread_ts"
        return str(raw), True
    if not isinstance(raw, str) or not _TS_RE.match(raw):
        return "invalid_thread_ts"
    parent = ws.by_ts.get((channel_id, raw))
    if parent is None or parent["orphan"]:
        return raw, True
    # A reply to a reply lands in the root thread.
    return parent["thread_ts"] or parent["ts"], False


def post_message(ws: Workspace, params: dict[str, Any]) -> Reply:
    ref = params.get("channel")
    channel: Channel | None = None
    if isinstance(ref, str) and ref:
        if ref.startswith("#"):
            channel = ws.channel_by_name(ref[1:])
        else:
            channel = ws.channels.get(ref) or ws.channel_by_name(ref)
    problem = ws.check_channel(channel)
    if problem is not None or channel is None:
        return api_error(problem or "channel_not_found")
    limited = ws.limiter.check(channel.id)
    if limited is not None:
        return limited
    try:
        content = check_content(params)
    except ContentError as exc:
        return content_error(exc)

    thread = _resolve_thread(ws, channel.id, params.get("thread_ts"))
    if isinstance(thread, str):
        return api_error(thread)
    thread_ts, orphan = thread

    metadata = params.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError:
            return api_error("invalid_metadata_format")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        return api_error("invalid_metadata_format")

    record = ws.new_message(
        channel.id,
        content,
        "api",
        params,
        thread_ts=thread_ts,
        thread_ts_raw=params.get("thread_ts"),
        reply_broadcast=truthy(params.get("reply_broadcast")),
        metadata=metadata,
        orphan=orphan,
    )
    ws.store(record)
    return json_reply(
        200,
        {
            "ok": True,
            "channel": channel.id,
            "ts": record["ts"],
            "message": ws.message_view(record, include_metadata=True),
        },
    )


def update(ws: Workspace, params: dict[str, Any]) -> Reply:
    # Only an ID works here: "#name" is channel_not_found, as on real Slack.
    ref = params.get("channel")
    channel = ws.channels.get(ref) if isinstance(ref, str) else None
    problem = ws.check_channel(channel)
    if problem is not None or channel is None:
        return api_error(problem or "channel_not_found")
    ts = params.get("ts")
    message = ws.by_ts.get((channel.id, ts)) if isinstance(ts, str) else None
    if message is None:
        return api_error("message_not_found")
    if message["via"] != "api":
        # Webhook posts are not the bot's messages; they cannot be edited.
        return api_error("cant_update_message")
    limited = ws.limiter.check(channel.id)
    if limited is not None:
        return limited
    try:
        content = check_content(params)
    except ContentError as exc:
        return content_error(exc)
    if "text" in params:
        message["text"] = content.text
        message["text_truncated"] = content.text_truncated
    if "blocks" in params:
        message["blocks"] = content.blocks
    if "attachments" in params:
        message["attachments"] = content.attachments
    message["edited"] = True
    ws.updates.append(
        {"channel": channel.id, "ts": ts, "text": content.text, "blocks": content.blocks}
    )
    return json_reply(
        200,
        {
            "ok": True,
            "channel": channel.id,
            "ts": ts,
            "text": message["text"] or "",
            "message": ws.message_view(message, include_metadata=False),
        },
    )


def post_ephemeral(ws: Workspace, params: dict[str, Any]) -> Reply:
    ref = params.get("channel")
    channel: Channel | None = None
    if isinstance(ref, str) and ref:
        name = ref[1:] if ref.startswith("#") else ref
        channel = ws.channels.get(ref) or ws.channel_by_name(name)
    problem = ws.check_channel(channel)
    if problem is not None or channel is None:
        return api_error(problem or "channel_not_found")
    user = params.get("user")
    if not isinstance(user, str) or user not in ws.users:
        return api_error("user_not_found")
    if user not in channel.users:
        return api_error("user_not_in_channel")
    try:
        content = check_content(params)
    except ContentError as exc:
        return content_error(exc)
    message_ts = ws.next_ts()
    ws.ephemerals.append(
        {
            "channel": channel.id,
            "user": user,
            "text": content.text,
            "blocks": content.blocks,
            "thread_ts": params.get("thread_ts"),
            "message_ts": message_ts,
        }
    )
    return json_reply(200, {"ok": True, "message_ts": message_ts})


METHODS: dict[str, Callable[[Workspace, dict[str, Any]], Reply]] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
}
