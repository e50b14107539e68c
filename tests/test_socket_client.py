"""The Socket Mode client (monitor/slackapp/socket.py) against the strict local
Socket Mode server: every envelope acked at once, a drop or a refresh survived at
once, a bad token backed off, a quick and clean close. Each step waits on an
event of the fake or of the app, never for a fixed time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from monitor.slackapp.socket import Envelope, SocketClient
from tests.fakes.slack_server import APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

SEC = "C0SECALERT"
ANALYST = "U0ANALYST"
BUTTONS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*an alert*"}},
    {
        "type": "actions",
        "block_id": "monitor_actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "action_id": "monitor_ack",
                "value": "1",
            }
        ],
    },
]


class Inbox:
    """What the client handed on, with a condition to wait on."""

    def __init__(self, block: threading.Event | None = None) -> None:
        self.envelopes: list[Envelope] = []
        self.cond = threading.Condition()
        self.block = block

    def __call__(self, envelope: Envelope) -> None:
        with self.cond:
            self.envelopes.append(envelope)
            self.cond.notify_all()
        if self.block is not None:  # a handler that is slow: the ack must not wait for it
            self.block.wait(10)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Envelope]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.envelopes) >= n, timeout), self.envelopes
            return list(self.envelopes)


@pytest.fixture
def sm(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(slack) as fake:
        yield fake
        assert not [v for v in fake.violations if v["kind"] == "fake_bug"]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def client(slack: FakeSlack, sm: FakeSocketMode, inbox: Inbox) -> Iterator[SocketClient]:
    c = SocketClient(APP_TOKEN, inbox, base_url=slack.base_url).start()
    assert sm.wait_for_connection(1) and c.wait_connected(5)
    yield c
    c.close()


def opens(slack: FakeSlack) -> list[dict[str, object]]:
    return [r for r in slack.requests if r["method"] == "apps.connections.open"]


def test_every_envelope_is_acked_at_once_without_a_payload(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketClient, inbox: Inbox
) -> None:
    bot = WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url)
    ts = bot.chat_postMessage(channel=SEC, text="an alert", blocks=BUTTONS)["ts"]
    click = sm.click(SEC, ts, "monitor_ack", user_id=ANALYST)
    command = sm.push_slash_command("/monitor", "status", ANALYST, SEC)
    first, second = inbox.wait_for(2)
    assert (first.id, first.type, first.payload["type"]) == (click, "interactive", "block_actions")
    assert (second.id, second.type, second.payload["text"]) == (command, "slash_commands", "status")
    for envelope_id in (click, command):
        ack = sm.wait_for_ack(envelope_id)
        assert ack is not None and ack["payload"] is None and ack["delay"] < 1.0
    assert sm.violations == [] and len(opens(slack)) == 1


def test_a_slow_handler_never_delays_the_ack(slack: FakeSlack, sm: FakeSocketMode) -> None:
    release = threading.Event()
    inbox = Inbox(block=release)
    client = SocketClient(APP_TOKEN, inbox, base_url=slack.base_url).start()
    try:
        assert sm.wait_for_connection(1)
        envelope_id = sm.push_slash_command("/monitor", "status", ANALYST, SEC)
        inbox.wait_for(1)
        ack = sm.wait_for_ack(envelope_id)
        assert ack is not None and ack["delay"] < 1.0  # while the handler still holds it
    finally:
        release.set()
        client.close()
    assert sm.violations == []


def test_a_reset_connection_is_reopened_at_once(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketClient, inbox: Inbox
) -> None:
    started = time.monotonic()
    assert sm.drop_connection() == 1
    envelope_id = sm.push_slash_command("/monitor", "mutes", ANALYST, SEC)  # Slack holds it
    assert sm.wait_for_connection(2, timeout=5)
    assert time.monotonic() - started < 2.0  # builtin SocketModeClient: ~5 ping intervals
    (envelope,) = inbox.wait_for(1)
    assert envelope.id == envelope_id and sm.wait_for_ack(envelope_id) is not None
    assert len(opens(slack)) == 2 and sm.rejected_handshakes == []
    assert sm.violations == []


def test_a_refresh_request_loses_no_ack(
    sm: FakeSocketMode, client: SocketClient, inbox: Inbox
) -> None:
    """slack_sdk's builtin client acks the first envelope after a refresh ~3 s late."""
    sm.send_disconnect()
    assert sm.wait_for_connection(2, timeout=5)
    envelope_id = sm.push_slash_command("/monitor", "status", ANALYST, SEC)  # at once
    ack = sm.wait_for_ack(envelope_id)
    assert ack is not None and ack["delay"] < 1.0 and ack["connection"] == 2
    assert sm.wait_for(lambda f: f.open_connections == 1, timeout=5)  # the old one closed
    assert sm.violations == []


def test_close_is_quick_and_clean(sm: FakeSocketMode, client: SocketClient) -> None:
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.5  # builtin SocketModeClient: up to ~4 s
    assert not client.connected
    assert sm.wait_for(lambda f: f.open_connections == 0, timeout=2)
    assert sm.connections == 1  # and it did not reconnect


def test_a_wrong_app_token_backs_off_and_never_connects(
    slack: FakeSlack, sm: FakeSocketMode, inbox: Inbox
) -> None:
    client = SocketClient("xapp-1-wrong", inbox, base_url=slack.base_url).start()
    try:
        assert slack.wait_for(lambda s: len(opens(s)) >= 2, timeout=5)
        assert not client.wait_connected(1.0)
    finally:
        started = time.monotonic()
        client.close()
        assert time.monotonic() - started < 1.0
    # 1st at once, 2nd after 0.5-1 s, 3rd 1-2 s later: never a tight loop
    assert 2 <= len(opens(slack)) <= 3
    assert all(r["error"] == "invalid_auth" for r in opens(slack))
    assert sm.connections == 0


def test_slack_down_then_up_connects(slack: FakeSlack, sm: FakeSocketMode, inbox: Inbox) -> None:
    slack.set_down(True)
    client = SocketClient(APP_TOKEN, inbox, base_url=slack.base_url).start()
    try:
        assert slack.wait_for(lambda s: len(opens(s)) >= 1, timeout=5)
        slack.set_down(False)
        assert sm.wait_for_connection(1, timeout=10) and client.wait_connected(5)
    finally:
        client.close()
    assert sm.violations == []


class Relay:
    """A TCP relay between the client and the fake that can go silent: it stops
    passing bytes on the open connections without closing them, the way a NAT or
    a load balancer that forgot the connection does (no RST, no FIN)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.silent: list[threading.Event] = []
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            silent = threading.Event()
            self.silent.append(silent)
            self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b, silent), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, silent: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                if not silent.is_set():
                    dst.sendall(data)
        except OSError:
            pass

    def go_silent(self) -> None:
        for event in self.silent:
            event.set()

    def close(self) -> None:
        self.server.close()
        for s in self.socks:
            s.close()


def test_a_silent_connection_is_noticed_by_its_pings(slack: FakeSlack, sm: FakeSocketMode) -> None:
    """No RST, no FIN, nothing: only a ping without a pong tells (websocket_client's
    transport in slack_sdk sets no pong timeout and would wait forever)."""
    relay = Relay(sm.port)
    issue = sm._issue_url  # the fake's URLs, pointed at the relay
    slack.attach_socket_mode(lambda: issue().replace(f":{sm.port}/", f":{relay.port}/"))
    inbox = Inbox()
    client = SocketClient(
        APP_TOKEN, inbox, base_url=slack.base_url, ping_interval=0.5, ping_timeout=0.5
    ).start()
    try:
        assert sm.wait_for_connection(1) and client.wait_connected(5)
        started = time.monotonic()
        relay.go_silent()
        assert sm.wait_for_connection(2, timeout=10)  # a new connection, through the relay
        assert time.monotonic() - started < 5
        envelope_id = sm.push_slash_command("/monitor", "status", ANALYST, SEC)
        assert inbox.wait_for(1)[0].id == envelope_id
    finally:
        client.close()
        relay.close()
    assert sm.violations == []
