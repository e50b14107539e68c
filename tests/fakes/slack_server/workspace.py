"""The fake workspace's state: channels, users, every message, and what was asked.

One :class:`Workspace` is shared by the method handlers (``chat.py``,
``conversations.py``, ``webhooks.py``, ``response_urls.py``); :class:`FakeSlack`
holds its lock around every request, so handlers never lock themselves.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .content import Content
from .faults import Faults, RateLimiter

DEFAULT_TOKEN = "xoxb-test-token"
#: Formatting options a message may be sent with; recorded with each message.
FORMATTING = ("link_names", "parse", "mrkdwn", "unfurl_links", "unfurl_media")
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


@dataclass
class Channel:
    id: str
    name: str
    member: bool = True
    archived: bool = False
    private: bool = False
    users: set[str] = field(default_factory=set)  # human members


@dataclass
class ResponseUrl:
    kind: str  # "actions" (a click on a message) or "commands" (a slash command)
    channel: str
    user: str
    message_ts: str | None
    issued: float
    uses: int = 0


Record = dict[str, Any]  # a stored message, as FakeSlack.messages documents it


@dataclass
class Workspace:
    tokens: frozenset[str]
    app_tokens: frozenset[str]
    scopes: frozenset[str]
    users: dict[str, str]
    channels: dict[str, Channel]  # by ID
    limiter: RateLimiter
    numeric_thread_ts: str = "orphan"
    clock: Callable[[], float] = time.monotonic
    faults: Faults = field(default_factory=Faults)
    messages: list[Record] = field(default_factory=list)
    by_ts: dict[tuple[str, str], Record] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # S… id -> member user ids
    responses: list[dict[str, Any]] = field(default_factory=list)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)  # by path
    webhooks: dict[str, str] = field(default_factory=lambda: {WEBHOOK_PATH: "security-alerts"})
    socket_mode_url: Callable[[], str] | None = None
    last_ts_us: int = 0

    def next_ts(self) -> str:
        # Strictly increasing across the whole workspace, formatted like Slack's.
        now_us = int(time.time() * 1_000_000)
        self.last_ts_us = max(now_us, self.last_ts_us + 1)
        return f"{self.last_ts_us // 1_000_000}.{self.last_ts_us % 1_000_000:06d}"

    def new_message(
        self,
        channel: str,
        content: Content,
        via: str,
        options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Record:
        """A message as stored, top level and without metadata unless ``fields`` say
        otherwise. The formatting options the sender passed are recorded so tests can
        assert they were never set for feed text."""
        options = options or {}
        record: Record = {
            "channel": channel,
            "ts": self.next_ts(),
            "at": self.clock(),
            "text": content.text,
            "blocks": content.blocks,
            "attachments": content.attachments,
            "thread_ts": None,
            "thread_ts_raw": None,
            "reply_broadcast": False,
            "metadata": None,
            "via": via,
            "orphan": False,
            **{key: options.get(key) for key in FORMATTING},
            "text_truncated": content.text_truncated,
            "edited": False,
            "ignored_thread_ts": None,
        }
        record.update(fields)
        return record

    def store(self, record: Record) -> None:
        self.messages.append(record)
        self.by_ts[(record["channel"], record["ts"])] = record

    def channel_by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def check_channel(self, channel: Channel | None, *, need_member: bool = True) -> str | None:
        # Private channels the bot is not in are invisible to it: channel_not_found.
        if channel is None or (channel.private and not channel.member):
            return "channel_not_found"
        if channel.archived:
            return "is_archived"
        if need_member and not channel.member:
            return "not_in_channel"
        return None

    def message_view(self, record: Record, *, include_metadata: bool) -> dict[str, Any]:
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
                for m in self.messages
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
