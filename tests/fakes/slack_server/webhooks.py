"""Incoming webhooks: one fixed channel each, no threads, no edits, plain-text errors.

Success is HTTP 200 with body ``ok``; errors are plain strings (``invalid_payload``,
``no_text``, ``invalid_blocks``, ``no_service``, ``channel_is_archived``); a 429
carries ``{"retry_after": N, "ok": false, "error": "rate_limited"}``.
"""

from __future__ import annotations

from typing import Any

from .content import ContentError, check_content
from .replies import Reply, json_reply, text_reply
from .workspace import Workspace


def post(ws: Workspace, path: str, body: dict[str, Any] | str | None) -> Reply:
    channel_name = ws.webhooks.get(path)
    channel = ws.channel_by_name(channel_name) if channel_name else None
    if channel is None:
        return text_reply(404, "no_service")
    if channel.archived:
        return text_reply(410, "channel_is_archived")
    if not isinstance(body, dict):
        return text_reply(400, "invalid_payload")
    limited = ws.limiter.check(channel.id)
    if limited is not None:
        retry_after = int(limited.headers["Retry-After"])
        return json_reply(
            429,
            {"retry_after": retry_after, "ok": False, "error": "rate_limited"},
            {"Retry-After": str(retry_after)},
        )
    try:
        content = check_content(body)
    except ContentError as exc:
        if exc.error == "no_text":
            return text_reply(400, "no_text")
        # Webhooks report every block problem as a bare "invalid_blocks".
        return text_reply(400, "invalid_blocks")
    # Webhooks cannot thread: Slack ignores thread_ts and posts top-level.
    ws.store(
        ws.new_message(
            channel.id, content, "webhook", body, ignored_thread_ts=body.get("thread_ts")
        )
    )
    return text_reply(200, "ok")
