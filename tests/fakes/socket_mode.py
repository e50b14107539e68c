"""A strict, local fake of Slack's Socket Mode, next to :class:`FakeSlack`.

:class:`FakeSocketMode` runs a WebSocket server (the ``websockets`` library's
sync server) on ``127.0.0.1`` (ephemeral port) in a thread and attaches itself
to a running :class:`~tests.fakes.slack_server.FakeSlack`, whose
``apps.connections.open`` then hands out ``ws://127.0.0.1:PORT/link/?ticket=…&app_id=…``
URLs.  It behaves like Slack where the app can tell:

* a ticket opens one connection; a reused or unknown one is refused (HTTP 401,
  recorded in :attr:`~FakeSocketMode.rejected_handshakes`);
* every connection starts with ``hello``; envelopes go to the newest live one,
  or wait for the next connection when there is none;
* every envelope must be acknowledged (``{"envelope_id": …}``, optionally with
  ``"payload"``) within ``ack_timeout`` (3 s).  A missing ack is a violation
  and the envelope is re-sent as a new envelope with ``retry_attempt`` + 1 and
  ``retry_reason: "timeout"``; unknown, duplicate and malformed acks, and a
  payload where Slack takes none, are violations too (the rules live in
  :mod:`tests.fakes.socket_acks`).

Typical use, with the real client (``ts``: an alert the app posted)::

    with FakeSlack() as slack, FakeSocketMode(slack) as sm:
        client = SocketModeClient(APP_TOKEN, web_client=WebClient(base_url=slack.base_url))
        client.socket_mode_request_listeners.append(handler)
        client.connect()
        assert sm.wait_for_connection(1)
        envelope_id = sm.click("C0SECALERT", ts, "ack", user_id="U0ANALYST")
        assert sm.wait_for_ack(envelope_id) is not None
        sm.drop_connection()              # or sm.send_disconnect()
        assert sm.wait_for_connection(2)  # the client reconnected with a new ticket
        assert sm.violations == []

Every state change notifies one condition, so the ``wait_for*`` helpers wake
on events instead of polling.  Accessors return copies.
"""

from __future__ import annotations

import copy
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes import slack_payloads as payloads
from tests.fakes.slack_server import APP_ID, FakeSlack
from tests.fakes.socket_acks import AckLedger

__all__ = ["ACK_TIMEOUT", "FakeSocketMode"]

#: Slack wants every envelope acknowledged within 3 seconds.
ACK_TIMEOUT = 3.0


@dataclass
class _Conn:
    id: int
    ws: ServerConnection
    live: bool = True  # gets envelopes (not after a disconnect request)
    open: bool = True


class FakeSocketMode:
    """Socket Mode endpoint for ``slack_sdk.socket_mode`` clients; see the module doc.

    Args:
        slack: the started :class:`FakeSlack` whose ``apps.connections.open``
            hands out this server's URLs (and whose messages ``click`` uses).
        ack_timeout: seconds an envelope may wait for its ack.
        max_retries: re-sends after a missed ack before Slack gives up.
    """

    def __init__(
        self, slack: FakeSlack, *, ack_timeout: float = ACK_TIMEOUT, max_retries: int = 3
    ) -> None:
        self.slack = slack
        self._ledger = AckLedger(ack_timeout, max_retries)
        self._cond = threading.Condition(threading.RLock())
        self._tickets: set[str] = set()
        self._conns: list[_Conn] = []  # in the order their hello went out
        self._ids = itertools.count(1)
        self._outbox: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._running = False
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSocketMode:
        if self._server is None:
            self._server = serve(
                self._serve,
                "127.0.0.1",
                0,
                process_request=self._check_ticket,
                compression=None,
            )
            self._running = True
            for target, name in ((self._server.serve_forever, "ws"), (self._watch, "acks")):
                thread = threading.Thread(target=target, name=f"FakeSocketMode-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)
            self.slack.attach_socket_mode(self._issue_url)
        return self

    def stop(self) -> None:
        self.slack.attach_socket_mode(None)
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> FakeSocketMode:
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
            raise RuntimeError("FakeSocketMode is not started")
        return int(self._server.socket.getsockname()[1])

    # ----------------------------------------------------------------- handshake

    def _issue_url(self) -> str:
        ticket = str(uuid.uuid4())
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"

    def _check_ticket(self, ws: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        ticket = query.get("ticket", "")
        with self._cond:
            if parts.path == "/link/" and query.get("app_id") == APP_ID and ticket in self._tickets:
                self._tickets.discard(ticket)  # single use
                return None
            self._rejected.append({"path": request.path})
            self._cond.notify_all()
        return ws.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")

    def _serve(self, ws: ServerConnection) -> None:
        with self._cond:
            conn = _Conn(next(self._ids), ws)
            opened = sum(c.open for c in self._conns) + 1
        hello = payloads.hello(app_id=APP_ID, num_connections=opened, host=_host(conn))
        try:
            # hello goes out before the connection can get envelopes, as on Slack.
            ws.send(json.dumps(hello))
            with self._cond:
                self._conns.append(conn)
                waiting, self._outbox = self._outbox, []
                self._cond.notify_all()
            for envelope in waiting:
                self._deliver(envelope)
            for raw in ws:
                with self._cond:
                    self._ledger.receive(conn.id, raw, time.monotonic())
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug in the fake must fail the test, not vanish
            with self._cond:
                self._ledger.violate("fake_bug", None, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            with self._cond:
                conn.open = conn.live = False
                self._cond.notify_all()

    # ----------------------------------------------------------------- sending envelopes

    def push_interactive(
        self, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an ``interactive`` envelope; return its ``envelope_id``."""
        envelope = payloads.envelope(
            "interactive", payload, accepts_response_payload=accepts_response_payload
        )
        return self._deliver(envelope)

    def push_slash_command(
        self, command: str, text: str, user_id: str, channel_id: str, *, trigger_id: str = ""
    ) -> str:
        """A user typed ``command text`` in a channel: a ``slash_commands`` envelope
        (which, unlike ``block_actions``, accepts a message in its ack)."""
        payload = payloads.command_payload(
            self.slack, command, text, user_id, channel_id, trigger_id=trigger_id
        )
        return self._deliver(
            payloads.envelope("slash_commands", payload, accepts_response_payload=True)
        )

    def click(self, channel_id: str, message_ts: str, action_id: str, *, user_id: str) -> str:
        """``user_id`` clicks the element ``action_id`` on a message the app posted.

        Only what Slack allows: the message must exist in :class:`FakeSlack`, carry
        that element, and the user must be a member of the channel (else ValueError).
        """
        payload = payloads.click_payload(self.slack, channel_id, message_ts, action_id, user_id)
        return self.push_interactive(payload)

    def _deliver(self, envelope: dict[str, Any], first_id: str | None = None) -> str:
        envelope_id: str = envelope["envelope_id"]
        with self._cond:
            conn = next((c for c in reversed(self._conns) if c.live), None)
            if conn is None:
                self._outbox.append(envelope)  # Slack holds it until the app reconnects
                return envelope_id
            self._ledger.sent(envelope, conn.id, time.monotonic(), first_id or envelope_id)
            self._cond.notify_all()
        try:
            conn.ws.send(json.dumps(envelope))
        except ConnectionClosed:
            with self._cond:  # never reached the app: try the next connection
                self._ledger.unsend(envelope_id)
                conn.live = False
            self._deliver(envelope, first_id)
        return envelope_id

    def _watch(self) -> None:
        """Records missed acks and re-sends those envelopes, like Slack."""
        while True:
            with self._cond:
                if not self._running:
                    return
                now = time.monotonic()
                retries, next_deadline = self._ledger.expire(now)
                if not retries:
                    self._cond.wait(None if next_deadline is None else next_deadline - now)
                    continue
                self._cond.notify_all()
            for retry, first_id in retries:
                self._deliver(retry, first_id)

    # ----------------------------------------------------------------- connection control

    def drop_connection(self) -> int:
        """Reset every open connection (TCP RST, no close frame); return how many."""
        with self._cond:
            victims = [c for c in self._conns if c.open]
            for conn in victims:
                conn.live = False
        for conn in victims:
            try:
                # Linger 0: closing sends RST, the way a dying load balancer does.
                # (Closed, not shut down: websockets would answer that with a FIN.)
                linger = struct.pack("ii", 1, 0)
                conn.ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            except OSError:
                pass  # already gone
            conn.ws.close_socket()  # also wakes the connection's reader thread
        return len(victims)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect (Slack's ``disconnect`` envelope) on the newest
        connection; it gets no more envelopes and stays open until the app closes it."""
        with self._cond:
            conn = next((c for c in reversed(self._conns) if c.live), None)
            if conn is None:
                raise RuntimeError("no live Socket Mode connection")
            conn.live = False
        conn.ws.send(json.dumps(payloads.disconnect(reason, host=_host(conn))))

    # ----------------------------------------------------------------- observation

    @property
    def connections(self) -> int:
        """Connections accepted so far (each got a ``hello``)."""
        with self._cond:
            return len(self._conns)

    @property
    def open_connections(self) -> int:
        with self._cond:
            return sum(c.open for c in self._conns)

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        """Envelopes sent, in order, each with ``"first_envelope_id"`` (the delivery
        a retry repeats) and ``"connection"`` (1-based) added."""
        with self._cond:
            return self._ledger.envelopes()

    @property
    def acks(self) -> list[dict[str, Any]]:
        """``{"envelope_id", "first_envelope_id", "type", "retry_attempt", "delay",
        "late", "payload", "connection"}`` for each accepted ack, in order."""
        with self._cond:
            return copy.deepcopy(self._ledger.acks)

    @property
    def violations(self) -> list[dict[str, Any]]:
        """``{"kind", "envelope_id", "detail"}`` for each broken rule (see
        :mod:`tests.fakes.socket_acks`; ``fake_bug`` is the fake's own)."""
        with self._cond:
            return copy.deepcopy(self._ledger.violations)

    @property
    def rejected_handshakes(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._rejected)

    def wait_for(self, predicate: Callable[[FakeSocketMode], bool], timeout: float = 5.0) -> bool:
        """Wait (on state changes, not by polling) until ``predicate(self)`` holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The ack of ``envelope_id`` once it arrives, ``None`` after ``timeout`` s."""
        found: list[dict[str, Any]] = []

        def acked(fake: FakeSocketMode) -> bool:
            found[:] = [a for a in fake._ledger.acks if a["envelope_id"] == envelope_id]
            return bool(found)

        return copy.deepcopy(found[0]) if self.wait_for(acked, timeout) else None

    def wait_for_connection(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until ``n`` connections have been accepted and the newest is open."""
        return self.wait_for(
            lambda f: len(f._conns) >= n and f._conns[-1].open and f._conns[-1].live, timeout
        )


def _host(conn: _Conn) -> str:
    return f"applink-fake-{conn.id}"
