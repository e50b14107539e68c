"""The Slack Web API sender (a bot token), through slack_sdk's WebClient.

Retries inside one attempt are slack_sdk's own handlers: connection errors and
500/503 answers get two quick retries with exponential back-off and jitter
(``ConnectionErrorRetryHandler``, ``ServerErrorRetryHandler``). A 429 on
``chat.*`` is NOT retried here: it means "this channel, wait N seconds", so it
goes back to the outbox's per-channel gate, which holds every message queued
for that channel and keeps their order. The crash check's reads
(``conversations.history``/``list``) have no gate, so there slack_sdk's
``RateLimitErrorRetryHandler`` waits out Retry-After itself.
"""

from __future__ import annotations

import re
import urllib.error
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from ..errors import PermanentDeliveryError, TransientDeliveryError
from .render import Message
from .sender import Post, Posted

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
TIMEOUT = 20


class BotSender:
    name = "slack"
    threads = True
    interval = 1.0  # Slack: about one message per second per channel
    one_channel = False

    def __init__(
        self, token: str, base_url: str | None = None, username: str | None = None
    ) -> None:
        kwargs: dict[str, Any] = {"token": token, "timeout": TIMEOUT}
        if base_url:
            kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
        quick = [ConnectionErrorRetryHandler(max_retry_count=2), ServerErrorRetryHandler(2)]
        self.client = WebClient(retry_handlers=quick, **kwargs)
        self.reader = WebClient(retry_handlers=[*quick, RateLimitErrorRetryHandler(2)], **kwargs)
        self.username = username
        self._channel_ids: dict[str, str] = {}

    def close(self) -> None:
        return None

    def post(self, post: Post) -> Posted:
        args: dict[str, Any] = {
            "channel": post.channel,
            "text": post.message.text,
            "blocks": post.message.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            # lets find_posted recognise this message after a crash
            "metadata": {
                "event_type": EVENT_TYPE,
                "event_payload": {"alert_id": post.alert_ids[0], "alert_ids": list(post.alert_ids)},
            },
        }
        if self.username:
            args["username"] = self.username
        if post.thread_ts is not None:
            # a string, always: a float thread_ts makes an invisible orphan reply
            args["thread_ts"] = str(post.thread_ts)
            args["reply_broadcast"] = post.broadcast
        resp = _call(self.client.chat_postMessage, **args)
        channel_id = str(resp.get("channel") or post.channel)
        self._channel_ids[post.channel.lstrip("#")] = channel_id
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

    def find_posted(
        self, alert_id: int, channel: str, since: float, *, thread_ts: str | None = None
    ) -> Posted | None:
        try:
            channel_id = self._resolve(channel)
            if channel_id is None:
                return None
            # a thread reply is not in the channel's history, only in its thread
            method = (
                self.reader.conversations_replies
                if thread_ts
                else self.reader.conversations_history
            )
            where = {"ts": thread_ts} if thread_ts else {}
            cursor = None
            for _ in range(10):  # paged; an alert in doubt is recent
                resp = _call(
                    method,
                    channel=channel_id,
                    oldest=f"{since - 60:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    **where,
                    **({"cursor": cursor} if cursor else {}),
                )
                for msg in resp.get("messages") or []:
                    if alert_id in _alert_ids(msg.get("metadata") or {}):
                        return Posted(channel=channel_id, ts=str(msg.get("ts")))
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (TransientDeliveryError, PermanentDeliveryError):
            return None  # e.g. missing_scope: we cannot tell
        return Posted(channel=None, ts=None)  # checked: not there

    def remember_channel(self, name: str, channel_id: str) -> None:
        self._channel_ids[name.lstrip("#")] = channel_id

    def _resolve(self, channel: str) -> str | None:
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        if name[:1] in ("C", "G") and name.isupper():
            return name
        resp = _call(
            self.reader.conversations_list,
            limit=1000,
            exclude_archived=True,
            types="public_channel,private_channel",
        )
        for ch in resp.get("channels") or []:
            self._channel_ids[str(ch.get("name"))] = str(ch.get("id"))
        return self._channel_ids.get(name)


def _alert_ids(meta: dict[str, Any]) -> set[int]:
    if meta.get("event_type") != EVENT_TYPE:
        return set()
    payload = meta.get("event_payload") or {}
    ids = {payload.get("alert_id"), *(payload.get("alert_ids") or ())}
    return {int(i) for i in ids if isinstance(i, int | str) and str(i).lstrip("-").isdigit()}


_SPACE = re.compile(r"\s+")
_HTML = re.compile(r"<\s*(?:html|!doctype|head|body|title)\b", re.IGNORECASE)


def short(text: object, limit: int = 120) -> str:
    """Error text from outside (an HTML error page, a stack trace) as one short line.
    slack_sdk puts a proxy's or Slack's error page into the error itself."""
    raw = str(text)
    if _HTML.search(raw):
        return "an HTML error page"
    flat = _SPACE.sub(" ", raw).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _call(method: Any, **kwargs: Any) -> Any:
    try:
        return method(**kwargs)
    except SlackApiError as exc:
        resp = exc.response
        code = short(resp.get("error") if isinstance(resp.data, dict) else resp.data, 60)
        status = resp.status_code
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            raise TransientDeliveryError(
                f"Slack answered {status} {code}",
                code=code,
                retry_after=seconds(
                    resp.headers.get("Retry-After") or resp.headers.get("retry-after")
                ),
            ) from exc
        raise PermanentDeliveryError(f"Slack refused: {code}", code=code, hint=hint(code)) from exc
    except (
        TimeoutError,
        SlackRequestError,
        urllib.error.URLError,
        ConnectionError,
        OSError,
    ) as exc:
        raise TransientDeliveryError(f"cannot reach Slack: {short(exc)}", code="network") from exc


def seconds(value: Any) -> float | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
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


def hint(code: str) -> str:
    return _HINTS.get(code, "")
