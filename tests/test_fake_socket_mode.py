"""Tests for the fake Socket Mode server (tests/fakes/socket_mode.py) and the
interactivity parts of the fake Web API (apps.connections.open, chat.postEphemeral,
response_url).

The app side is the real ``slack_sdk.socket_mode.SocketModeClient`` (builtin
implementation) with a ``WebClient`` pointed at the fake, so these tests also show
how that client behaves: how it acks, how it reconnects.  Nothing sleeps for a
fixed time: each step waits on the fake's or the app's condition.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.fakes.slack_server import APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

SEC = "C0SECALERT"
ANALYST = "U0ANALYST"


def button(text: str, action_id: str, value: str, **extra: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        **extra,
    }


# What an alert with its action buttons looks like (the daemon will build its own).
ALERT_BLOCKS = [
    {
        "type": "section",
        "block_id": "story",
        "text": {"type": "mrkdwn", "text": "*NIO receives blackmail email demanding $2.25m*"},
    },
    {
        "type": "actions",
        "block_id": "alert_actions",
        "elements": [
            button("Acknowledge", "alert_ack", "story-42", style="primary"),
            button("Mute story 24h", "alert_mute_story", "story-42"),
            button("Mute feed 24h", "alert_mute_feed", "feed-7"),
            button("Not relevant", "alert_not_relevant", "story-42", style="danger"),
            button("Unmute", "alert_unmute", "story-42"),
        ],
    },
]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk (WebClient and SocketModeClient) reads HTTP(S)_PROXY and ignores
    # NO_PROXY, which would send 127.0.0.1 traffic to the proxy.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def sm(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(slack) as fake:
        yield fake
        assert not [v for v in fake.violations if v["kind"] == "fake_bug"]


class App:
    """The app side: records every request; acks at once unless told otherwise."""

    def __init__(self) -> None:
        self.requests: list[SocketModeRequest] = []
        self.raw: list[dict[str, Any]] = []
        self.errors: list[Exception] = []
        self.cond = threading.Condition()
        self.respond: Callable[[SocketModeClient, SocketModeRequest], None] = self.ack

    @staticmethod
    def ack(client: SocketModeClient, req: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    def on_request(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        with self.cond:
            self.requests.append(req)
            self.cond.notify_all()
        self.respond(client, req)

    def on_message(self, raw: str) -> None:
        with self.cond:
            self.raw.append(json.loads(raw))
            self.cond.notify_all()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[SocketModeRequest]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.requests) >= n, timeout), self.requests
            return list(self.requests)


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def client(slack: FakeSlack, sm: FakeSocketMode, app: App) -> Iterator[SocketModeClient]:
    # ping_interval is also how often the client checks its connection and
    # reconnects after a drop; 0.5 s keeps these tests quick.
    socket_client = SocketModeClient(
        app_token=APP_TOKEN,
        web_client=WebClient(base_url=slack.base_url),
        ping_interval=0.5,
        on_message_listeners=[app.on_message],
        on_error_listeners=[app.errors.append],
    )
    socket_client.socket_mode_request_listeners.append(app.on_request)
    socket_client.connect()
    assert sm.wait_for_connection(1)
    yield socket_client
    # close() joins threads that wait in recv() (3 s timeout) and in
    # queue.get() (1 s): drop the socket and wake the queue so teardown is quick.
    sm.drop_connection()
    socket_client.closed = True
    socket_client.message_queue.put(None)
    socket_client.close()


@pytest.fixture
def bot(slack: FakeSlack) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url)


def post_alert(bot: WebClient) -> str:
    ts: str = bot.chat_postMessage(channel=SEC, text="NIO blackmail", blocks=ALERT_BLOCKS)["ts"]
    return ts


# --------------------------------------------------------------------------- connecting


def test_client_connects_with_a_ticket_and_gets_hello(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketModeClient, app: App
) -> None:
    opens = [r for r in slack.requests if r["method"] == "apps.connections.open"]
    assert [(r["ok"], r["token"]) for r in opens] == [(True, APP_TOKEN)]
    with app.cond:
        assert app.cond.wait_for(lambda: app.raw, 5)
        hello = app.raw[0]
    assert hello["type"] == "hello"
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0MONITOR"}
    assert set(hello["debug_info"]) == {"host", "build_number", "approximate_connection_time"}
    assert client.is_connected()
    assert (sm.connections, sm.open_connections, sm.rejected_handshakes) == (1, 1, [])


def test_apps_connections_open_wants_an_app_token(slack: FakeSlack, sm: FakeSocketMode) -> None:
    web = WebClient(base_url=slack.base_url)
    for token, error in [
        (DEFAULT_TOKEN, "not_allowed_token_type"),  # a bot token
        ("xapp-1-A0OTHER-1-nope", "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as info:
            web.apps_connections_open(app_token=token)
        assert info.value.response["error"] == error
    with pytest.raises(SlackApiError) as info:
        web.api_call("apps.connections.open")  # no token at all
    assert info.value.response["error"] == "not_authed"
    # ... and the app token opens nothing else.
    with pytest.raises(SlackApiError) as info:
        WebClient(token=APP_TOKEN, base_url=slack.base_url).chat_postMessage(channel=SEC, text="x")
    assert info.value.response["error"] == "not_allowed_token_type"


def test_a_ticket_opens_one_connection(slack: FakeSlack, sm: FakeSocketMode) -> None:
    url = WebClient(base_url=slack.base_url).apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith(f"ws://127.0.0.1:{sm.port}/link/?ticket=")
    assert url.endswith("&app_id=A0MONITOR")
    with ws_connect(url) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    with pytest.raises(InvalidStatus) as info:
        ws_connect(url)
    assert info.value.response.status_code == 401
    assert len(sm.rejected_handshakes) == 1


# --------------------------------------------------------------------------- envelopes and acks


def test_click_on_an_alert_arrives_as_block_actions(
    sm: FakeSocketMode, client: SocketModeClient, app: App, bot: WebClient
) -> None:
    ts = post_alert(bot)
    envelope_id = sm.click(SEC, ts, "alert_mute_feed", user_id=ANALYST)

    (req,) = app.wait_for(1)
    assert (req.type, req.envelope_id, req.accepts_response_payload) == (
        "interactive",
        envelope_id,
        False,
    )
    assert (req.retry_attempt, req.retry_reason) == (0, "")
    payload = req.payload
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == ANALYST
    assert payload["channel"] == {"id": SEC, "name": "security-alerts"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": SEC,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == ts
    assert payload["message"]["blocks"] == ALERT_BLOCKS
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "alert_mute_feed",
        "alert_actions",
        "feed-7",
        "button",
    )
    assert payload["response_url"].startswith("http://127.0.0.1:")
    assert payload["trigger_id"].count(".") == 2

    ack = sm.wait_for_ack(envelope_id)
    assert ack is not None
    assert ack["payload"] is None and not ack["late"] and ack["delay"] < 3
    assert sm.violations == []


def test_click_is_only_possible_on_what_a_user_can_see(
    slack: FakeSlack, sm: FakeSocketMode, bot: WebClient
) -> None:
    ts = post_alert(bot)
    with pytest.raises(ValueError, match="no element"):
        sm.click(SEC, ts, "no_such_button", user_id=ANALYST)
    with pytest.raises(ValueError, match="no message"):
        sm.click(SEC, "1700000000.000001", "alert_ack", user_id=ANALYST)
    slack.add_user("U0OUTSIDER", "outsider", channels=["C0OPS"])
    with pytest.raises(ValueError, match="cannot see"):
        sm.click(SEC, ts, "alert_ack", user_id="U0OUTSIDER")


def test_slash_command_is_acked_with_a_message(
    sm: FakeSocketMode, client: SocketModeClient, app: App
) -> None:
    def answer(client: SocketModeClient, req: SocketModeRequest) -> None:
        reply = {"response_type": "ephemeral", "text": f"monitor: {req.payload['text']} ok"}
        client.send_socket_mode_response(SocketModeResponse(req.envelope_id, payload=reply))

    app.respond = answer
    envelope_id = sm.push_slash_command("/monitor", "status", ANALYST, SEC)

    (req,) = app.wait_for(1)
    assert (req.type, req.accepts_response_payload) == ("slash_commands", True)
    fields = req.payload
    assert (fields["command"], fields["text"], fields["user_id"], fields["channel_id"]) == (
        "/monitor",
        "status",
        ANALYST,
        SEC,
    )
    assert fields["channel_name"] == "security-alerts" and fields["user_name"] == "analyst"
    assert all(isinstance(value, str) for value in fields.values())
    assert "/commands/" in fields["response_url"]

    ack = sm.wait_for_ack(envelope_id)
    assert ack is not None
    assert ack["payload"] == {"response_type": "ephemeral", "text": "monitor: status ok"}
    assert sm.violations == []


def test_wrong_acks_are_violations(
    sm: FakeSocketMode, client: SocketModeClient, app: App, bot: WebClient
) -> None:
    def with_payload(client: SocketModeClient, req: SocketModeRequest) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]  # empty text
        client.send_socket_mode_response(
            SocketModeResponse(req.envelope_id, payload={"text": "done", "blocks": blocks})
        )

    app.respond = with_payload
    click = sm.click(SEC, post_alert(bot), "alert_ack", user_id=ANALYST)
    command = sm.push_slash_command("/monitor", "mutes", ANALYST, SEC)
    assert sm.wait_for_ack(click) and sm.wait_for_ack(command)
    client.send_socket_mode_response({"envelope_id": click})  # twice
    client.send_socket_mode_response({"envelope_id": "not-an-envelope"})
    client.send_message("hello?")

    assert sm.wait_for(lambda f: len(f.violations) == 5)
    assert [(v["kind"], v["envelope_id"]) for v in sm.violations] == [
        ("payload_not_accepted", click),  # block_actions: answer via response_url
        ("invalid_ack_payload", command),
        ("duplicate_ack", click),
        ("unknown_envelope", "not-an-envelope"),
        ("bad_message", None),
    ]
    assert "json-pointer:/blocks/0/text/text" in sm.violations[1]["detail"]


def test_late_ack_is_a_violation_and_slack_sends_the_envelope_again(
    sm: FakeSocketMode, client: SocketModeClient, app: App
) -> None:
    release = threading.Event()

    def slow_first_time(client: SocketModeClient, req: SocketModeRequest) -> None:
        if req.retry_attempt == 0:
            assert release.wait(10)  # held until Slack has given up on it
        App.ack(client, req)

    app.respond = slow_first_time
    first = sm.push_slash_command("/monitor", "test hello", ANALYST, SEC)

    first_req, retry_req = app.wait_for(2, timeout=10)
    assert (retry_req.retry_attempt, retry_req.retry_reason) == (1, "timeout")
    assert retry_req.envelope_id != first and retry_req.payload == first_req.payload
    assert [(v["kind"], v["envelope_id"]) for v in sm.violations] == [("ack_timeout", first)]
    retry_ack = sm.wait_for_ack(retry_req.envelope_id)
    assert retry_ack is not None and retry_ack["first_envelope_id"] == first

    release.set()
    late = sm.wait_for_ack(first)
    assert late is not None and late["late"] and late["delay"] > 3
    assert [e["retry_attempt"] for e in sm.envelopes] == [0, 1]
    assert len(sm.violations) == 1  # the late ack itself adds no second violation


# --------------------------------------------------------------------------- reconnecting


def test_dropped_connection_reconnects_with_a_new_ticket(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketModeClient, app: App, bot: WebClient
) -> None:
    ts = post_alert(bot)
    assert sm.drop_connection() == 1
    # Pushed while the app is away: Slack holds it for the next connection.
    envelope_id = sm.click(SEC, ts, "alert_ack", user_id=ANALYST)

    # The builtin client only notices after 5 failed pings (5 x ping_interval).
    assert sm.wait_for_connection(2, timeout=10)
    (req,) = app.wait_for(1)
    assert req.envelope_id == envelope_id
    assert sm.wait_for_ack(envelope_id) is not None
    assert [e["connection"] for e in sm.envelopes] == [2]
    opens = [r for r in slack.requests if r["method"] == "apps.connections.open"]
    assert len(opens) == 2 and sm.rejected_handshakes == []

    later = sm.push_slash_command("/monitor", "mutes", ANALYST, SEC)
    assert sm.wait_for_ack(later) is not None
    assert sm.violations == []


def test_disconnect_request_leads_to_a_reconnect(
    sm: FakeSocketMode, client: SocketModeClient, app: App
) -> None:
    sm.send_disconnect()
    assert sm.wait_for_connection(2, timeout=10)
    # The client closes the old connection itself once the new one is up.  It
    # reads nothing from the new one until then, which takes up to its 3 s recv
    # timeout: an envelope sent in that window is acked late (a Slack retry).
    assert sm.wait_for(lambda f: f.open_connections == 1, timeout=10)
    with app.cond:
        assert app.cond.wait_for(lambda: len([m for m in app.raw if m["type"] == "hello"]) == 2, 5)
        assert [m["type"] for m in app.raw] == ["hello", "disconnect", "hello"]
        assert app.raw[1]["reason"] == "refresh_requested"

    envelope_id = sm.push_slash_command("/monitor", "status", ANALYST, SEC)
    assert sm.wait_for_ack(envelope_id) is not None
    assert [e["connection"] for e in sm.envelopes] == [2]
    assert sm.violations == []


# --------------------------------------------------------------------------- answering the user


def test_response_url_records_and_applies_answers(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketModeClient, app: App, bot: WebClient
) -> None:
    ts = post_alert(bot)
    sm.click(SEC, ts, "alert_ack", user_id=ANALYST)
    (req,) = app.wait_for(1)
    hook = WebhookClient(req.payload["response_url"])

    done = [{"type": "section", "text": {"type": "mrkdwn", "text": "Acknowledged by <@U0ANALYST>"}}]
    assert hook.send(text="Acknowledged", blocks=done, replace_original=True).status_code == 200
    assert hook.send(text="Only you see this", response_type="ephemeral").status_code == 200
    assert hook.send(text="Muted for 24h", response_type="in_channel").status_code == 200

    assert [(r["response_type"], r["replace_original"], r["text"]) for r in slack.responses] == [
        (None, True, "Acknowledged"),
        ("ephemeral", False, "Only you see this"),
        ("in_channel", False, "Muted for 24h"),
    ]
    assert slack.responses[0]["kind"] == "actions" and slack.responses[0]["message_ts"] == ts
    original = slack.message(SEC, ts)
    assert original is not None and original["blocks"] == done  # replaced in place
    assert [m["text"] for m in slack.top_level(SEC)] == ["Acknowledged", "Muted for 24h"]

    assert hook.send(delete_original=True).status_code == 200
    assert slack.message(SEC, ts) is None


def test_response_url_is_strict(
    slack: FakeSlack, sm: FakeSocketMode, client: SocketModeClient, app: App
) -> None:
    sm.push_slash_command("/monitor", "status", ANALYST, SEC)
    (req,) = app.wait_for(1)
    hook = WebhookClient(req.payload["response_url"])

    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    bad = hook.send(text="x", blocks=too_long)
    assert bad.status_code == 400 and json.loads(bad.body)["error"] == "invalid_blocks"
    assert json.loads(hook.send(text="x", response_type="public").body)["error"] == (
        "invalid_response_type"
    )
    assert json.loads(hook.send().body)["error"] == "no_text"
    # A command has no message to replace.
    assert json.loads(hook.send(text="x", replace_original=True).body)["error"] == (
        "message_not_found"
    )
    assert slack.responses == []

    for n in range(5):
        assert hook.send(text=f"answer {n}").status_code == 200
    sixth = hook.send(text="one too many")
    assert sixth.status_code == 404 and json.loads(sixth.body)["error"] == "used_url"
    assert len(slack.responses) == 5
    assert WebhookClient(slack.root_url + "/commands/T000/9/nope").send(text="x").status_code == 404


def test_chat_post_ephemeral_is_strict_and_kept_apart(slack: FakeSlack, bot: WebClient) -> None:
    resp = bot.chat_postEphemeral(channel=SEC, user=ANALYST, text="You may not do that")
    assert resp["ok"] and resp["message_ts"]
    slack.add_user("U0OUTSIDER", "outsider", channels=["C0OPS"])
    slack.add_channel("private-ir", "G0PRIVATE", private=True, member=False)
    for kwargs, error in [
        ({"channel": SEC, "user": "U0OUTSIDER"}, "user_not_in_channel"),
        ({"channel": SEC, "user": "U0NOBODY"}, "user_not_found"),
        ({"channel": "G0PRIVATE", "user": ANALYST}, "channel_not_found"),
        (
            {
                "channel": SEC,
                "user": ANALYST,
                "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "no"}}],
            },
            "invalid_blocks",
        ),
    ]:
        with pytest.raises(SlackApiError) as info:
            bot.chat_postEphemeral(text="x", **kwargs)
        assert info.value.response["error"] == error
    assert [(e["channel"], e["user"], e["text"]) for e in slack.ephemerals] == [
        (SEC, ANALYST, "You may not do that")
    ]
    assert slack.messages == []
