"""A message's content (text, blocks, attachments) checked as ``chat.postMessage``
checks it; shared by every way of posting (API, webhook, response_url)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .blocks import MAX_BLOCKS_TEXT, blocks_text_length, validate_blocks
from .replies import Reply, api_error

#: Longer ``text`` is truncated by Slack, not rejected.
MAX_TEXT = 40_000


class ContentError(Exception):
    """A message's text/blocks/attachments were rejected."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


@dataclass
class Content:
    text: str | None
    blocks: list[Any] | None
    attachments: list[Any] | None
    text_truncated: bool


def check_content(params: dict[str, Any]) -> Content:
    """Validate text/blocks/attachments the way chat.postMessage does."""
    text = params.get("text")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(text)
    elif text is not None and not isinstance(text, str):
        raise ContentError("invalid_arguments", ["[ERROR] must be a string [json-pointer:/text]"])

    blocks = params.get("blocks")
    if isinstance(blocks, str):
        # Form bodies (and slack_sdk when given a str) carry blocks as JSON text.
        try:
            blocks = json.loads(blocks) if blocks.strip() else None
        except json.JSONDecodeError:
            raise ContentError("invalid_blocks_format") from None
    if blocks is not None and not isinstance(blocks, list):
        raise ContentError("invalid_blocks_format")

    attachments = params.get("attachments")
    if isinstance(attachments, str):
        try:
            attachments = json.loads(attachments) if attachments.strip() else None
        except json.JSONDecodeError:
            raise ContentError("invalid_attachments") from None
    if attachments is not None and not isinstance(attachments, list):
        raise ContentError("invalid_attachments")

    if not text and not blocks and not attachments:
        raise ContentError("no_text")
    if blocks:
        errors = validate_blocks(blocks)
        if errors:
            raise ContentError("invalid_blocks", errors)
        if blocks_text_length(blocks) > MAX_BLOCKS_TEXT:
            raise ContentError("msg_blocks_too_long")
    for index, attachment in enumerate(attachments or []):
        if isinstance(attachment, dict) and "blocks" in attachment:
            errors = validate_blocks(attachment["blocks"], f"/attachments/{index}/blocks")
            if errors:
                raise ContentError("invalid_blocks", errors)

    truncated = text is not None and len(text) > MAX_TEXT
    return Content(
        text=text[:MAX_TEXT] if text else None,
        blocks=blocks or None,
        attachments=attachments or None,
        text_truncated=truncated,
    )


def content_error(exc: ContentError) -> Reply:
    """The Web API's answer to rejected content (webhooks answer their own way)."""
    extra: dict[str, Any] = {}
    if exc.messages:
        extra = {"errors": exc.messages, "response_metadata": {"messages": exc.messages}}
    return api_error(exc.error, **extra)
