"""The fake itself: a workspace served over HTTP, set up and steered by tests.

:class:`FakeSlack` owns the server, the lock and the :class:`Workspace`; it
records each request, applies the outage and scripted failures, then hands the
request to its family: the Web API (``api.py``), a webhook (``webhooks.py``) or
a ``response_url`` (``response_urls.py``).  How tests set it up is in
``setup.py``, what they read back in ``records.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from . import api, response_urls, webhooks
from .faults import RATE_LIMIT_BURST, RateLimiter
from .http import Server, parse_api_body, parse_webhook_body
from .records import Records
from .replies import Reply, json_reply, text_reply
from .setup import Setup
from .workspace import (
    APP_TOKEN,
    DEFAULT_CHANNELS,
    DEFAULT_TOKEN,
    DEFAULT_USERS,
    WEBHOOK_PATH,
    Channel,
    Workspace,
)


class FakeSlack(Setup, Records):
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
        latency: seconds from a request's arrival to its answer (real seconds, not
            ``clock``); Slack acts halfway, so a client killed in the second half
            has posted a message it never heard about.  See :meth:`set_latency`.
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
        latency: float = 0.0,
    ) -> None:
        self._lock = threading.RLock()
        self._latency = latency
        self._in_flight = 0
        known_users = dict(DEFAULT_USERS if users is None else users)
        self._ws = Workspace(
            tokens=frozenset(tokens),
            app_tokens=frozenset(app_tokens),
            scopes=frozenset(api.ALL_SCOPES if scopes is None else scopes),
            users=known_users,
            channels={
                channel_id: Channel(id=channel_id, name=name, users=set(known_users))
                for name, channel_id in (DEFAULT_CHANNELS if channels is None else channels).items()
            },
            limiter=RateLimiter(rate_limit_per_channel, float(burst), clock),
            numeric_thread_ts=numeric_thread_ts,
            clock=clock,
        )
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def rate_limited(self) -> list[tuple[str, float]]:
        """(channel ID, when) of each 429 the rate limit answered (the live list)."""
        return self._ws.limiter.rate_limited

    @property
    def in_flight(self) -> int:
        """Requests that arrived and are not answered yet (a client that died meanwhile
        does not stop Slack from acting on its request)."""
        with self._lock:
            return self._in_flight

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Bind ``127.0.0.1:0`` and serve in a daemon thread."""
        if self._server is None:
            self._server = Server(self._handle)
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

    # ----------------------------------------------------------------- request dispatch

    def _handle(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            latency = self._latency
            self._in_flight += 1
        try:
            if latency:
                time.sleep(latency / 2)
            reply = self._answer(verb, raw_path, headers, body)
            if latency:
                time.sleep(latency / 2)
            return reply
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(self, verb: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
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
                self._ws.server_errors.append(f"{type(exc).__name__}: {exc}")
                reply = json_reply(500, {"ok": False, "error": f"fake_slack_bug: {exc}"})
            record.update(status=reply.status, ok=reply.ok, error=reply.error)
            if "Retry-After" in reply.headers:
                record["retry_after"] = int(reply.headers["Retry-After"])
            self._ws.requests.append(record)
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
    ) -> Reply:
        if kind in ("webhook", "response_url"):
            record["body"] = parse_webhook_body(body, content_type)
        elif kind == "api":
            record["body"] = parse_api_body(body, content_type)
        if self._ws.faults.down:
            return self._ws.faults.outage()
        failure = self._ws.faults.take(name, kind)
        if failure is not None:
            return failure
        if kind == "webhook":
            return webhooks.post(self._ws, urlsplit(record["path"]).path, record["body"])
        if kind == "api":
            return api.call(self._ws, name, query, headers, record)
        if kind == "response_url":
            return response_urls.post(
                self._ws, self.root_url, urlsplit(record["path"]).path, record["body"]
            )
        return text_reply(404, "not_found")
