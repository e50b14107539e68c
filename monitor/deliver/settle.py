"""After a crash: alerts left ``sending`` are in doubt. Did they reach Slack?

With a bot token and the ``channels:history`` scope, Slack is asked: every
message the monitor posts carries the ids of its alerts in its metadata, and
``conversations.history`` (``conversations.replies`` for a thread reply) returns
it. Found: the alert is marked sent, never posted twice. Not found: it is sent
again. Where Slack cannot be asked (a webhook, ``missing_scope``), it is sent
again and the log says so: it may then appear twice.
"""

from __future__ import annotations

import structlog

from ..alerts import AlertKind, Role
from ..store import Store
from .gate import Gates
from .sender import Sender

log = structlog.get_logger("deliver")


def settle_in_doubt(
    store: Store, sender: Sender, gates: Gates, channel_ids: dict[str, str]
) -> None:
    for alert in store.outbox.in_doubt():
        since = alert.claimed_at or alert.created_at
        story = store.stories.get(alert.story_id)
        thread = story.slack_ts if story and alert.role == Role.FOLLOWUP else None
        channel = story.slack_channel if thread and story else None
        channel = channel or channel_ids.get(alert.channel.lstrip("#")) or alert.channel
        found = sender.find_posted(alert.id, channel, since, thread_ts=thread)
        if found is not None and found.ts:
            store.outbox.mark_sent([alert.id], since, found.channel, found.ts)
            gates.learn(alert.channel, found.channel)
            if (
                alert.story_id is not None
                and alert.kind == AlertKind.ALERT
                and alert.digest is None
            ):
                if story is not None and story.slack_ts is None and found.ts != thread:
                    store.stories.set_message(alert.story_id, found.channel, found.ts)
                elif thread:
                    store.stories.mark_dirty(alert.story_id, True)
            log.info(
                "alert.recovered",
                alert=alert.id,
                ts=found.ts,
                msg="alert in flight at a crash had reached Slack",
            )
            continue
        if found is None:
            log.warning(
                "alert.resend_in_doubt",
                alert=alert.id,
                msg="alert was in flight at a crash and Slack cannot be asked whether it "
                "arrived; sending again (may repeat once)",
            )
        if alert.digest is not None:
            store.outbox.release_digest([alert.id], "in flight at a crash")
        else:
            store.outbox.mark_retry(alert.id, "in flight at a crash", 0.0, count_attempt=False)
