"""The incoming-webhook sender: one fixed channel, no threads, no edits, no read-back."""

from __future__ import annotations

import json
import urllib.error

from slack_sdk.webhook import WebhookClient

from ..errors import PermanentDeliveryError, TransientDeliveryError
from .render import Message
from .sender import Post, Posted
from .slack import TIMEOUT, hint, seconds, short


class WebhookSender:
    name = "webhook"
    threads = False  # a webhook cannot reply in a thread or edit
    interval = 1.0
    one_channel = True  # the webhook's channel is fixed when it is created

    def __init__(self, url: str) -> None:
        self.client = WebhookClient(url, timeout=TIMEOUT)

    def close(self) -> None:
        return None

    def post(self, post: Post) -> Posted:
        try:
            resp = self.client.send(
                text=post.message.text,
                blocks=post.message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            raise TransientDeliveryError(
                f"cannot reach the webhook: {short(exc)}", code="network"
            ) from exc
        body = (resp.body or "").strip()
        if resp.status_code == 200:
            return Posted(channel=None, ts=None)
        code = short(body, 60)
        headers = resp.headers or {}
        retry_after = seconds(headers.get("Retry-After") or headers.get("retry-after"))
        if body.startswith("{"):
            try:
                data = json.loads(body)
                code = short(data.get("error", body), 60)
                retry_after = retry_after or seconds(data.get("retry_after"))
            except ValueError:
                pass
        if resp.status_code == 429 or resp.status_code >= 500:
            raise TransientDeliveryError(
                f"webhook answered {resp.status_code} {code}", code=code, retry_after=retry_after
            )
        raise PermanentDeliveryError(
            f"webhook refused: {resp.status_code} {code}", code=code, hint=hint(code)
        )

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        return None  # a webhook cannot edit

    def find_posted(
        self, alert_id: int, channel: str, since: float, *, thread_ts: str | None = None
    ) -> Posted | None:
        return None  # a webhook cannot read back
