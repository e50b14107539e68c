"""Senders: Slack bot token (Web API), incoming webhook, or the terminal.

Each sender turns the outside world's failures into our DeliveryError tree:
transient (429, 5xx, network) is retried later; permanent (invalid_auth,
channel_not_found, …) marks the alert failed.
"""

from __future__ import annotations

import json
import urllib.error
from dataclasses import dataclass
from typing import IO, Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from ..errors import PermanentDeliveryError, TransientDeliveryError
from .render import Message

TRANSIENT_CODES = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }
)
EVENT_TYPE = "monitor_alert"


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str | None
    ts: str | None


class Sender(Protocol):
    name: str
    threads: bool  # can reply in threads and edit messages

    def post(
        self,
        message: Message,
        channel: str,
        alert_id: int,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted: ...

    def update(self, channel_id: str, ts: str, message: Message) -> None: ...

    def find_posted(self, alert_id: int, channel: str, since: float) -> Posted | None:
        """After a crash: was this alert already posted? None when we cannot tell."""
        ...


class BotSender:
    name = "slack"
    threads = True

    def __init__(
        self, token: str, base_url: str | None = None, username: str | None = None
    ) -> None:
        kwargs: dict[str, Any] = {
            "token": token,
            "timeout": 20,
            "retry_handlers": [ConnectionErrorRetryHandler(max_retry_count=1)],
        }
        if base_url:
            kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
        self.client = WebClient(**kwargs)
        self.username = username
        self._channel_ids: dict[str, str] = {}

    def post(
        self,
        message: Message,
        channel: str,
        alert_id: int,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        args: dict[str, Any] = {
            "channel": channel,
            "text": message.text,
            "blocks": message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            # lets find_posted recognise this message after a crash
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"alert_id": alert_id}},
        }
        if self.username:
            args["username"] = self.username
        if thread_ts is not None:
            # a string, always: a float thread_ts makes an invisible orphan reply
            args["thread_ts"] = str(thread_ts)
            args["reply_broadcast"] = broadcast
        resp = _call(self.client.chat_postMessage, **args)
        channel_id = str(resp.get("channel") or channel)
        self._channel_ids[channel.lstrip("#")] = channel_id
        return Posted(channel=channel_id, ts=str(resp.get("ts")))

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        """chat.update takes the channel ID (not #name) and the message's ts."""
        _call(
            self.client.chat_update,
            channel=channel_id,
            ts=str(ts),
            text=message.text,
            blocks=message.blocks,
        )

    def find_posted(self, alert_id: int, channel: str, since: float) -> Posted | None:
        try:
            channel_id = self._resolve(channel)
            if channel_id is None:
                return None
            resp = _call(
                self.client.conversations_history,
                channel=channel_id,
                oldest=f"{since - 60:.6f}",
                include_all_metadata=True,
                limit=200,
            )
        except (TransientDeliveryError, PermanentDeliveryError):
            return None  # e.g. missing_scope: we cannot tell
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and str(
                (meta.get("event_payload") or {}).get("alert_id")
            ) == str(alert_id):
                return Posted(channel=channel_id, ts=str(msg.get("ts")))
        return Posted(channel=None, ts=None)  # checked: not there

    def _resolve(self, channel: str) -> str | None:
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        if name[:1] in ("C", "G") and name.isupper():
            return name
        resp = _call(
            self.client.conversations_list,
            limit=1000,
            exclude_archived=True,
            types="public_channel,private_channel",
        )
        for ch in resp.get("channels") or []:
            self._channel_ids[str(ch.get("name"))] = str(ch.get("id"))
        return self._channel_ids.get(name)


def _call(method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except SlackApiError as exc:
        resp = exc.response
        code = str(resp.get("error") if isinstance(resp.data, dict) else resp.data)[:200]
        status = resp.status_code
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            raise TransientDeliveryError(
                f"Slack answered {status} {code}",
                code=code,
                retry_after=_seconds(
                    resp.headers.get("Retry-After") or resp.headers.get("retry-after")
                ),
            ) from exc
        raise PermanentDeliveryError(f"Slack refused: {code}", code=code, hint=_hint(code)) from exc
    except (
        TimeoutError,
        SlackRequestError,
        urllib.error.URLError,
        ConnectionError,
        OSError,
    ) as exc:
        raise TransientDeliveryError(f"cannot reach Slack: {exc}"[:300], code="network") from exc


class WebhookSender:
    name = "webhook"
    threads = False  # a webhook cannot reply in a thread or edit

    def __init__(self, url: str) -> None:
        self.client = WebhookClient(url, timeout=20)

    def post(
        self,
        message: Message,
        channel: str,
        alert_id: int,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        try:
            resp = self.client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise TransientDeliveryError(
                f"cannot reach the webhook: {exc}"[:300], code="network"
            ) from exc
        body = (resp.body or "").strip()
        if resp.status_code == 200:
            return Posted(channel=None, ts=None)
        code = body
        retry_after = _seconds(
            (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get("retry-after")
        )
        if body.startswith("{"):
            try:
                data = json.loads(body)
                code = str(data.get("error", body))
                retry_after = retry_after or _seconds(data.get("retry_after"))
            except ValueError:
                pass
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientDeliveryError(
                f"webhook answered {resp.status_code} {code}"[:300],
                code=code,
                retry_after=retry_after,
            )
        raise PermanentDeliveryError(
            f"webhook refused: {resp.status_code} {code}"[:300], code=code, hint=_hint(code)
        )

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        return None  # a webhook cannot edit

    def find_posted(self, alert_id: int, channel: str, since: float) -> Posted | None:
        return None  # a webhook cannot read back


class ConsoleSender:
    """No Slack configured: alerts are printed for a person at the terminal."""

    name = "terminal"
    threads = False

    def __init__(self, stream: IO[str] | None = None) -> None:
        from .console import ConsolePrinter

        self.printer = ConsolePrinter(stream)

    def show(self, alert: dict[str, Any], story: dict[str, Any] | None = None) -> None:
        self.printer.show(alert, story)

    def show_digest(self, title: str, alerts: list[dict[str, Any]]) -> None:
        self.printer.show_digest(title, alerts)

    def find_posted(self, alert_id: int, channel: str, since: float) -> Posted | None:
        return None


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


_HINTS = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong or revoked; copy the Bot User OAuth Token again",
    "not_authed": "set SLACK_BOT_TOKEN",
    "account_inactive": "the token's app or user was deactivated",
    "token_revoked": "the token was revoked; reinstall the app",
    "channel_not_found": "the channel does not exist or is private; check the name and invite "
    "the bot with /invite @your-app",
    "not_in_channel": "invite the bot to the channel: /invite @your-app",
    "is_archived": "the channel is archived; pick another in the config",
    "missing_scope": "add the chat:write scope to the app and reinstall it",
    "invalid_blocks": "a bug in the monitor's message layout; please report it",
    "no_service": "the webhook URL was removed; create a new one",
    "invalid_token": "the webhook URL is wrong",
    "channel_is_archived": "the webhook's channel is archived",
}


def _hint(code: str) -> str:
    return _HINTS.get(code, "")
