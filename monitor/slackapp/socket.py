"""The Socket Mode connection: open it, acknowledge every envelope at once, hand the
work on, reconnect with back-off, close cleanly. One thread; the work runs elsewhere.

Why not slack_sdk's ``SocketModeClient``: with its builtin transport a reset
connection is replaced only at its next check (every ping interval, 5 s by
default) and a silent one after 5 failed pings or 4 intervals without a pong; after a
``disconnect`` it reads nothing from the new connection until the old one's 3 s
receive times out (so the first envelope is acked late and Slack sends it again),
and ``close()`` blocks up to 4 s. Its ``websocket_client`` transport fixes those
three but sets no pong timeout, so a connection that goes silent (a NAT or load
balancer forgetting it: no RST, no FIN) is never noticed, and it needs the
``websocket-client`` package; its ``aiohttp`` and ``websockets`` transports are
asyncio, with an aiohttp web client. Measured on the local fake (ping 5 s; reset →
reconnected, first ack after a refresh, ``close()``): builtin 4.6 s, 3.0 s (late:
Slack re-sends), 2.5 s; websocket_client 0.5 s, 0.0 s, 0.5 s; this one 1.0 s (the
minimum spacing below), 0.0 s, 0.01 s. This client is the ``websockets`` library's
threading client (already the project's test server), with slack_sdk's
``WebClient`` for ``apps.connections.open``:

* a reset connection ends ``recv()`` at once and the next one is opened at once; a
  silent one is caught by the library's keepalive (no pong within ``ping_timeout``);
* a ``disconnect`` closes the old connection (its close handshake capped at 1 s) and
  opens a new one with a new ticket; Slack holds envelopes for it meanwhile;
* each envelope is acknowledged by the reading thread before anything else happens
  (no payload: answers go through ``response_url``), so a slow database or a slow
  Slack never makes an ack late; the work is handed to ``on_envelope``, which must
  not block (the app puts it on a thread pool);
* ``close()`` sends a close frame and returns within about a second;
* failures to connect back off 1, 2, 4 … ``max_backoff`` seconds, with jitter; the
  first retry after a healthy connection ends is immediate (but never sooner than
  ``min_spacing`` after the last one: a connection that keeps dropping is no loop);
* it honours ``HTTPS_PROXY`` and ``NO_PROXY`` (the ``websockets`` library does).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from ..deliver.slack import short

log = structlog.get_logger("slack")

_HINTS = {
    "invalid_auth": "SLACK_APP_TOKEN is wrong or revoked: generate an app-level token "
    "(Basic Information → App-Level Tokens) with the connections:write scope",
    "not_allowed_token_type": "SLACK_APP_TOKEN must be the app-level token (xapp-…), "
    "not the bot token",
    "not_authed": "set SLACK_APP_TOKEN",
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One request from Slack over the socket, already acknowledged."""

    id: str
    type: str  # interactive | slash_commands | events_api
    payload: dict[str, Any]
    retry_attempt: int = 0


class SocketClient:
    def __init__(
        self,
        app_token: str,
        on_envelope: Callable[[Envelope], None],
        *,
        base_url: str | None = None,
        ping_interval: float = 10.0,
        ping_timeout: float = 10.0,
        open_timeout: float = 10.0,
        max_backoff: float = 60.0,
        min_spacing: float = 1.0,
    ) -> None:
        kwargs: dict[str, Any] = {"timeout": open_timeout}
        if base_url:
            kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
        retries = [ConnectionErrorRetryHandler(max_retry_count=1), ServerErrorRetryHandler(1)]
        self._web = WebClient(retry_handlers=retries, **kwargs)
        self._token = app_token
        self._on_envelope = on_envelope
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.open_timeout, self.max_backoff = open_timeout, max_backoff
        self.min_spacing = min_spacing
        self._stop = threading.Event()
        self._ready = threading.Event()  # set while a connection has said hello
        self._lock = threading.Lock()
        self._ws: ClientConnection | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SocketClient:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="slack-socket", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop: a close frame on the open connection, then the thread ends."""
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.close()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    # -- the connection loop --------------------------------------------------------------

    def _run(self) -> None:
        failures, last = 0, -self.min_spacing
        while not self._stop.is_set():
            delay = self.min_spacing - (time.monotonic() - last)
            if failures:
                delay = min(self.max_backoff, 2.0 ** (failures - 1)) * random.uniform(0.5, 1.0)
                log.info("slack.socket_retry", attempt=failures + 1, wait=round(delay, 1))
            if delay > 0 and self._stop.wait(delay):
                break
            last = time.monotonic()
            try:
                ws = self._open()
            except _ConnectError as exc:
                failures += 1
                log.warning("slack.socket_failed", error=str(exc), hint=exc.hint or None)
                continue
            failures = 0 if self._serve(ws) else failures + 1
        log.info("slack.socket_closed")

    def _open(self) -> ClientConnection:
        """A fresh ticket (single use) from apps.connections.open, then the WebSocket."""
        try:
            url = str(self._web.apps_connections_open(app_token=self._token)["url"])
        except SlackApiError as exc:
            data = exc.response.data
            code = short(data.get("error") if isinstance(data, dict) else data, 60)
            raise _ConnectError(f"apps.connections.open: {code}", _HINTS.get(code, "")) from exc
        except (SlackRequestError, OSError) as exc:
            raise _ConnectError(f"apps.connections.open: {short(exc)}") from exc
        try:
            return connect(
                url,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                close_timeout=1.0,
                compression=None,
                max_size=2**22,
            )
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise _ConnectError(f"cannot open the Socket Mode connection: {short(exc)}") from exc

    def _serve(self, ws: ClientConnection) -> bool:
        """Read until the connection ends; True when it said hello (it was healthy)."""
        with self._lock:
            self._ws = ws
        hello = False
        try:
            with ws:  # closes it (a close frame, at most close_timeout) however we leave
                if self._stop.is_set():  # close() ran while we were connecting
                    return False
                for raw in ws:
                    message = _json(raw)
                    kind = message.get("type")
                    envelope_id = message.get("envelope_id")
                    if kind == "hello":
                        hello = True
                        self._ready.set()
                        log.info("slack.socket_connected", peers=message.get("num_connections"))
                    elif kind == "disconnect":
                        log.info("slack.socket_refresh", reason=message.get("reason"))
                        break
                    elif isinstance(envelope_id, str):
                        # the ack first: within Slack's 3 s whatever the work costs
                        ws.send(json.dumps({"envelope_id": envelope_id}))
                        self._hand_on(message, envelope_id)
        except ConnectionClosed as exc:
            if not self._stop.is_set():
                log.warning("slack.socket_dropped", error=short(exc))
        finally:
            self._ready.clear()
            with self._lock:
                self._ws = None
        return hello

    def _hand_on(self, message: dict[str, Any], envelope_id: str) -> None:
        payload = message.get("payload")
        envelope = Envelope(
            envelope_id,
            str(message.get("type") or ""),
            payload if isinstance(payload, dict) else {},
            int(message.get("retry_attempt") or 0),
        )
        try:
            self._on_envelope(envelope)
        except Exception:  # a bug in the app must not end the connection
            log.exception("slack.envelope_bug", type=envelope.type)


class _ConnectError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def _json(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("slack.socket_garbage", message=short(raw, 80))
        return {}
    return message if isinstance(message, dict) else {}
