"""Socket Mode messages and interaction payloads shaped like Slack's own examples.

Pure builders used by :mod:`tests.fakes.socket_mode`; each names the published
example it copies, so a reader can check the shape without trusting the fake.
Values that Slack generates (envelope IDs, trigger IDs, ``action_ts``) are
random but well-formed; IDs of the workspace come from
:mod:`tests.fakes.slack_server`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_server import APP_ID, TEAM_ID, validate_blocks

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlack

__all__ = [
    "ack_payload_problem",
    "block_actions",
    "button_action",
    "click_payload",
    "command_payload",
    "disconnect",
    "envelope",
    "find_element",
    "hello",
    "new_action_ts",
    "new_trigger_id",
    "retry_of",
    "slash_command",
]

TEAM_DOMAIN = "fake-workspace"
# The payloads still carry the deprecated verification token; apps must not use it.
VERIFICATION_TOKEN = "verification-token"


def new_trigger_id() -> str:
    # Slack's look: "3701415066658.3485157640.72f11de3d52bb9593d6931af772a323e".
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def new_action_ts() -> str:
    return f"{time.time():.6f}"


def envelope(
    kind: str,
    payload: dict[str, Any],
    *,
    accepts_response_payload: bool,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> dict[str, Any]:
    """A data envelope as Slack sends it over the socket.

    Field set from python-slack-sdk's Socket Mode fixture, whose ``events_api``
    envelopes carry ``retry_attempt``/``retry_reason`` too:
    https://github.com/slackapi/python-slack-sdk/blob/main/tests/slack_sdk/socket_mode/mock_socket_mode_server.py
    """
    return {
        "envelope_id": str(uuid.uuid4()),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    }


def retry_of(old: dict[str, Any]) -> dict[str, Any]:
    """The same payload in a new envelope after a missed ack."""
    return envelope(
        old["type"],
        old["payload"],
        accepts_response_payload=old["accepts_response_payload"],
        retry_attempt=old["retry_attempt"] + 1,
        retry_reason="timeout",
    )


def ack_payload_problem(sent: dict[str, Any], payload: Any) -> tuple[str, str] | None:
    """``(violation kind, detail)`` when an ack's ``payload`` is wrong for ``sent``.

    Only envelopes with ``accepts_response_payload`` (slash commands, not
    ``block_actions``) take one; Slack drops it silently otherwise, and the
    user sees nothing.  A taken payload is a message: its blocks must be valid.
    """
    if payload is None:
        return None
    if not sent["accepts_response_payload"]:
        return "payload_not_accepted", "Slack ignores it: answer through response_url"
    if not isinstance(payload, dict):
        return "invalid_ack_payload", "payload is not an object"
    errors = validate_blocks(payload["blocks"]) if "blocks" in payload else []
    if payload.get("response_type") not in (None, "ephemeral", "in_channel"):
        errors.append(f"response_type {payload['response_type']!r}")
    return ("invalid_ack_payload", "; ".join(errors)) if errors else None


def hello(*, app_id: str, num_connections: int, host: str) -> dict[str, Any]:
    """The first message on every connection.

    Copied from ``socket_mode_hello_message`` in
    https://github.com/slackapi/python-slack-sdk/blob/main/tests/slack_sdk/socket_mode/mock_socket_mode_server.py
    """
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": host, "build_number": 10, "approximate_connection_time": 18060},
        "connection_info": {"app_id": app_id},
    }


def disconnect(reason: str, *, host: str) -> dict[str, Any]:
    """Slack asks the app to reconnect (``refresh_requested``, ``warning``, ``link_disabled``).

    Shape from https://docs.slack.dev/apis/events-api/using-socket-mode (the page
    slack_sdk's builtin client cites); ``debug_info.host`` as in slack-go's
    socketmode/client.go ``DebugInfo``.
    """
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": host}}


def slash_command(
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    team_id: str,
    app_id: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """The form fields of a slash command, as a Socket Mode payload dict.

    Field for field the ``slash_commands`` envelope in python-slack-sdk's fixture
    https://github.com/slackapi/python-slack-sdk/blob/main/tests/slack_sdk/socket_mode/mock_socket_mode_server.py
    (fields documented at https://api.slack.com/interactivity/slash-commands#app_command_handling).
    Every value is a string: Slack sends form fields, even over the socket.
    """
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": app_id,
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_element(blocks: list[Any], action_id: str) -> tuple[dict[str, Any], str] | None:
    """The interactive element with ``action_id`` and the ``block_id`` it sits in.

    Slack gives every block a ``block_id`` (random when the app set none); so
    does this, derived from the block's position so that it is stable.
    """
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                generated = hashlib.sha1(str(index).encode()).hexdigest()[:5]
                return element, block.get("block_id") or generated
    return None


def button_action(element: dict[str, Any], block_id: str, action_ts: str) -> dict[str, Any]:
    """One entry of ``actions`` for a clicked button (bolt-python fixture, below)."""
    action = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "text": element.get("text"),
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    if "value" in element:
        action["value"] = element["value"]
    if "style" in element:
        action["style"] = element["style"]
    return action


def block_actions(
    *,
    user_id: str,
    user_name: str,
    team_id: str,
    app_id: str,
    channel_id: str,
    channel_name: str,
    message: dict[str, Any] | None,
    message_ts: str,
    actions: list[dict[str, Any]],
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a message in a channel.

    Shape copied from the fixture in Slack's bolt-python test suite,
    https://github.com/slackapi/bolt-python/blob/main/tests/scenario_tests/test_block_actions.py
    with ``message`` added as https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
    documents it: the full source message, left out when the source was
    ephemeral (pass ``message=None``; the container then says ``is_ephemeral``).
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": message is None,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "channel": {"id": channel_id, "name": channel_name},
        "response_url": response_url,
        "actions": actions,
    }
    if message is not None:
        payload["message"] = message
    return payload


# --------------------------------------------------------------------------- from FakeSlack state


def command_payload(
    slack: FakeSlack, command: str, text: str, user_id: str, channel_id: str, *, trigger_id: str
) -> dict[str, Any]:
    """What Slack sends when ``user_id`` types ``command text`` in ``channel_id``."""
    channel, user_name = slack.channel_info(channel_id), slack.user_name(user_id)
    if channel is None or user_name is None:
        raise ValueError(f"unknown channel {channel_id!r} or user {user_id!r}")
    return slash_command(
        command=command,
        text=text,
        user_id=user_id,
        user_name=user_name,
        channel_id=channel_id,
        channel_name=channel["name"],
        team_id=TEAM_ID,
        app_id=APP_ID,
        response_url=slack.issue_response_url("commands", channel=channel_id, user=user_id),
        trigger_id=trigger_id or new_trigger_id(),
    )


def click_payload(
    slack: FakeSlack, channel_id: str, message_ts: str, action_id: str, user_id: str
) -> dict[str, Any]:
    """What Slack sends when ``user_id`` clicks ``action_id`` on a stored message."""
    message = slack.message(channel_id, message_ts)
    channel, user_name = slack.channel_info(channel_id), slack.user_name(user_id)
    if message is None or channel is None:
        raise ValueError(f"no message {message_ts} in {channel_id}")
    if user_name is None or user_id not in channel["users"]:
        raise ValueError(f"user {user_id!r} cannot see {channel_id}")
    found = find_element(message.get("blocks") or [], action_id)
    if found is None:
        raise ValueError(f"message {message_ts} has no element {action_id!r}")
    element, block_id = found
    return block_actions(
        user_id=user_id,
        user_name=user_name,
        team_id=TEAM_ID,
        app_id=APP_ID,
        channel_id=channel_id,
        channel_name=channel["name"],
        message=message,
        message_ts=message_ts,
        actions=[button_action(element, block_id, new_action_ts())],
        response_url=slack.issue_response_url(
            "actions", channel=channel_id, user=user_id, message_ts=message_ts
        ),
        trigger_id=new_trigger_id(),
    )
