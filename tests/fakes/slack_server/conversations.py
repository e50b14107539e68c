"""The ``conversations.*`` methods: what the monitor reads back after a crash.

``history`` returns a channel's top-level messages (and broadcast replies), newest
first; ``replies`` a thread, parent first; ``list`` the channels the bot can see.
Each takes channel IDs only, pages by ``cursor`` and gives each message's
``metadata`` only with ``include_all_metadata``, as Slack does.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .replies import Reply, api_error, json_reply, page, truthy, ts_decimal
from .workspace import Channel, Workspace


def history(ws: Workspace, params: dict[str, Any]) -> Reply:
    channel = _readable(ws, params)
    if isinstance(channel, str):
        return api_error(channel)
    oldest = ts_decimal(params.get("oldest") or 0)
    if oldest is None:
        return api_error("invalid_ts_oldest")
    latest = ts_decimal(params["latest"]) if params.get("latest") else Decimal("Infinity")
    if latest is None:
        return api_error("invalid_ts_latest")
    inclusive = truthy(params.get("inclusive"))

    def in_range(ts: str) -> bool:
        value = Decimal(ts)
        if inclusive:
            return oldest <= value <= latest
        return oldest < value < latest

    visible = [
        m
        for m in reversed(ws.messages)
        if m["channel"] == channel.id
        and not m["orphan"]
        and (m["thread_ts"] is None or m["reply_broadcast"])
        and in_range(m["ts"])
    ]
    return _messages(ws, visible, params, pin_count=0)


def replies(ws: Workspace, params: dict[str, Any]) -> Reply:
    """A thread: its parent, then the replies, oldest first (as Slack answers)."""
    channel = _readable(ws, params)
    if isinstance(channel, str):
        return api_error(channel)
    ts = params.get("ts")
    parent = ws.by_ts.get((channel.id, ts)) if isinstance(ts, str) else None
    if parent is None:
        return api_error("thread_not_found")
    oldest = ts_decimal(params.get("oldest") or 0)
    if oldest is None:
        return api_error("invalid_ts_oldest")
    thread = [parent] + [
        m
        for m in ws.messages
        if m["channel"] == channel.id
        and m["thread_ts"] == ts
        and not m["orphan"]
        and Decimal(m["ts"]) >= oldest
    ]
    return _messages(ws, thread, params)


def _readable(ws: Workspace, params: dict[str, Any]) -> Channel | str:
    """The channel named by ``params`` if the bot may read it, else Slack's error."""
    ref = params.get("channel")
    channel = ws.channels.get(ref) if isinstance(ref, str) else None
    if channel is None or (channel.private and not channel.member):
        return "channel_not_found"
    if not channel.member:
        return "not_in_channel"
    return channel


def _messages(
    ws: Workspace, messages: list[dict[str, Any]], params: dict[str, Any], **extra: Any
) -> Reply:
    """One page of ``messages``, with metadata only if asked for (as Slack answers)."""
    paged = page(messages, params, default=100, maximum=999)
    if isinstance(paged, str):
        return api_error(paged)
    shown, next_cursor = paged
    include_metadata = truthy(params.get("include_all_metadata"))
    return json_reply(
        200,
        {
            "ok": True,
            "messages": [ws.message_view(m, include_metadata=include_metadata) for m in shown],
            "has_more": bool(next_cursor),
            **extra,
            "response_metadata": {"next_cursor": next_cursor},
        },
    )


def list_channels(ws: Workspace, params: dict[str, Any]) -> Reply:
    # Slack's default is public channels only.
    types = {t.strip() for t in str(params.get("types") or "public_channel").split(",")}
    exclude_archived = truthy(params.get("exclude_archived"))
    listed = [
        {
            "id": c.id,
            "name": c.name,
            "is_channel": True,
            "is_member": c.member,
            "is_archived": c.archived,
            "is_private": c.private,
        }
        for c in ws.channels.values()
        if ("private_channel" if c.private else "public_channel") in types
        and not (c.private and not c.member)
        and not (exclude_archived and c.archived)
    ]
    paged = page(listed, params, default=100, maximum=1000)
    if isinstance(paged, str):
        return api_error(paged)
    shown, next_cursor = paged
    return json_reply(
        200, {"ok": True, "channels": shown, "response_metadata": {"next_cursor": next_cursor}}
    )


# ----------------------------------------------------------------- interactivity


METHODS: dict[str, Callable[[Workspace, dict[str, Any]], Reply]] = {
    "conversations.history": history,
    "conversations.list": list_channels,
    "conversations.replies": replies,
}
