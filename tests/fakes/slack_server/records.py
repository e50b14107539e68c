"""What a test reads from :class:`FakeSlack`: messages, edits, requests, 429s.

Every accessor takes the workspace's lock and returns a deep copy, so a test
thread can read while the daemon posts.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from .workspace import Workspace


class Records:
    """The observation half of :class:`FakeSlack` (a mixin over its workspace)."""

    _lock: threading.RLock
    _ws: Workspace

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
            return copy.deepcopy(self._ws.messages)

    @property
    def message_count(self) -> int:
        """``len(messages)`` without copying them: cheap to poll while a client posts."""
        with self._lock:
            return len(self._ws.messages)

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Accepted ``chat.update`` calls: ``{"channel", "ts", "text", "blocks"}``."""
        with self._lock:
            return copy.deepcopy(self._ws.updates)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request: ``{"method", "status", "ok", "error", "body", "path", "token", …}``."""
        with self._lock:
            return copy.deepcopy(self._ws.requests)

    @property
    def server_errors(self) -> list[str]:
        """Exceptions raised inside the fake itself (should stay empty)."""
        with self._lock:
            return list(self._ws.server_errors)

    def wait_for(
        self, predicate: Callable[[Self], bool], timeout: float = 10.0, interval: float = 0.01
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
            return copy.deepcopy(self._ws.ephemerals)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Accepted ``response_url`` posts: ``{"url", "kind", "channel", "user",
        "message_ts", "response_type", "replace_original", "delete_original",
        "text", "blocks"}``.  ``response_type`` is what the app sent (Slack's
        default when absent is ephemeral); an ``in_channel`` post that is not a
        replacement also lands in :attr:`messages` (``via="response_url"``)."""
        with self._lock:
            return copy.deepcopy(self._ws.responses)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored message as the Web API shows it (``None`` if absent or deleted)."""
        with self._lock:
            record = self._ws.by_ts.get((channel, ts))
            if record is None or record["orphan"]:
                return None
            return self._ws.message_view(record, include_metadata=True)

    def channel_info(self, channel: str) -> dict[str, Any] | None:
        """``{"id", "name", "users"}`` of a channel ID, ``None`` if unknown."""
        with self._lock:
            found = self._ws.channels.get(channel)
            if found is None:
                return None
            return {"id": found.id, "name": found.name, "users": sorted(found.users)}

    def user_name(self, user: str) -> str | None:
        with self._lock:
            return self._ws.users.get(user)

    # ----------------------------------------------------------------- interactivity hooks

    def orphans(self) -> list[dict[str, Any]]:
        """Replies Slack accepted but nobody can see (bad ``thread_ts``)."""
        return [m for m in self.messages if m["orphan"]]
