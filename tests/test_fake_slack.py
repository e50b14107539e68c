"""Tests for the fake Slack server (tests/fakes/slack_server.py).

Everything that a production client would do goes through the real ``slack_sdk``
clients (``WebClient`` and ``WebhookClient``), so these tests also document how
each Slack behaviour looks from the daemon's side.  Raw ``urllib`` is used only
for requests ``slack_sdk`` cannot produce (token in the query string, bad JSON).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

try:
    from tests.fakes.slack_server import (
        FakeSlack,
        blocks_text_length,
        live_mentions,
        message_mrkdwn_texts,
        validate_blocks,
    )
except ModuleNotFoundError:  # pytest run with only tests/ on sys.path
    from fakes.slack_server import (  # type: ignore[no-redef,import-not-found,unused-ignore]
        FakeSlack,
        blocks_text_length,
        live_mentions,
        message_mrkdwn_texts,
        validate_blocks,
    )

TOKEN = "xoxb-test-token"
SEC = "C0SECALERT"
TS_RE = re.compile(r"^\d{10}\.\d{6}$")


def section(text: str, kind: str = "mrkdwn") -> dict[str, Any]:
    return {"type": "section", "text": {"type": kind, "text": text}}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk picks up HTTP(S)_PROXY at client construction and ignores NO_PROXY,
    # which would send 127.0.0.1 traffic to the proxy.
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as srv:
        yield srv


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)


def api_error(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def raw_post(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST without slack_sdk, for requests it would never build."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers.items()), exc.read()


def raw_api(fake: FakeSlack, method: str, payload: dict[str, Any]) -> dict[str, Any]:
    status, _, body = raw_post(
        fake.base_url + method,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 200
    result: dict[str, Any] = json.loads(body)
    return result


# --------------------------------------------------------------------------- basics


def test_urls(fake: FakeSlack) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.base_url)
    assert fake.webhook_url.startswith(fake.base_url[: -len("api/")] + "services/T")


def test_post_and_read_back(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="#security-alerts", text="CVE-2024-1 *critical*")
    second = client.chat_postMessage(channel="security-alerts", text="by name")
    third = client.chat_postMessage(channel=SEC, text="by id")

    for resp in (first, second, third):
        assert resp["ok"] is True
        assert resp["channel"] == SEC
        assert TS_RE.match(resp["ts"])
    assert float(first["ts"]) < float(second["ts"]) < float(third["ts"])
    assert first["message"]["text"] == "CVE-2024-1 *critical*"

    recorded = fake.messages
    assert [m["text"] for m in recorded] == ["CVE-2024-1 *critical*", "by name", "by id"]
    assert all(m["via"] == "api" and not m["orphan"] and m["thread_ts"] is None for m in recorded)
    # slack_sdk sends chat.* as JSON with the token in the Authorization header.
    request = fake.requests[0]
    assert request["content_type"].startswith("application/json")
    assert request["token"] == TOKEN
    assert "token" not in request["body"]

    history = client.conversations_history(channel=SEC)
    assert [m["text"] for m in history["messages"]] == ["by id", "by name", "CVE-2024-1 *critical*"]
    assert history["has_more"] is False


def test_auth(fake: FakeSlack, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == "U0BOT"

    bad = api_error(WebClient(token="xoxb-wrong", base_url=fake.base_url).auth_test)
    assert bad.response.status_code == 200  # API-level errors are HTTP 200
    assert bad.response["error"] == "invalid_auth"

    missing = api_error(WebClient(base_url=fake.base_url).chat_postMessage, channel=SEC, text="x")
    assert missing.response["error"] == "not_authed"

    # A token in the query string (or body) instead of the header is refused.
    status, _, body = raw_post(fake.base_url + f"auth.test?token={TOKEN}", b"")
    assert (status, json.loads(body)["error"]) == (200, "invalid_auth")
    status, _, body = raw_post(
        fake.base_url + "auth.test",
        f"token={TOKEN}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert json.loads(body)["error"] == "invalid_auth"
    assert fake.messages == []


def test_channel_errors(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("outside", "C0OUT", member=False)
    fake.add_channel("old", "C0OLD", archived=True)
    fake.add_channel("secret", "G0SECRET", member=False, private=True)

    cases = {
        "#nope": "channel_not_found",
        "C0NOPE": "channel_not_found",
        "#outside": "not_in_channel",
        "C0OLD": "is_archived",
        "#secret": "channel_not_found",  # private and not a member: invisible
    }
    for channel, error in cases.items():
        assert (
            api_error(client.chat_postMessage, channel=channel, text="x").response["error"] == error
        )
    assert fake.messages == []

    listed = client.conversations_list()
    assert {c["name"] for c in listed["channels"]} == {
        "security-alerts",
        "ops",
        "general",
        "outside",
        "old",
    }
    assert listed["response_metadata"]["next_cursor"] == ""
    outside = next(c for c in listed["channels"] if c["id"] == "C0OUT")
    assert outside["is_member"] is False and outside["is_private"] is False
    unarchived = client.conversations_list(exclude_archived=True)["channels"]
    assert "old" not in {c["name"] for c in unarchived}


def test_no_text_and_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    # slack_sdk warns about the missing text before sending; Slack then refuses it.
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        err = api_error(client.chat_postMessage, channel=SEC)
    assert err.response["error"] == "no_text"
    assert api_error(client.api_call, "chat.delete", json={"channel": SEC}).response["error"] == (
        "unknown_method"
    )


def test_form_encoded_post(fake: FakeSlack, client: WebClient) -> None:
    # api_call(data=...) sends application/x-www-form-urlencoded with blocks as JSON text.
    resp = client.api_call(
        "chat.postMessage",
        data={"channel": "#ops", "text": "form", "blocks": json.dumps([section("*form*")])},
    )
    assert resp["ok"] and resp["channel"] == "C0OPS"
    assert fake.requests[-1]["content_type"] == "application/x-www-form-urlencoded"
    assert fake.messages[-1]["blocks"] == [section("*form*")]


# --------------------------------------------------------------------------- Block Kit limits


def test_block_count_and_section_length(fake: FakeSlack, client: WebClient) -> None:
    err = api_error(
        client.chat_postMessage, channel=SEC, text="t", blocks=[{"type": "divider"}] * 51
    )
    assert err.response["error"] == "invalid_blocks"
    assert any("[json-pointer:/blocks]" in m for m in err.response["response_metadata"]["messages"])

    err = api_error(client.chat_postMessage, channel=SEC, text="t", blocks=[section("x" * 3001)])
    assert err.response["error"] == "invalid_blocks"
    assert err.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]

    # The limits themselves are fine.
    client.chat_postMessage(channel=SEC, text="t", blocks=[{"type": "divider"}] * 50)
    client.chat_postMessage(channel=SEC, text="t", blocks=[section("x" * 3000)])
    assert len(fake.messages) == 2


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}, "/blocks/0/fields"),
        (
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
            "/blocks/0/fields/0/text",
        ),
        (section(""), "/blocks/0/text/text"),
        (section("x", kind="markdown"), "/blocks/0/text/type"),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}, "/blocks/0/text/type"),
        (
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            "/blocks/0/text/text",
        ),
        (
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
            "/blocks/0/elements",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "b" * 76},
                        "url": "https://x",
                    }
                ],
            },
            "/blocks/0/elements/0/text/text",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "b"},
                        "url": "https://" + "x" * 3000,
                    }
                ],
            },
            "/blocks/0/elements/0/url",
        ),
        (
            {"type": "section", "block_id": "b" * 256, "text": {"type": "mrkdwn", "text": "x"}},
            "/blocks/0/block_id",
        ),
        ({"type": "markdown_table"}, "/blocks/0/type"),
    ],
)
def test_invalid_blocks(client: WebClient, block: dict[str, Any], pointer: str) -> None:
    err = api_error(client.chat_postMessage, channel=SEC, text="t", blocks=[block])
    assert err.response["error"] == "invalid_blocks"
    messages = err.response["response_metadata"]["messages"]
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in messages), messages


def test_duplicate_block_id_and_valid_rich_message(client: WebClient) -> None:
    dup = [dict(section("a"), block_id="same"), dict(section("b"), block_id="same")]
    err = api_error(client.chat_postMessage, channel=SEC, text="t", blocks=dup)
    assert "[json-pointer:/blocks/1/block_id]" in err.response["response_metadata"]["messages"][0]

    rich: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "CVE-2024-3094", "emoji": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*xz backdoor*"},
            "fields": [{"type": "mrkdwn", "text": "*Severity*\ncritical"}],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open"},
                "url": "https://example.org",
                "action_id": "open",
            },
        },
        {
            "type": "context",
            "elements": [
                {"type": "image", "image_url": "https://example.org/i.png", "alt_text": "icon"},
                {"type": "plain_text", "text": "feed: oss-security"},
            ],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Ack"},
                    "action_id": "ack",
                },
            ],
        },
        {"type": "rich_text", "elements": []},
    ]
    assert validate_blocks(rich) == []
    assert client.chat_postMessage(channel=SEC, text="fallback", blocks=rich)["ok"]


def test_msg_blocks_too_long(fake: FakeSlack, client: WebClient) -> None:
    too_long = [section("x" * 3000)] * 4 + [section("y")]
    assert blocks_text_length(too_long) == 12001
    err = api_error(client.chat_postMessage, channel=SEC, text="t", blocks=too_long)
    assert err.response["error"] == "msg_blocks_too_long"
    assert client.chat_postMessage(channel=SEC, text="t", blocks=too_long[:4])["ok"]


def test_long_text_is_truncated_not_rejected(fake: FakeSlack, client: WebClient) -> None:
    assert client.chat_postMessage(channel=SEC, text="z" * 40_001)["ok"]
    message = fake.messages[-1]
    assert len(message["text"]) == 40_000 and message["text_truncated"] is True


def test_link_names_and_parse_are_recorded(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel=SEC, text="plain")
    client.chat_postMessage(channel=SEC, text="@channel", link_names=True, parse="full")
    plain, pinging = fake.messages
    assert plain["link_names"] is None and plain["parse"] is None
    assert pinging["link_names"] is True and pinging["parse"] == "full"


# --------------------------------------------------------------------------- threads


def test_threads(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="#security-alerts", text="parent")
    reply = client.chat_postMessage(channel=parent["channel"], text="r1", thread_ts=parent["ts"])
    # A reply to a reply lands in the root thread.
    nested = client.chat_postMessage(channel=SEC, text="r2", thread_ts=reply["ts"])
    client.chat_postMessage(channel=SEC, text="r3", thread_ts=parent["ts"], reply_broadcast=True)

    assert [m["text"] for m in fake.replies(parent["ts"])] == ["r1", "r2", "r3"]
    assert nested["message"]["thread_ts"] == parent["ts"]
    assert [m["text"] for m in fake.top_level()] == ["parent"]
    assert fake.orphans() == []

    # History shows top-level messages plus broadcast replies, newest first.
    history = client.conversations_history(channel=SEC)["messages"]
    assert [m["text"] for m in history] == ["r3", "parent"]
    assert history[1]["reply_count"] == 3


def test_thread_ts_edge_cases(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=SEC, text="parent")

    # Well-formed but unknown (or in another channel): ok:true, yet nobody sees it.
    assert client.chat_postMessage(channel=SEC, text="lost", thread_ts="1600000000.000100")["ok"]
    assert client.chat_postMessage(channel="#ops", text="wrong channel", thread_ts=parent["ts"])[
        "ok"
    ]
    assert [m["text"] for m in fake.orphans()] == ["lost", "wrong channel"]

    # Malformed strings are rejected.
    for bad in ("123", "1700000000.1", "", "abc.defghi"):
        err = api_error(client.chat_postMessage, channel=SEC, text="x", thread_ts=bad)
        assert err.response["error"] == "invalid_thread_ts"

    # slack_sdk does not stringify thread_ts: a float goes out as a JSON number.
    as_float = float(parent["ts"])
    assert client.chat_postMessage(channel=SEC, text="float", thread_ts=as_float)["ok"]  # type: ignore[arg-type]
    assert isinstance(fake.requests[-1]["body"]["thread_ts"], float)
    # ... which real Slack accepts and files as an invisible orphan (python-slack-sdk #840).
    assert fake.messages[-1]["orphan"] is True
    assert fake.replies(parent["ts"]) == []
    # The same over raw HTTP, int or float.
    assert raw_api(
        fake, "chat.postMessage", {"channel": SEC, "text": "n", "thread_ts": 1700000000}
    )["ok"]
    assert fake.messages[-1]["orphan"] is True


def test_numeric_thread_ts_can_be_rejected() -> None:
    with FakeSlack(numeric_thread_ts="reject") as fake:
        parent = raw_api(fake, "chat.postMessage", {"channel": SEC, "text": "p"})
        answer = raw_api(
            fake,
            "chat.postMessage",
            {"channel": SEC, "text": "r", "thread_ts": float(parent["ts"])},
        )
        assert answer == {"ok": False, "error": "invalid_thread_ts"}
        # A string is still fine.
        ok = raw_api(
            fake, "chat.postMessage", {"channel": SEC, "text": "r", "thread_ts": parent["ts"]}
        )
        assert ok["ok"] and fake.replies(parent["ts"])[0]["text"] == "r"


# --------------------------------------------------------------------------- chat.update


def test_chat_update(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="#security-alerts", text="v1")

    # chat.update takes only the channel ID.
    err = api_error(client.chat_update, channel="#security-alerts", ts=posted["ts"], text="v2")
    assert err.response["error"] == "channel_not_found"
    err = api_error(
        client.chat_update, channel=posted["channel"], ts="1600000000.000001", text="v2"
    )
    assert err.response["error"] == "message_not_found"
    err = api_error(
        client.chat_update,
        channel=posted["channel"],
        ts=posted["ts"],
        text="v2",
        blocks=[section("x" * 3001)],
    )
    assert err.response["error"] == "invalid_blocks"
    assert fake.updates == []

    updated = client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="v2", blocks=[section("*v2*")]
    )
    assert updated["ok"] and updated["ts"] == posted["ts"]
    assert fake.updates == [
        {"channel": SEC, "ts": posted["ts"], "text": "v2", "blocks": [section("*v2*")]}
    ]
    (message,) = fake.messages
    assert message["text"] == "v2" and message["edited"] is True


# --------------------------------------------------------------------------- failures


def test_fail_next_429_raises_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(1, status=429, retry_after=1)
    err = api_error(client.chat_postMessage, channel=SEC, text="x")
    # slack_sdk's default retry handlers only cover connection errors.
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "1"
    assert err.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel=SEC, text="x")["ok"]
    assert [r["status"] for r in fake.requests] == [429, 200]


def test_rate_limit_retry_handler_recovers(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    # RateLimitErrorRetryHandler sleeps int(Retry-After) + jitter; do not really wait.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.time.sleep", slept.append)
    client = WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    fake.fail_next(1, status=429, retry_after=1, methods=("chat.postMessage",))
    assert client.chat_postMessage(channel=SEC, text="x")["ok"]
    assert len(slept) == 1 and 1 <= slept[0] < 2
    assert len(fake.messages) == 1


def test_rate_limit_per_channel() -> None:
    now = [1000.0]
    with FakeSlack(rate_limit_per_channel=1.0, burst=3, clock=lambda: now[0]) as fake:
        client = WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)
        for i in range(3):  # a burst of 3, as asked
            client.chat_postMessage(channel=SEC, text=f"burst {i}")
        err = api_error(client.chat_postMessage, channel=SEC, text="too fast")
        assert err.response.status_code == 429
        assert err.response.headers["Retry-After"] == "1"
        assert err.response["error"] == "ratelimited"
        # Other channels have their own budget; time refills it.
        assert client.chat_postMessage(channel="#ops", text="other")["ok"]
        now[0] += 1.0
        assert client.chat_postMessage(channel=SEC, text="later")["ok"]
        assert len(fake.messages) == 5
        assert [ch for ch, _ in fake.rate_limited] == [SEC]


def test_strict_rate_limit_allows_no_burst_and_counts_edits() -> None:
    now = [1000.0]
    with FakeSlack(rate_limit_per_channel=1.0, clock=lambda: now[0]) as fake:
        client = WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)
        posted = client.chat_postMessage(channel=SEC, text="one")
        assert (
            api_error(client.chat_postMessage, channel=SEC, text="two").response.status_code == 429
        )
        now[0] += 1.0
        assert client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")["ok"]
        err = api_error(client.chat_update, channel=posted["channel"], ts=posted["ts"], text="x")
        assert err.response.status_code == 429 and err.response.headers["Retry-After"] == "1"


def test_fail_next_500_and_method_filter(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next(1, methods=("chat.update",))
    fake.fail_next(2, status=500)
    for _ in range(2):
        err = api_error(client.chat_postMessage, channel=SEC, text="x")
        assert err.response.status_code == 500
        assert err.response["error"] == "internal_error"
    posted = client.chat_postMessage(channel=SEC, text="x")
    assert (
        api_error(client.chat_update, channel=SEC, ts=posted["ts"], text="y").response.status_code
        == 500
    )
    assert client.chat_update(channel=SEC, ts=posted["ts"], text="y")["ok"]

    fake.fail_next(1, status=200, error="fatal_error")
    err = api_error(client.auth_test)
    assert (err.response.status_code, err.response["error"]) == (200, "fatal_error")


def test_set_down(fake: FakeSlack, client: WebClient) -> None:
    fake.set_down(True)
    err = api_error(client.chat_postMessage, channel=SEC, text="x")
    assert err.response.status_code == 503
    hook = WebhookClient(fake.webhook_url, timeout=5).send(text="x")
    assert hook.status_code == 503
    assert fake.messages == []

    fake.set_down(False)
    assert client.chat_postMessage(channel=SEC, text="x")["ok"]
    assert [r["status"] for r in fake.requests] == [503, 503, 200]


# --------------------------------------------------------------------------- webhooks


def test_webhook(fake: FakeSlack) -> None:
    hook = WebhookClient(fake.webhook_url, timeout=5)

    ok = hook.send_dict({"text": "via webhook", "thread_ts": "1700000000.000100"})
    assert (ok.status_code, ok.body) == (200, "ok")
    (message,) = fake.messages
    assert message["via"] == "webhook" and message["channel"] == SEC
    # Webhooks cannot thread: thread_ts is ignored, the post is top-level.
    assert message["thread_ts"] is None and message["ignored_thread_ts"] == "1700000000.000100"

    empty = hook.send_dict({"username": "x"})
    assert (empty.status_code, empty.body) == (400, "no_text")
    bad = hook.send(text="t", blocks=[section("x" * 3001)])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")

    status, _, body = raw_post(fake.webhook_url, b"{not json", {"Content-Type": "application/json"})
    assert (status, body) == (400, b"invalid_payload")
    unknown = WebhookClient(fake.webhook_url[:-1] + "Z", timeout=5).send(text="x")
    assert (unknown.status_code, unknown.body) == (404, "no_service")

    fake.fail_next(1, status=429, retry_after=1, methods=("webhook",))
    limited = hook.send(text="x")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert json.loads(limited.body) == {"retry_after": 1, "ok": False, "error": "rate_limited"}
    assert len(fake.messages) == 1


# --------------------------------------------------------------------------- mrkdwn helpers


def test_live_mentions() -> None:
    assert live_mentions("<!channel> <https://evil|bank> &lt;!here&gt;") == [
        "<!channel>",
        "<https://evil|bank>",
    ]
    assert live_mentions(
        "<!here|here> <!everyone> <!subteam^S123> <@U42> <#C99|ops> <http://x>"
    ) == [
        "<!here|here>",
        "<!everyone>",
        "<!subteam^S123>",
        "<@U42>",
        "<#C99|ops>",
        "<http://x>",
    ]
    assert live_mentions("a &lt; b &amp;&amp; c &gt; d, https://bare.example <b>") == []


def test_message_mrkdwn_texts(fake: FakeSlack, client: WebClient) -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "<!channel> literal"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "body"},
            "fields": [
                {"type": "mrkdwn", "text": "field"},
                {"type": "plain_text", "text": "plain"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
    ]
    client.chat_postMessage(channel=SEC, text="top", blocks=blocks)
    assert message_mrkdwn_texts(fake.messages[0]) == ["top", "body", "field", "ctx"]


def test_history_with_metadata(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "alert_posted", "event_payload": {"item_id": "abc123"}}
    first = client.chat_postMessage(channel=SEC, text="one", metadata=metadata)
    client.chat_postMessage(channel=SEC, text="two")

    with_meta = client.conversations_history(channel=SEC, include_all_metadata=True)["messages"]
    assert [m.get("metadata") for m in with_meta] == [None, metadata]
    without = client.conversations_history(channel=SEC)["messages"]
    assert all("metadata" not in m for m in without)
    # slack_sdk sends conversations.history as a form POST with booleans as "1".
    assert fake.requests[-2]["body"]["include_all_metadata"] == "1"

    newer = client.conversations_history(channel=SEC, oldest=first["ts"])["messages"]
    assert [m["text"] for m in newer] == ["two"]
    page = client.conversations_history(channel=SEC, limit=1)
    assert page["has_more"] is True and [m["text"] for m in page["messages"]] == ["two"]
    rest = client.conversations_history(
        channel=SEC, limit=1, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["one"] and rest["has_more"] is False

    assert (
        api_error(client.conversations_history, channel="#security-alerts").response["error"]
        == "channel_not_found"
    )


# --------------------------------------------------------------------------- robustness


def test_concurrent_posts_and_wait_for(fake: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)
    threads = [
        threading.Thread(target=client.chat_postMessage, kwargs={"channel": SEC, "text": f"m{i}"})
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    assert fake.wait_for(lambda s: len(s.messages) == 20, timeout=5)
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in fake.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == 20
    assert fake.wait_for(lambda s: False, timeout=0.05) is False
    assert fake.server_errors == []
