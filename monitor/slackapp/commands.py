"""The ``/monitor`` slash command: ``status``, ``mutes``, ``test <text>``; answered
ephemerally through ``response_url``, for the same people as the buttons."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog

from ..deliver.render import escape, fit
from ..durations import format_duration
from ..models import Entry
from ..rules import Engine
from ..store import Store
from .actors import Actors
from .decide import REFUSED

log = structlog.get_logger("slack")
Reply = Callable[[str, str], None]  # (response_url, text)

HELP = (
    "`/monitor status`: feeds, alerts waiting, mutes · `/monitor mutes`: the mutes in force · "
    "`/monitor test <text>`: which rules a title like this matches"
)


class CommandHandler:
    def __init__(
        self,
        engine: Callable[[], Engine],
        actors: Actors,
        reply: Reply,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.actors, self.reply, self.clock = engine, actors, reply, clock

    def handle(self, store: Store, payload: dict[str, Any]) -> str:
        user = str(payload.get("user_id") or "")
        text = _unescape(str(payload.get("text") or "")).strip()
        word, _, rest = text.partition(" ")
        allowed = self.actors.allows(user)
        log.info(
            "slack.command",
            command=payload.get("command"),
            sub=word[:20],
            user=user,
            outcome="done" if allowed else "refused",
        )
        if not allowed:
            answer = REFUSED
        elif word == "status":
            answer = status_text(store, self.clock())
        elif word == "mutes":
            answer = mutes_text(store, self.clock())
        elif word == "test" and rest.strip():
            answer = test_text(self.engine(), rest.strip())
        else:
            answer = HELP
        self.reply(str(payload.get("response_url") or ""), answer)
        return answer


def status_text(store: Store, now: float) -> str:
    feeds = store.feeds.states()
    failing = [f.name for f in feeds if f.error_count]
    counts = store.outbox.counts()
    beat = store.meta.get("heartbeat")
    tick = _ago(now - float(beat)) + " ago" if beat else "never"
    lines = [
        f"*monitor* · last tick {tick} · {len(feeds)} feeds"
        + (f", {len(failing)} failing: {fit(escape(', '.join(failing)), 300)}" if failing else ""),
        "alerts: "
        + " · ".join(f"{s} {counts.get(s, 0)}" for s in ("sent", "pending", "failed", "digest")),
        f"mutes in force: {len(store.mutes.active(now))}",
    ]
    if store.meta.get("rules_error"):
        lines.append(":warning: a rule edit was rejected; the last good rules stay active")
    return "\n".join(lines)


def mutes_text(store: Store, now: float) -> str:
    found = store.mutes.active(now)
    if not found:
        return "No mutes in force."
    lines = []
    for m in found[:30]:
        left = "until unmuted" if m.until is None else "for " + _ago(m.until - now)
        reason = f" ({fit(escape(m.reason), 150)})" if m.reason else ""
        lines.append(f"• {m.kind} *{fit(escape(m.value), 100)}* {left}{reason}")
    return "\n".join(lines)


def test_text(engine: Engine, text: str) -> str:
    entry = Entry(feed="slack", key="slack", url_key="", link="", title=text[:1000])
    matches = engine.match(entry)
    if not matches:
        return f"No rule matches “{fit(escape(text), 200)}”."
    lines = [f"“{fit(escape(text), 200)}” matches:"]
    for m in matches[:10]:
        terms = ", ".join(f"`{fit(escape(t), 60)}`" for t in m.terms[:8])
        lines.append(f"• `{escape(m.rule_id)}` ({m.severity.label}): {terms}")
    return "\n".join(lines)


def _ago(seconds: float) -> str:
    return format_duration(timedelta(seconds=max(0.0, seconds)))


def _unescape(text: str) -> str:
    """Slack sends a command's text with &, < and > escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
