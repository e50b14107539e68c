"""What every handler answers with, and the small readings of parameters Slack does.

API-level errors are HTTP 200 with ``ok: false``, like real Slack; webhooks answer
plain strings.  Lists are paged by an opaque ``cursor`` and a ``limit``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    # What goes into FakeSlack.requests.
    ok: bool = False
    error: str | None = None


def json_reply(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    return Reply(
        status=status,
        body=json.dumps(payload).encode("utf-8"),
        content_type="application/json; charset=utf-8",
        headers=headers or {},
        ok=bool(payload.get("ok")),
        error=payload.get("error"),
    )


def text_reply(status: int, text: str, *, content_type: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(
        status=status,
        body=text.encode("utf-8"),
        content_type=content_type,
        ok=status == 200,
        error=None if status == 200 else text,
    )


def api_error(error: str, **extra: Any) -> Reply:
    # API-level errors are HTTP 200 with ok:false, like real Slack.
    return json_reply(200, {"ok": False, "error": error, **extra})


def truthy(value: Any) -> bool:
    """Slack's reading of a boolean parameter (JSON bool or form ``1``/``true``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return False


def ts_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int | None:
    if not cursor:
        return 0
    try:
        kind, _, number = base64.b64decode(str(cursor)).decode().partition(":")
        return int(number) if kind == "offset" else None
    except (ValueError, UnicodeDecodeError):
        return None


def page(
    items: list[Any], params: dict[str, Any], *, default: int, maximum: int
) -> tuple[list[Any], str] | str:
    """Slice ``items`` by ``cursor``/``limit``; return (page, next_cursor) or an error code."""
    offset = _decode_cursor(params.get("cursor"))
    if offset is None:
        return "invalid_cursor"
    try:
        limit = int(params.get("limit") or default)
    except (TypeError, ValueError):
        return "invalid_limit"
    limit = default if limit < 1 else min(limit, maximum)
    next_cursor = _encode_cursor(offset + limit) if offset + limit < len(items) else ""
    return items[offset : offset + limit], next_cursor
