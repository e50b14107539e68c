"""Answers only the person who clicked or typed can see: through the request's
``response_url`` (not channel-paced like posts; 5 uses within 30 minutes)."""

from __future__ import annotations

import structlog
from slack_sdk.webhook import WebhookClient

from ..deliver.slack import short

log = structlog.get_logger("slack")
TIMEOUT = 10


def reply(response_url: str, text: str) -> None:
    """An ephemeral message; a failure is logged (the URL itself never is: it is a secret)."""
    if not response_url:
        return
    try:
        resp = WebhookClient(response_url, timeout=TIMEOUT).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except Exception as exc:  # the network; nothing more to do than say so
        log.warning("slack.reply_failed", error=short(exc))
        return
    if resp.status_code != 200:
        log.warning("slack.reply_failed", status=resp.status_code, error=short(resp.body, 80))
