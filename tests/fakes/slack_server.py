"""A strict, local fake of Slack's Web API and incoming webhooks.

:class:`FakeSlack` runs a stdlib :class:`http.server.ThreadingHTTPServer` on
``127.0.0.1`` (ephemeral port) in a daemon thread and answers the handful of
Slack endpoints the monitor uses, as the real ``slack_sdk`` clients call them:

* ``POST /api/<method>`` -- ``auth.test``, ``chat.postMessage``, ``chat.update``,
  ``conversations.history`` and ``conversations.list``.  Bodies may be JSON
  (what ``slack_sdk`` sends for ``chat.*``) or ``application/x-www-form-urlencoded``
  (what it sends for everything else, *including* ``conversations.history``:
  ``slack_sdk`` POSTs every method and turns booleans into ``"1"``/``"0"``).
  ``GET`` with a query string is accepted too.
* ``POST /services/T…/B…/…`` -- an incoming webhook that posts to
  ``#security-alerts``.
* Interactivity, for apps that answer buttons and slash commands:
  ``apps.connections.open`` (app-level ``xapp-…`` token only; hands out a
  single-use Socket Mode URL from the attached
  :class:`tests.fakes.socket_mode.FakeSocketMode`), ``chat.postEphemeral``
  (the user must be in the channel; recorded in :attr:`FakeSlack.ephemerals`,
  not in ``messages``) and ``response_url`` hooks (``POST /actions/…`` and
  ``/commands/…``, issued by :meth:`FakeSlack.issue_response_url`; recorded in
  :attr:`FakeSlack.responses`; 5 uses within 30 minutes, like Slack) and
  ``usergroups.users.list`` (the members of a user group added with
  :meth:`FakeSlack.add_usergroup`; scope ``usergroups:read``; ``no_such_subteam``).

The point of the fake is to be *as strict as real Slack* (see
``/work/shared/FIELD-NOTES.md``) so that tests fail where production would:

* the token must come in ``Authorization: Bearer …`` (``not_authed`` /
  ``invalid_auth``; a token in the query string or body is refused);
* channels: ``chat.postMessage`` takes ``#name``, ``name`` or an ID; ``chat.update``
  and ``conversations.history`` take IDs only; ``channel_not_found`` (unknown or
  private), ``not_in_channel``, ``is_archived``;
* Block Kit is validated (50 blocks, section text 1-3000, fields 10 x 2000, header
  plain_text <= 150, context <= 10 elements, actions <= 25, button text <= 75, URL
  <= 3000, ``block_id`` <= 255 and unique ...).  Violations answer ``invalid_blocks``
  with Slack-style ``[ERROR] … [json-pointer:/blocks/0/text/text]`` messages; more
  than 12,000 characters of text across the blocks answers ``msg_blocks_too_long``;
  ``text`` over 40,000 characters is accepted but truncated;
* threads behave like Slack: ``thread_ts`` must be a ``"1234567890.123456"`` string
  (other strings: ``invalid_thread_ts``); a well-formed ts naming no message in the
  channel is accepted with ``ok: true`` but the reply is recorded as an *orphan*
  (invisible in Slack); a reply to a reply lands in the root thread.  A JSON
  *number* ``thread_ts`` is also ``ok: true`` and an orphan, which is what real
  Slack does (python-slack-sdk #840) -- pass ``numeric_thread_ts="reject"`` to get
  ``invalid_thread_ts`` instead;
* optional per-channel rate limiting (token bucket, burst of 3) answering HTTP 429
  with ``Retry-After``, plus scripted failures (:meth:`FakeSlack.fail_next`) and a
  full outage (:meth:`FakeSlack.set_down`).

Typical use::

    from slack_sdk import WebClient
    from slack_sdk.webhook import WebhookClient
    from tests.fakes.slack_server import FakeSlack, live_mentions, message_mrkdwn_texts

    with FakeSlack(rate_limit_per_channel=1.0) as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
        resp = client.chat_postMessage(channel="#security-alerts", text="hello")
        client.chat_postMessage(channel=resp["channel"], text="more", thread_ts=resp["ts"])
        WebhookClient(slack.webhook_url).send(text="via webhook")

        slack.fail_next(1, status=429, retry_after=1)      # next request is rate limited
        slack.set_down(True)                               # every request answers 503

        assert slack.wait_for(lambda s: len(s.messages) == 3)
        assert not [m for m in slack.messages if m["orphan"]]
        assert all(not live_mentions(t) for m in slack.messages
                   for t in message_mrkdwn_texts(m))

Other helpers: :meth:`FakeSlack.add_channel`, :meth:`FakeSlack.add_webhook`,
:meth:`FakeSlack.top_level`, :meth:`FakeSlack.replies`, :meth:`FakeSlack.orphans`,
:meth:`FakeSlack.clear`, and the pure functions :func:`validate_blocks` /
:func:`blocks_text_length` to check built blocks without a server.

For an end-to-end test start the daemon with ``SLACK_API_URL=slack.base_url``;
the server is thread-safe (one lock around all state) and every accessor returns
a deep copy, so the test thread can read while the daemon posts.

The module uses only the standard library.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "APP_TOKEN",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_CHANNELS",
    "DEFAULT_TOKEN",
    "DEFAULT_USERS",
    "MAX_BLOCKS",
    "MAX_BLOCKS_TEXT",
    "MAX_TEXT",
    "TEAM_ID",
    "FakeSlack",
    "blocks_text_length",
    "live_mentions",
    "message_mrkdwn_texts",
    "validate_blocks",
]

DEFAULT_TOKEN = "xoxb-test-token"
#: App-level token (scope ``connections:write``) that opens Socket Mode connections.
APP_TOKEN = "xapp-1-A0MONITOR-1-test-token"
#: Channel name -> ID created by default; the bot is a member of all of them.
DEFAULT_CHANNELS: dict[str, str] = {
    "security-alerts": "C0SECALERT",
    "ops": "C0OPS",
    "general": "C0GENERAL",
}
#: User ID -> name created by default; each is a member of every default channel.
DEFAULT_USERS: dict[str, str] = {"U0ANALYST": "analyst"}
TEAM_ID = "T000"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0MONITOR"
WEBHOOK_PATH = "/services/T000/B000/XXXXXXXX"

#: The scope each method needs (public channels), as Slack documents it.
_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.list": "channels:read",
    "usergroups.users.list": "usergroups:read",
}
ALL_SCOPES = frozenset(_SCOPES.values())

MAX_BLOCKS = 50
#: Undocumented cap on the total text of a message's blocks (bolt-js #2509).
MAX_BLOCKS_TEXT = 12_000
#: Longer ``text`` is truncated by Slack, not rejected.
MAX_TEXT = 40_000
#: Burst a channel's token bucket tolerates before rate limiting kicks in.
RATE_LIMIT_BURST = 1  # Slack at its strictest: one message per second, no burst
#: A response_url takes 5 posts within 30 minutes (Slack's "Handling user interaction").
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL = 30 * 60.0

_TS_RE = re.compile(r"^\d{10}\.\d{6}$")

# --------------------------------------------------------------------------- mrkdwn helpers

_ANGLE_RE = re.compile(r"<([^<>]+)>")
_SPECIAL_MENTIONS = frozenset({"channel", "here", "everyone", "group"})
_URL_SCHEME_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|mailto:|tel:)", re.IGNORECASE)


def _is_live_target(target: str) -> bool:
    """Whether the part of ``<target|label>`` before ``|`` is something Slack renders."""
    if target.startswith("!"):
        name = target[1:]
        return name in _SPECIAL_MENTIONS or name.startswith("subteam^")
    if target.startswith(("@", "#")):
        return len(target) > 1
    return bool(_URL_SCHEME_RE.match(target))


def live_mentions(mrkdwn: str) -> list[str]:
    """Return the live markup Slack would render from a mrkdwn string.

    That is every unescaped ``<!channel>``, ``<!here>``, ``<!everyone>``,
    ``<!group>``, ``<!subteam^…>``, ``<@U…>``, ``<#C…>`` and every link
    ``<https://…>`` / ``<https://…|label>`` (whose real target the reader does not
    see), in order of appearance, as the literal ``<…>`` tokens.  Escaped text such
    as ``&lt;!here&gt;`` is shown literally by Slack and therefore not returned.
    Feed-derived text should produce an empty list.
    """
    found: list[str] = []
    for match in _ANGLE_RE.finditer(mrkdwn):
        target = match.group(1).split("|", 1)[0]
        if _is_live_target(target):
            found.append(match.group(0))
    return found


def _collect_mrkdwn(node: Any, out: list[str]) -> None:
    # Walk generically rather than per block type so that mrkdwn objects in places
    # we did not think of (section fields, context elements, option descriptions)
    # are still found.
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            out.append(node["text"])
        for value in node.values():
            if isinstance(value, (dict, list)):
                _collect_mrkdwn(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect_mrkdwn(item, out)


def message_mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Return every piece of text of ``message`` that Slack parses as mrkdwn.

    ``message`` is a record from :attr:`FakeSlack.messages` or a message as
    returned by ``conversations.history`` / passed to ``chat.postMessage``.  The
    result holds the top-level ``text`` and the ``text`` of every
    ``{"type": "mrkdwn"}`` object inside ``blocks`` (section text and fields,
    context elements, ...), plus legacy attachments' ``pretext``/``text``/
    ``footer``/field values and attachment blocks, where ``<…>`` markup is live
    as well.  ``plain_text`` objects are shown literally and are not included;
    neither are rich_text elements (they carry no markup syntax).
    """
    out: list[str] = []
    text = message.get("text")
    if isinstance(text, str) and text:
        out.append(text)
    _collect_mrkdwn(message.get("blocks"), out)
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            for key in ("pretext", "text", "footer"):
                value = attachment.get(key)
                if isinstance(value, str) and value:
                    out.append(value)
            for fld in attachment.get("fields") or []:
                if isinstance(fld, dict) and isinstance(fld.get("value"), str):
                    out.append(fld["value"])
            _collect_mrkdwn(attachment.get("blocks"), out)
    return out


# --------------------------------------------------------------------------- Block Kit validation

_ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "overflow",
        "radio_buttons",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "workflow_button",
    }
)
_ACCESSORY_TYPES = _ELEMENT_TYPES - {"datetimepicker"} | {"image"}


class _BlockValidator:
    """Collects Slack-style validation messages for a list of blocks."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, pointer: str, message: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    # -- primitives

    def string(
        self, value: Any, pointer: str, *, max_len: int, min_len: int = 1, required: bool = True
    ) -> None:
        if value is None:
            if required:
                self.error(pointer, "missing required field")
            return
        if not isinstance(value, str):
            self.error(pointer, "must be a string")
            return
        if len(value) < min_len:
            self.error(pointer, f"must be more than {min_len - 1} characters")
        if len(value) > max_len:
            self.error(pointer, f"must be less than {max_len + 1} characters")

    def items(
        self, value: Any, pointer: str, *, max_items: int, min_items: int = 1
    ) -> list[Any] | None:
        if value is None:
            self.error(pointer, "missing required field")
            return None
        if not isinstance(value, list):
            self.error(pointer, "must be an array")
            return None
        if len(value) < min_items:
            self.error(pointer, f"must provide at least {min_items} items")
        if len(value) > max_items:
            self.error(pointer, f"no more than {max_items} items allowed")
        return value

    def text_object(
        self, obj: Any, pointer: str, *, max_len: int, plain_only: bool = False
    ) -> None:
        if obj is None:
            self.error(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.error(f"{pointer}/type", "must be a valid enum value")
            return
        if plain_only and kind != "plain_text":
            self.error(f"{pointer}/type", "must be a valid enum value (expected plain_text)")
        # Slack rejects properties that belong to the other kind of text object.
        if kind == "mrkdwn" and "emoji" in obj:
            self.error(f"{pointer}/emoji", "not allowed on a mrkdwn text object")
        if kind == "plain_text" and "verbatim" in obj:
            self.error(f"{pointer}/verbatim", "not allowed on a plain_text text object")
        self.string(obj.get("text"), f"{pointer}/text", max_len=max_len)

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        if "image_url" in obj:
            self.string(obj["image_url"], f"{pointer}/image_url", max_len=3000)
        elif not isinstance(obj.get("slack_file"), dict):
            self.error(pointer, "must provide either image_url or slack_file")
        self.string(obj.get("alt_text"), f"{pointer}/alt_text", max_len=2000)

    def element(
        self, obj: Any, pointer: str, allowed: frozenset[str], action_ids: set[str]
    ) -> None:
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object")
            return
        kind = obj.get("type")
        if kind not in allowed:
            self.error(f"{pointer}/type", "must be a valid enum value")
            return
        if "action_id" in obj:
            self.string(obj["action_id"], f"{pointer}/action_id", max_len=255)
            if obj["action_id"] in action_ids:
                self.error(f"{pointer}/action_id", "must be unique within the block")
            elif isinstance(obj["action_id"], str):
                action_ids.add(obj["action_id"])
        if kind == "button":
            self.text_object(obj.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
            if "url" in obj:
                self.string(obj["url"], f"{pointer}/url", max_len=3000)
            if "value" in obj:
                self.string(obj["value"], f"{pointer}/value", max_len=2000)
            if "style" in obj and obj["style"] not in ("primary", "danger"):
                self.error(f"{pointer}/style", "must be a valid enum value")
        elif kind == "image":
            self.image(obj, pointer)

    # -- blocks

    def blocks(self, blocks: Any, pointer: str) -> None:
        items = self.items(blocks, pointer, max_items=MAX_BLOCKS, min_items=0)
        if items is None:
            return
        block_ids: set[str] = set()
        for index, block in enumerate(items):
            self.block(block, f"{pointer}/{index}", block_ids)

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.error(pointer, "must be an object")
            return
        if "block_id" in block:
            self.string(block["block_id"], f"{pointer}/block_id", max_len=255)
            if block["block_id"] in block_ids:
                self.error(f"{pointer}/block_id", "must be unique within the message")
            elif isinstance(block["block_id"], str):
                block_ids.add(block["block_id"])
        kind = block.get("type")
        check = {
            "section": self.section,
            "header": self.header,
            "context": self.context,
            "divider": self.divider,
            "actions": self.actions,
            "rich_text": self.rich_text,
            "image": self.image_block,
        }.get(kind if isinstance(kind, str) else "")
        if check is None:
            self.error(f"{pointer}/type", f"must be a valid enum value (unsupported type {kind!r})")
            return
        check(block, pointer)

    def section(self, block: dict[str, Any], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.error(pointer, "must provide either text or fields")
        if "text" in block:
            self.text_object(block["text"], f"{pointer}/text", max_len=3000)
        if "fields" in block:
            fields = self.items(block["fields"], f"{pointer}/fields", max_items=10)
            for index, obj in enumerate(fields or []):
                self.text_object(obj, f"{pointer}/fields/{index}", max_len=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", _ACCESSORY_TYPES, set())

    def header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)

    def context(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.items(block.get("elements"), f"{pointer}/elements", max_items=10)
        for index, obj in enumerate(elements or []):
            here = f"{pointer}/elements/{index}"
            if isinstance(obj, dict) and obj.get("type") == "image":
                self.image(obj, here)
            else:
                self.text_object(obj, here, max_len=3000)

    def divider(self, block: dict[str, Any], pointer: str) -> None:
        pass

    def actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.items(block.get("elements"), f"{pointer}/elements", max_items=25)
        action_ids: set[str] = set()
        for index, obj in enumerate(elements or []):
            self.element(obj, f"{pointer}/elements/{index}", _ELEMENT_TYPES, action_ids)

    def rich_text(self, block: dict[str, Any], pointer: str) -> None:
        # Rich text is accepted as long as it has the right shape; its content is
        # not markup and the monitor does not generate it.
        if not isinstance(block.get("elements"), list):
            self.error(f"{pointer}/elements", "must be an array")

    def image_block(self, block: dict[str, Any], pointer: str) -> None:
        self.image(block, pointer)
        if "title" in block:
            self.text_object(block["title"], f"{pointer}/title", max_len=2000, plain_only=True)


def validate_blocks(blocks: Any, pointer: str = "/blocks") -> list[str]:
    """Validate a Block Kit ``blocks`` array like Slack does.

    Returns Slack-style messages (``"[ERROR] must be less than 3001 characters
    [json-pointer:/blocks/0/text/text]"``); an empty list means valid.  The
    12,000-character total is checked separately by :func:`blocks_text_length`
    because Slack reports it with a different error code.
    """
    validator = _BlockValidator()
    validator.blocks(blocks, pointer)
    return validator.errors


def blocks_text_length(blocks: Any) -> int:
    """Total length of every ``text`` string inside ``blocks`` (what Slack caps at 12,000)."""
    if isinstance(blocks, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else blocks_text_length(value)
            for key, value in blocks.items()
        )
    if isinstance(blocks, list):
        return sum(blocks_text_length(item) for item in blocks)
    return 0


# --------------------------------------------------------------------------- internal state


@dataclass
class _Channel:
    id: str
    name: str
    member: bool = True
    archived: bool = False
    private: bool = False
    users: set[str] = field(default_factory=set)  # human members


@dataclass
class _ResponseUrl:
    kind: str  # "actions" (a click on a message) or "commands" (a slash command)
    channel: str
    user: str
    message_ts: str | None
    issued: float
    uses: int = 0


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    error: str | None
    methods: tuple[str, ...] | None


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    # What goes into FakeSlack.requests.
    ok: bool = False
    error: str | None = None


class _ContentError(Exception):
    """A message's text/blocks/attachments were rejected."""

    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


@dataclass
class _Content:
    text: str | None
    blocks: list[Any] | None
    attachments: list[Any] | None
    text_truncated: bool


def _json_reply(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> _Reply:
    return _Reply(
        status=status,
        body=json.dumps(payload).encode("utf-8"),
        content_type="application/json; charset=utf-8",
        headers=headers or {},
        ok=bool(payload.get("ok")),
        error=payload.get("error"),
    )


def _text_reply(
    status: int, text: str, *, content_type: str = "text/plain; charset=utf-8"
) -> _Reply:
    return _Reply(
        status=status,
        body=text.encode("utf-8"),
        content_type=content_type,
        ok=status == 200,
        error=None if status == 200 else text,
    )


def _api_error(error: str, **extra: Any) -> _Reply:
    # API-level errors are HTTP 200 with ok:false, like real Slack.
    return _json_reply(200, {"ok": False, "error": error, **extra})


def _truthy(value: Any) -> bool:
    """Slack's reading of a boolean parameter (JSON bool or form ``1``/``true``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return False


def _ts_decimal(value: Any) -> Decimal | None:
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


def _page(
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
    page = items[offset : offset + limit]
    next_cursor = _encode_cursor(offset + limit) if offset + limit < len(items) else ""
    return page, next_cursor


_OUTAGE_PAGE = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>Slack is having trouble.</p></body></html>"
)

_WEBHOOK_DEFAULT_ERRORS = {
    400: "invalid_payload",
    403: "invalid_token",
    404: "no_service",
    410: "channel_is_archived",
}


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 makes bursts of concurrent clients wait
    # for a SYN retransmit (about 1 s); Slack never does that.
    request_queue_size = 128

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.fake._handle(self.command, self.path, dict(self.headers.items()), body)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # A client that gave up (timeout) must not crash the server thread.
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output clean; every request is recorded in FakeSlack.requests.
        pass


# --------------------------------------------------------------------------- the fake


class FakeSlack:
    """A fake Slack workspace served over HTTP for ``slack_sdk`` clients.

    Args:
        tokens: bot tokens accepted in ``Authorization: Bearer …``.
        channels: channel name -> ID (default :data:`DEFAULT_CHANNELS`); the bot
            is a member of each.  Use :meth:`add_channel` for archived, private or
            not-joined channels.
        rate_limit_per_channel: messages per second allowed per channel, ``None`` for
            no limit.  Applies to ``chat.postMessage``, ``chat.update`` and webhooks;
            every 429 is recorded in :attr:`rate_limited`.
        burst: messages allowed back to back before the rate applies (default
            :data:`RATE_LIMIT_BURST`: none).
        scopes: the bot token's scopes (default: all the monitor may use); a method
            whose scope is missing answers ``missing_scope``, as Slack does.
        numeric_thread_ts: what a JSON-number ``thread_ts`` does: ``"orphan"``
            (real Slack: ``ok: true``, invisible reply) or ``"reject"``
            (``invalid_thread_ts``).
        clock: monotonic clock used by the rate limiter and response_url expiry;
            inject one to test refills without sleeping.
        app_tokens: app-level tokens accepted by ``apps.connections.open`` (and
            refused with ``not_allowed_token_type`` everywhere else).
        users: user ID -> name (default :data:`DEFAULT_USERS`), members of every
            channel in ``channels``; see :meth:`add_user`.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        channels: dict[str, str] | None = None,
        rate_limit_per_channel: float | None = None,
        burst: int = RATE_LIMIT_BURST,
        scopes: Iterable[str] | None = None,
        numeric_thread_ts: Literal["orphan", "reject"] = "orphan",
        clock: Callable[[], float] = time.monotonic,
        app_tokens: Iterable[str] = (APP_TOKEN,),
        users: dict[str, str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tokens = frozenset(tokens)
        self._app_tokens = frozenset(app_tokens)
        self._users = dict(DEFAULT_USERS if users is None else users)
        self._channels: dict[str, _Channel] = {}  # by ID
        for name, channel_id in (DEFAULT_CHANNELS if channels is None else channels).items():
            self._channels[channel_id] = _Channel(id=channel_id, name=name, users=set(self._users))
        self._ephemerals: list[dict[str, Any]] = []
        self._usergroups: dict[str, list[str]] = {}  # S… id -> member user ids
        self._responses: list[dict[str, Any]] = []
        self._response_urls: dict[str, _ResponseUrl] = {}  # by path
        self._socket_mode_url: Callable[[], str] | None = None
        self._webhooks: dict[str, str] = {WEBHOOK_PATH: "security-alerts"}  # path -> name
        self._rate = rate_limit_per_channel
        self._burst = float(burst)
        self._scopes = frozenset(ALL_SCOPES if scopes is None else scopes)
        self.rate_limited: list[tuple[str, float]] = []  # (channel ID, when) of each 429
        self._numeric_thread_ts = numeric_thread_ts
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._failures: list[_Failure] = []
        self._down = False
        self._messages: list[dict[str, Any]] = []
        self._by_ts: dict[tuple[str, str], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._server_errors: list[str] = []
        self._last_ts_us = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Bind ``127.0.0.1:0`` and serve in a daemon thread."""
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},  # short, so stop() returns quickly
                name="FakeSlack",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base, e.g. ``http://127.0.0.1:PORT/api/`` (slack_sdk appends the method)."""
        return f"{self.root_url}/api/"

    @property
    def webhook_url(self) -> str:
        """Incoming webhook that posts to ``#security-alerts``."""
        return self.root_url + WEBHOOK_PATH

    # ----------------------------------------------------------------- configuration

    def add_channel(
        self,
        name: str,
        id: str,
        *,
        member: bool = True,
        archived: bool = False,
        private: bool = False,
        users: Iterable[str] = (),
    ) -> None:
        """Add (or replace) a channel; ``users`` are its human members."""
        with self._lock:
            for channel_id, channel in list(self._channels.items()):
                if channel.name == name and channel_id != id:
                    del self._channels[channel_id]
            self._channels[id] = _Channel(id, name, member, archived, private, set(users))

    def add_user(self, id: str, name: str, *, channels: Iterable[str] = ()) -> None:
        """Add a user who is a member of the given channel IDs (and of no other)."""
        with self._lock:
            self._users[id] = name
            for channel in self._channels.values():
                channel.users.discard(id)
            for channel_id in channels:
                self._channels[channel_id].users.add(id)

    def add_usergroup(self, id: str, users: Iterable[str]) -> None:
        """Add (or replace) a user group ``S…`` with these members."""
        with self._lock:
            self._usergroups[id] = list(users)

    def add_webhook(self, channel_name: str, path: str | None = None) -> str:
        """Register another incoming webhook posting to ``channel_name``; return its URL."""
        with self._lock:
            path = path or f"/services/T000/B{len(self._webhooks):03d}/WEBHOOK{len(self._webhooks)}"
            self._webhooks[path] = channel_name
        return self.root_url + path

    def fail_next(
        self,
        n: int,
        *,
        status: int = 500,
        retry_after: int | None = None,
        error: str | None = None,
        methods: tuple[str, ...] | None = None,
    ) -> None:
        """Make the next ``n`` matching requests fail.

        ``methods`` restricts the failure to API method names (``"chat.postMessage"``)
        and/or ``"webhook"``; ``None`` matches every request.  429 answers carry
        ``Retry-After`` (default 1) and ``ratelimited`` (webhooks: a JSON body with
        ``retry_after`` and ``rate_limited``).  Other API failures answer
        ``{"ok": false, "error": error or "internal_error"}`` with ``status``
        (``status=200`` simulates an API-level error); webhook failures answer a
        plain-text error (``invalid_token`` for 403, ``internal_error`` for 5xx ...).
        Several calls queue up in order.
        """
        if n < 1:
            return
        with self._lock:
            self._failures.append(_Failure(n, status, retry_after, error, methods))

    def set_down(self, down: bool) -> None:
        """While down every request gets a 503 HTML page (an outage at Slack's edge)."""
        with self._lock:
            self._down = down

    def clear(self) -> None:
        """Forget recorded messages, updates and requests (channels and config stay)."""
        with self._lock:
            self._messages.clear()
            self._by_ts.clear()
            self._updates.clear()
            self._requests.clear()
            self._server_errors.clear()
            self._ephemerals.clear()
            self._responses.clear()

    # ----------------------------------------------------------------- observation

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages (top-level, replies and orphans), oldest first.

        Each is ``{"channel", "ts", "text", "blocks", "attachments", "thread_ts",
        "thread_ts_raw", "reply_broadcast", "metadata", "via", "orphan",
        "link_names", "parse", "mrkdwn", "unfurl_links", "unfurl_media",
        "text_truncated", "edited", "ignored_thread_ts"}`` (a copy).  ``thread_ts``
        is the root the reply landed in (``None`` for top-level posts);
        ``thread_ts_raw`` is what the client sent; ``ignored_thread_ts`` is a
        ``thread_ts`` a webhook payload carried (and Slack dropped).
        """
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Accepted ``chat.update`` calls: ``{"channel", "ts", "text", "blocks"}``."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request: ``{"method", "status", "ok", "error", "body", "path", "token", …}``."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def server_errors(self) -> list[str]:
        """Exceptions raised inside the fake itself (should stay empty)."""
        with self._lock:
            return list(self._server_errors)

    def wait_for(
        self, predicate: Callable[[FakeSlack], bool], timeout: float = 10.0, interval: float = 0.01
    ) -> bool:
        """Poll ``predicate(self)``; ``True`` once it holds, ``False`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def top_level(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages that are not replies (optionally in one channel ID)."""
        return [
            m
            for m in self.messages
            if m["thread_ts"] is None and not m["orphan"] and channel in (None, m["channel"])
        ]

    def replies(self, parent_ts: str) -> list[dict[str, Any]]:
        """Visible replies in the thread whose root has ``parent_ts``, oldest first."""
        messages = self.messages
        parents = [m for m in messages if m["ts"] == parent_ts]
        if not parents:
            return []
        channel = parents[0]["channel"]
        return [
            m
            for m in messages
            if m["channel"] == channel and m["thread_ts"] == parent_ts and not m["orphan"]
        ]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Accepted ``chat.postEphemeral`` calls: ``{"channel", "user", "text",
        "blocks", "thread_ts", "message_ts"}`` (seen by ``user`` only, so never
        in :attr:`messages`)."""
        with self._lock:
            return copy.deepcopy(self._ephemerals)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Accepted ``response_url`` posts: ``{"url", "kind", "channel", "user",
        "message_ts", "response_type", "replace_original", "delete_original",
        "text", "blocks"}``.  ``response_type`` is what the app sent (Slack's
        default when absent is ephemeral); an ``in_channel`` post that is not a
        replacement also lands in :attr:`messages` (``via="response_url"``)."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message as the Web API shows it (``None`` if absent or deleted)."""
        with self._lock:
            record = self._by_ts.get((channel, ts))
            if record is None or record["orphan"]:
                return None
            return self._message_view(record, include_metadata=True)

    def channel_info(self, channel: str) -> dict[str, Any] | None:
        """``{"id", "name", "users"}`` of a channel ID, ``None`` if unknown."""
        with self._lock:
            found = self._channels.get(channel)
            if found is None:
                return None
            return {"id": found.id, "name": found.name, "users": sorted(found.users)}

    def user_name(self, user: str) -> str | None:
        with self._lock:
            return self._users.get(user)

    # ----------------------------------------------------------------- interactivity hooks

    def attach_socket_mode(self, issue_url: Callable[[], str] | None) -> None:
        """Let ``apps.connections.open`` hand out URLs from ``issue_url()``."""
        with self._lock:
            self._socket_mode_url = issue_url

    def issue_response_url(
        self,
        kind: Literal["actions", "commands"],
        *,
        channel: str,
        user: str,
        message_ts: str | None = None,
    ) -> str:
        """A fresh ``response_url`` for a click on ``message_ts`` or for a command."""
        with self._lock:
            path = f"/{kind}/{TEAM_ID}/{len(self._response_urls) + 1}/{uuid.uuid4().hex}"
            self._response_urls[path] = _ResponseUrl(kind, channel, user, message_ts, self._clock())
        return self.root_url + path

    def orphans(self) -> list[dict[str, Any]]:
        """Replies Slack accepted but nobody can see (bad ``thread_ts``)."""
        return [m for m in self.messages if m["orphan"]]

    # ----------------------------------------------------------------- request dispatch

    def _handle(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        path = parts.path
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if path.startswith("/api/"):
            kind, name = "api", path[len("/api/") :]
        elif path.startswith("/services/"):
            kind, name = "webhook", "webhook"
        elif path.startswith(("/actions/", "/commands/")):
            kind, name = "response_url", "response_url"
        else:
            kind, name = "other", path
        record: dict[str, Any] = {
            "method": name,
            "verb": verb,
            "path": raw_path,
            "content_type": content_type,
            "token": None,
            "body": None,
        }
        with self._lock:
            try:
                reply = self._dispatch(kind, name, parts.query, headers, body, content_type, record)
            except Exception as exc:  # a bug in the fake must show up, not hang the client
                self._server_errors.append(f"{type(exc).__name__}: {exc}")
                reply = _json_reply(500, {"ok": False, "error": f"fake_slack_bug: {exc}"})
            record.update(status=reply.status, ok=reply.ok, error=reply.error)
            if "Retry-After" in reply.headers:
                record["retry_after"] = int(reply.headers["Retry-After"])
            self._requests.append(record)
        return reply

    def _dispatch(
        self,
        kind: str,
        name: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        content_type: str,
        record: dict[str, Any],
    ) -> _Reply:
        if kind in ("webhook", "response_url"):
            record["body"] = self._parse_webhook_body(body, content_type)
        elif kind == "api":
            record["body"] = self._parse_api_body(body, content_type)
        if self._down:
            reply = _text_reply(503, _OUTAGE_PAGE, content_type="text/html; charset=utf-8")
            reply.error = "service_unavailable"
            return reply
        failure = self._take_failure(name)
        if failure is not None:
            return self._failure_reply(failure, kind)
        if kind == "webhook":
            return self._webhook(name, urlsplit(record["path"]).path, record["body"])
        if kind == "api":
            return self._api(name, query, headers, record)
        if kind == "response_url":
            return self._response_url(urlsplit(record["path"]).path, record["body"])
        return _text_reply(404, "not_found")

    def _take_failure(self, name: str) -> _Failure | None:
        for failure in self._failures:
            if failure.methods is None or name in failure.methods:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _failure_reply(self, failure: _Failure, kind: str) -> _Reply:
        headers: dict[str, str] = {}
        if failure.retry_after is not None or failure.status == 429:
            headers["Retry-After"] = str(
                failure.retry_after if failure.retry_after is not None else 1
            )
        if failure.status == 429:
            retry_after = int(headers["Retry-After"])
            if kind == "webhook":
                payload = {
                    "retry_after": retry_after,
                    "ok": False,
                    "error": failure.error or "rate_limited",
                }
            else:
                payload = {"ok": False, "error": failure.error or "ratelimited"}
            return _json_reply(429, payload, headers)
        if kind == "webhook":
            default = (
                "internal_error"
                if failure.status >= 500
                else _WEBHOOK_DEFAULT_ERRORS.get(failure.status, "error")
            )
            reply = _text_reply(failure.status, failure.error or default)
            reply.headers.update(headers)
            return reply
        return _json_reply(
            failure.status, {"ok": False, "error": failure.error or "internal_error"}, headers
        )

    def _rate_limited(self, channel_id: str) -> _Reply | None:
        """Token bucket per channel; a 429 reply when the channel is over its rate."""
        if self._rate is None:
            return None
        now = self._clock()
        bucket = self._buckets.setdefault(channel_id, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
        self.rate_limited.append((channel_id, now))
        return _json_reply(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        )

    # ----------------------------------------------------------------- parsing

    @staticmethod
    def _parse_api_body(body: bytes, content_type: str) -> dict[str, Any] | str | None:
        """JSON or form body -> dict; an undecodable body is kept as a string."""
        if not body:
            return {}
        mime = content_type.split(";", 1)[0].strip().lower()
        text = body.decode("utf-8", errors="replace")
        if mime == "application/json":
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                return text
            return parsed if isinstance(parsed, dict) else text
        if mime in ("application/x-www-form-urlencoded", ""):
            return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        return text

    @staticmethod
    def _parse_webhook_body(body: bytes, content_type: str) -> dict[str, Any] | str:
        text = body.decode("utf-8", errors="replace")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime == "application/x-www-form-urlencoded":
            # Webhooks also take the JSON in a ``payload`` form field.
            text = parse_qs(text).get("payload", [""])[-1]
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return text
        return parsed if isinstance(parsed, dict) else text

    def _check_content(self, params: dict[str, Any]) -> _Content:
        """Validate text/blocks/attachments the way chat.postMessage does."""
        text = params.get("text")
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        elif text is not None and not isinstance(text, str):
            raise _ContentError(
                "invalid_arguments", ["[ERROR] must be a string [json-pointer:/text]"]
            )

        blocks = params.get("blocks")
        if isinstance(blocks, str):
            # Form bodies (and slack_sdk when given a str) carry blocks as JSON text.
            try:
                blocks = json.loads(blocks) if blocks.strip() else None
            except json.JSONDecodeError:
                raise _ContentError("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise _ContentError("invalid_blocks_format")

        attachments = params.get("attachments")
        if isinstance(attachments, str):
            try:
                attachments = json.loads(attachments) if attachments.strip() else None
            except json.JSONDecodeError:
                raise _ContentError("invalid_attachments") from None
        if attachments is not None and not isinstance(attachments, list):
            raise _ContentError("invalid_attachments")

        if not text and not blocks and not attachments:
            raise _ContentError("no_text")
        if blocks:
            errors = validate_blocks(blocks)
            if errors:
                raise _ContentError("invalid_blocks", errors)
            if blocks_text_length(blocks) > MAX_BLOCKS_TEXT:
                raise _ContentError("msg_blocks_too_long")
        for index, attachment in enumerate(attachments or []):
            if isinstance(attachment, dict) and "blocks" in attachment:
                errors = validate_blocks(attachment["blocks"], f"/attachments/{index}/blocks")
                if errors:
                    raise _ContentError("invalid_blocks", errors)

        truncated = text is not None and len(text) > MAX_TEXT
        return _Content(
            text=text[:MAX_TEXT] if text else None,
            blocks=blocks or None,
            attachments=attachments or None,
            text_truncated=truncated,
        )

    def _next_ts(self) -> str:
        # Strictly increasing across the whole workspace, formatted like Slack's.
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _store(self, record: dict[str, Any]) -> None:
        self._messages.append(record)
        self._by_ts[(record["channel"], record["ts"])] = record

    def _channel_by_name(self, name: str) -> _Channel | None:
        return next((c for c in self._channels.values() if c.name == name), None)

    def _check_channel(self, channel: _Channel | None, *, need_member: bool = True) -> str | None:
        # Private channels the bot is not in are invisible to it: channel_not_found.
        if channel is None or (channel.private and not channel.member):
            return "channel_not_found"
        if channel.archived:
            return "is_archived"
        if need_member and not channel.member:
            return "not_in_channel"
        return None

    # ----------------------------------------------------------------- Web API

    def _api(
        self, name: str, query: str, headers: dict[str, str], record: dict[str, Any]
    ) -> _Reply:
        methods: dict[str, Callable[[dict[str, Any]], _Reply]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.history": self._conversations_history,
            "conversations.list": self._conversations_list,
            "conversations.replies": self._conversations_replies,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "apps.connections.open": self._apps_connections_open,
            "usergroups.users.list": self._usergroups_users_list,
        }
        method = methods.get(name)
        if method is None:
            return _api_error("unknown_method")
        body = record["body"]
        if isinstance(body, str):
            return _api_error(
                "invalid_json"
                if record["content_type"].startswith("application/json")
                else "invalid_form_data"
            )
        query_params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        params: dict[str, Any] = {**query_params, **(body or {})}

        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if authorization is None:
            # Since 2021 Slack refuses tokens in the query string / body for new apps.
            if "token" in params:
                record["token"] = params["token"]
                return _api_error("invalid_auth")
            return _api_error("not_authed")
        token = (
            authorization[len("Bearer ") :].strip() if authorization.startswith("Bearer ") else ""
        )
        record["token"] = token or authorization
        # apps.connections.open takes an app-level token and nothing else does.
        wanted, other = (
            (self._app_tokens, self._tokens)
            if name == "apps.connections.open"
            else (self._tokens, self._app_tokens)
        )
        if token in other:
            return _api_error("not_allowed_token_type")
        if token not in wanted:
            return _api_error("invalid_auth")
        params.pop("token", None)
        needed = _SCOPES.get(name)
        if needed and needed not in self._scopes:
            return _api_error(
                "missing_scope", needed=needed, provided=",".join(sorted(self._scopes))
            )
        return method(params)

    def _auth_test(self, params: dict[str, Any]) -> _Reply:
        return _json_reply(
            200,
            {
                "ok": True,
                "url": "https://fake-workspace.slack.com/",
                "team": "Fake Workspace",
                "user": "monitor",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            },
        )

    def _resolve_thread(self, channel_id: str, raw: Any) -> tuple[str | None, bool] | str:
        """``thread_ts`` -> (root ts or None, orphan?) or an error code."""
        if raw is None:
            return None, False
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            # Real Slack answers ok:true and files the reply nowhere visible
            # (python-slack-sdk #840), even when the number "looks" right.
            if self._numeric_thread_ts == "reject":
                return "invalid_thread_ts"
            return str(raw), True
        if not isinstance(raw, str) or not _TS_RE.match(raw):
            return "invalid_thread_ts"
        parent = self._by_ts.get((channel_id, raw))
        if parent is None or parent["orphan"]:
            return raw, True
        # A reply to a reply lands in the root thread.
        return parent["thread_ts"] or parent["ts"], False

    def _chat_post_message(self, params: dict[str, Any]) -> _Reply:
        ref = params.get("channel")
        channel: _Channel | None = None
        if isinstance(ref, str) and ref:
            if ref.startswith("#"):
                channel = self._channel_by_name(ref[1:])
            else:
                channel = self._channels.get(ref) or self._channel_by_name(ref)
        problem = self._check_channel(channel)
        if problem is not None or channel is None:
            return _api_error(problem or "channel_not_found")
        limited = self._rate_limited(channel.id)
        if limited is not None:
            return limited
        try:
            content = self._check_content(params)
        except _ContentError as exc:
            return self._content_error(exc)

        thread = self._resolve_thread(channel.id, params.get("thread_ts"))
        if isinstance(thread, str):
            return _api_error(thread)
        thread_ts, orphan = thread

        metadata = params.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError:
                return _api_error("invalid_metadata_format")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _api_error("invalid_metadata_format")

        ts = self._next_ts()
        record = {
            "channel": channel.id,
            "ts": ts,
            "at": self._clock(),
            "text": content.text,
            "blocks": content.blocks,
            "attachments": content.attachments,
            "thread_ts": thread_ts,
            "thread_ts_raw": params.get("thread_ts"),
            "reply_broadcast": _truthy(params.get("reply_broadcast")),
            "metadata": metadata,
            "via": "api",
            "orphan": orphan,
            # Recorded so tests can assert they were never set for feed text.
            "link_names": params.get("link_names"),
            "parse": params.get("parse"),
            "mrkdwn": params.get("mrkdwn"),
            "unfurl_links": params.get("unfurl_links"),
            "unfurl_media": params.get("unfurl_media"),
            "text_truncated": content.text_truncated,
            "edited": False,
            "ignored_thread_ts": None,
        }
        self._store(record)
        return _json_reply(
            200,
            {
                "ok": True,
                "channel": channel.id,
                "ts": ts,
                "message": self._message_view(record, include_metadata=True),
            },
        )

    def _content_error(self, exc: _ContentError) -> _Reply:
        extra: dict[str, Any] = {}
        if exc.messages:
            extra = {"errors": exc.messages, "response_metadata": {"messages": exc.messages}}
        return _api_error(exc.error, **extra)

    def _chat_update(self, params: dict[str, Any]) -> _Reply:
        # Only an ID works here: "#name" is channel_not_found, as on real Slack.
        ref = params.get("channel")
        channel = self._channels.get(ref) if isinstance(ref, str) else None
        problem = self._check_channel(channel)
        if problem is not None or channel is None:
            return _api_error(problem or "channel_not_found")
        ts = params.get("ts")
        message = self._by_ts.get((channel.id, ts)) if isinstance(ts, str) else None
        if message is None:
            return _api_error("message_not_found")
        if message["via"] != "api":
            # Webhook posts are not the bot's messages; they cannot be edited.
            return _api_error("cant_update_message")
        limited = self._rate_limited(channel.id)
        if limited is not None:
            return limited
        try:
            content = self._check_content(params)
        except _ContentError as exc:
            return self._content_error(exc)
        if "text" in params:
            message["text"] = content.text
            message["text_truncated"] = content.text_truncated
        if "blocks" in params:
            message["blocks"] = content.blocks
        if "attachments" in params:
            message["attachments"] = content.attachments
        message["edited"] = True
        self._updates.append(
            {"channel": channel.id, "ts": ts, "text": content.text, "blocks": content.blocks}
        )
        return _json_reply(
            200,
            {
                "ok": True,
                "channel": channel.id,
                "ts": ts,
                "text": message["text"] or "",
                "message": self._message_view(message, include_metadata=False),
            },
        )

    def _message_view(self, record: dict[str, Any], *, include_metadata: bool) -> dict[str, Any]:
        """A stored message as Slack returns it from the API."""
        view: dict[str, Any] = {
            "type": "message",
            "text": record["text"] or "",
            "ts": record["ts"],
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
        }
        if record["via"] == "webhook":
            view["subtype"] = "bot_message"
        else:
            view["user"] = BOT_USER_ID
        if record["blocks"] is not None:
            view["blocks"] = copy.deepcopy(record["blocks"])
        if record["attachments"] is not None:
            view["attachments"] = copy.deepcopy(record["attachments"])
        if record["thread_ts"] is not None:
            view["thread_ts"] = record["thread_ts"]
            if record["reply_broadcast"]:
                view["subtype"] = "thread_broadcast"
        else:
            replies = [
                m
                for m in self._messages
                if m["channel"] == record["channel"]
                and m["thread_ts"] == record["ts"]
                and not m["orphan"]
            ]
            if replies:
                view["thread_ts"] = record["ts"]
                view["reply_count"] = len(replies)
                view["latest_reply"] = replies[-1]["ts"]
        if record["edited"]:
            view["edited"] = {"user": BOT_USER_ID, "ts": record["ts"]}
        if include_metadata and record["metadata"] is not None:
            view["metadata"] = copy.deepcopy(record["metadata"])
        return view

    def _conversations_history(self, params: dict[str, Any]) -> _Reply:
        ref = params.get("channel")
        channel = self._channels.get(ref) if isinstance(ref, str) else None
        if channel is None or (channel.private and not channel.member):
            return _api_error("channel_not_found")
        if not channel.member:
            return _api_error("not_in_channel")
        oldest = _ts_decimal(params.get("oldest") or 0)
        if oldest is None:
            return _api_error("invalid_ts_oldest")
        latest = _ts_decimal(params["latest"]) if params.get("latest") else Decimal("Infinity")
        if latest is None:
            return _api_error("invalid_ts_latest")
        inclusive = _truthy(params.get("inclusive"))

        def in_range(ts: str) -> bool:
            value = Decimal(ts)
            if inclusive:
                return oldest <= value <= latest
            return oldest < value < latest

        visible = [
            m
            for m in reversed(self._messages)
            if m["channel"] == channel.id
            and not m["orphan"]
            and (m["thread_ts"] is None or m["reply_broadcast"])
            and in_range(m["ts"])
        ]
        paged = _page(visible, params, default=100, maximum=999)
        if isinstance(paged, str):
            return _api_error(paged)
        page, next_cursor = paged
        include_metadata = _truthy(params.get("include_all_metadata"))
        return _json_reply(
            200,
            {
                "ok": True,
                "messages": [
                    self._message_view(m, include_metadata=include_metadata) for m in page
                ],
                "has_more": bool(next_cursor),
                "pin_count": 0,
                "response_metadata": {"next_cursor": next_cursor},
            },
        )

    def _conversations_replies(self, params: dict[str, Any]) -> _Reply:
        """A thread: its parent, then the replies, oldest first (as Slack answers)."""
        ref = params.get("channel")
        channel = self._channels.get(ref) if isinstance(ref, str) else None
        if channel is None or (channel.private and not channel.member):
            return _api_error("channel_not_found")
        if not channel.member:
            return _api_error("not_in_channel")
        ts = params.get("ts")
        parent = self._by_ts.get((channel.id, ts)) if isinstance(ts, str) else None
        if parent is None:
            return _api_error("thread_not_found")
        oldest = _ts_decimal(params.get("oldest") or 0)
        if oldest is None:
            return _api_error("invalid_ts_oldest")
        thread = [parent] + [
            m
            for m in self._messages
            if m["channel"] == channel.id
            and m["thread_ts"] == ts
            and not m["orphan"]
            and Decimal(m["ts"]) >= oldest
        ]
        paged = _page(thread, params, default=100, maximum=999)
        if isinstance(paged, str):
            return _api_error(paged)
        page, next_cursor = paged
        include_metadata = _truthy(params.get("include_all_metadata"))
        return _json_reply(
            200,
            {
                "ok": True,
                "messages": [
                    self._message_view(m, include_metadata=include_metadata) for m in page
                ],
                "has_more": bool(next_cursor),
                "response_metadata": {"next_cursor": next_cursor},
            },
        )

    def _conversations_list(self, params: dict[str, Any]) -> _Reply:
        # Slack's default is public channels only.
        types = {t.strip() for t in str(params.get("types") or "public_channel").split(",")}
        exclude_archived = _truthy(params.get("exclude_archived"))
        listed = [
            {
                "id": c.id,
                "name": c.name,
                "is_channel": True,
                "is_member": c.member,
                "is_archived": c.archived,
                "is_private": c.private,
            }
            for c in self._channels.values()
            if ("private_channel" if c.private else "public_channel") in types
            and not (c.private and not c.member)
            and not (exclude_archived and c.archived)
        ]
        paged = _page(listed, params, default=100, maximum=1000)
        if isinstance(paged, str):
            return _api_error(paged)
        page, next_cursor = paged
        return _json_reply(
            200, {"ok": True, "channels": page, "response_metadata": {"next_cursor": next_cursor}}
        )

    # ----------------------------------------------------------------- interactivity

    def _apps_connections_open(self, params: dict[str, Any]) -> _Reply:
        if self._socket_mode_url is None:
            return _api_error("fake_slack_bug: no FakeSocketMode attached")
        return _json_reply(200, {"ok": True, "url": self._socket_mode_url()})

    def _usergroups_users_list(self, params: dict[str, Any]) -> _Reply:
        group = params.get("usergroup")
        if not isinstance(group, str) or not group:
            return _api_error("invalid_arguments")
        if group not in self._usergroups:
            return _api_error("no_such_subteam")
        return _json_reply(200, {"ok": True, "users": list(self._usergroups[group])})

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> _Reply:
        ref = params.get("channel")
        channel: _Channel | None = None
        if isinstance(ref, str) and ref:
            name = ref[1:] if ref.startswith("#") else ref
            channel = self._channels.get(ref) or self._channel_by_name(name)
        problem = self._check_channel(channel)
        if problem is not None or channel is None:
            return _api_error(problem or "channel_not_found")
        user = params.get("user")
        if not isinstance(user, str) or user not in self._users:
            return _api_error("user_not_found")
        if user not in channel.users:
            return _api_error("user_not_in_channel")
        try:
            content = self._check_content(params)
        except _ContentError as exc:
            return self._content_error(exc)
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel.id,
                "user": user,
                "text": content.text,
                "blocks": content.blocks,
                "thread_ts": params.get("thread_ts"),
                "message_ts": message_ts,
            }
        )
        return _json_reply(200, {"ok": True, "message_ts": message_ts})

    def _response_url(self, path: str, body: dict[str, Any] | str | None) -> _Reply:
        # Slack does not document these error bodies; the fake answers JSON so a
        # failed respond() is at least visible in the client's response.
        hook = self._response_urls.get(path)
        if hook is None:
            return _json_reply(404, {"ok": False, "error": "no_service"})
        if self._clock() - hook.issued > RESPONSE_URL_TTL:
            return _json_reply(404, {"ok": False, "error": "expired_url"})
        if hook.uses >= RESPONSE_URL_MAX_USES:
            return _json_reply(404, {"ok": False, "error": "used_url"})
        if not isinstance(body, dict):
            return _json_reply(400, {"ok": False, "error": "invalid_payload"})
        response_type = body.get("response_type")
        if response_type not in (None, "ephemeral", "in_channel"):
            return _json_reply(400, {"ok": False, "error": "invalid_response_type"})
        replace = _truthy(body.get("replace_original"))
        delete = _truthy(body.get("delete_original"))
        original = self._by_ts.get((hook.channel, hook.message_ts or ""))
        if (replace or delete) and (hook.kind != "actions" or original is None):
            return _json_reply(404, {"ok": False, "error": "message_not_found"})
        content = _Content(None, None, None, False)
        if not delete:
            try:
                content = self._check_content(body)
            except _ContentError as exc:
                meta = {"messages": exc.messages}
                return _json_reply(
                    400, {"ok": False, "error": exc.error, "response_metadata": meta}
                )
        hook.uses += 1
        if delete and original is not None:
            self._messages.remove(original)
            del self._by_ts[(original["channel"], original["ts"])]
        elif replace and original is not None:
            original["text"], original["blocks"] = content.text, content.blocks
        elif response_type == "in_channel":
            self._store(self._response_message(hook.channel, content))
        self._responses.append(
            {
                "url": self.root_url + path,
                "kind": hook.kind,
                "channel": hook.channel,
                "user": hook.user,
                "message_ts": hook.message_ts,
                "response_type": response_type,
                "replace_original": replace,
                "delete_original": delete,
                "text": content.text,
                "blocks": content.blocks,
            }
        )
        return _json_reply(200, {"ok": True})

    def _response_message(self, channel_id: str, content: _Content) -> dict[str, Any]:
        return {
            "channel": channel_id,
            "ts": self._next_ts(),
            "text": content.text,
            "blocks": content.blocks,
            "attachments": content.attachments,
            "thread_ts": None,
            "thread_ts_raw": None,
            "reply_broadcast": False,
            "metadata": None,
            "via": "response_url",
            "orphan": False,
            "link_names": None,
            "parse": None,
            "mrkdwn": None,
            "unfurl_links": None,
            "unfurl_media": None,
            "text_truncated": content.text_truncated,
            "edited": False,
            "ignored_thread_ts": None,
        }

    # ----------------------------------------------------------------- webhooks

    def _webhook(self, name: str, path: str, body: dict[str, Any] | str | None) -> _Reply:
        channel_name = self._webhooks.get(path)
        channel = self._channel_by_name(channel_name) if channel_name else None
        if channel is None:
            return _text_reply(404, "no_service")
        if channel.archived:
            return _text_reply(410, "channel_is_archived")
        if not isinstance(body, dict):
            return _text_reply(400, "invalid_payload")
        limited = self._rate_limited(channel.id)
        if limited is not None:
            retry_after = int(limited.headers["Retry-After"])
            return _json_reply(
                429,
                {"retry_after": retry_after, "ok": False, "error": "rate_limited"},
                {"Retry-After": str(retry_after)},
            )
        try:
            content = self._check_content(body)
        except _ContentError as exc:
            if exc.error == "no_text":
                return _text_reply(400, "no_text")
            # Webhooks report every block problem as a bare "invalid_blocks".
            return _text_reply(400, "invalid_blocks")
        self._store(
            {
                "channel": channel.id,
                "ts": self._next_ts(),
                "text": content.text,
                "blocks": content.blocks,
                "attachments": content.attachments,
                # Webhooks cannot thread: Slack ignores thread_ts and posts top-level.
                "thread_ts": None,
                "thread_ts_raw": None,
                "reply_broadcast": False,
                "metadata": None,
                "via": "webhook",
                "orphan": False,
                "link_names": body.get("link_names"),
                "parse": body.get("parse"),
                "mrkdwn": body.get("mrkdwn"),
                "unfurl_links": body.get("unfurl_links"),
                "unfurl_media": body.get("unfurl_media"),
                "text_truncated": content.text_truncated,
                "edited": False,
                "ignored_thread_ts": body.get("thread_ts"),
            }
        )
        return _text_reply(200, "ok")
