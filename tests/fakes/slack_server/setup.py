"""How a test sets up and steers :class:`FakeSlack`: channels, users, webhooks,
failures, an outage, latency, and the hooks interactivity needs."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Literal

from .workspace import TEAM_ID, Channel, ResponseUrl, Workspace


class Setup:
    """The setup half of :class:`FakeSlack` (a mixin over its workspace)."""

    _lock: threading.RLock
    _ws: Workspace
    _latency: float

    @property
    def root_url(self) -> str:
        raise NotImplementedError  # FakeSlack's: where the server listens

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
            for channel_id, channel in list(self._ws.channels.items()):
                if channel.name == name and channel_id != id:
                    del self._ws.channels[channel_id]
            self._ws.channels[id] = Channel(id, name, member, archived, private, set(users))

    def add_user(self, id: str, name: str, *, channels: Iterable[str] = ()) -> None:
        """Add a user who is a member of the given channel IDs (and of no other)."""
        with self._lock:
            self._ws.users[id] = name
            for channel in self._ws.channels.values():
                channel.users.discard(id)
            for channel_id in channels:
                self._ws.channels[channel_id].users.add(id)

    def add_usergroup(self, id: str, users: Iterable[str]) -> None:
        """Add (or replace) a user group ``S…`` with these members."""
        with self._lock:
            self._ws.usergroups[id] = list(users)

    def add_webhook(self, channel_name: str, path: str | None = None) -> str:
        """Register another incoming webhook posting to ``channel_name``; return its URL."""
        with self._lock:
            path = (
                path
                or f"/services/T000/B{len(self._ws.webhooks):03d}/WEBHOOK{len(self._ws.webhooks)}"
            )
            self._ws.webhooks[path] = channel_name
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
            self._ws.faults.add(n, status, retry_after, error, methods)

    def set_down(self, down: bool) -> None:
        """While down every request gets a 503 HTML page (an outage at Slack's edge)."""
        with self._lock:
            self._ws.faults.down = down

    def set_latency(self, seconds: float) -> None:
        """Every answer takes ``seconds``: half before Slack acts on the request, half
        after (the network both ways), outside the lock so requests overlap."""
        with self._lock:
            self._latency = max(0.0, seconds)

    def clear(self) -> None:
        """Forget recorded messages, updates and requests (channels and config stay)."""
        with self._lock:
            self._ws.messages.clear()
            self._ws.by_ts.clear()
            self._ws.updates.clear()
            self._ws.requests.clear()
            self._ws.server_errors.clear()
            self._ws.ephemerals.clear()
            self._ws.responses.clear()

    # ----------------------------------------------------------------- interactivity hooks

    def attach_socket_mode(self, issue_url: Callable[[], str] | None) -> None:
        """Let ``apps.connections.open`` hand out URLs from ``issue_url()``."""
        with self._lock:
            self._ws.socket_mode_url = issue_url

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
            path = f"/{kind}/{TEAM_ID}/{len(self._ws.response_urls) + 1}/{uuid.uuid4().hex}"
            self._ws.response_urls[path] = ResponseUrl(
                kind, channel, user, message_ts, self._ws.clock()
            )
        return self.root_url + path
