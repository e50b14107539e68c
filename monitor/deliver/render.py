"""Alert → Slack message (Block Kit plus a plain ``text`` fallback). Pure.

Feed text is untrusted. In Slack mrkdwn, ``<!channel>`` pings everyone and
``<https://evil|bank>`` shows a link whose target the reader does not see, so
every piece of feed text goes through ``escape`` (exactly ``&``, ``<``, ``>``),
and link targets through ``safe_url``. Limits come from Slack's docs: 50
blocks, 3,000 characters per section, about 12,000 characters in all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from ..alerts import Alert, AlertKind, Story

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 2000
TOTAL_LIMIT = 11_000  # Slack fails near 12k ("msg_blocks_too_long"); keep a margin
TEXT_LIMIT = 3000
SNIPPET = 400
EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":large_blue_circle:",
    "info": ":white_circle:",
}


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")


def fit(escaped: str, limit: int) -> str:
    """Cut already-escaped text to ``limit`` characters with an ellipsis, never
    inside an entity such as ``&amp;``."""
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: limit - 1])
    return cut.rstrip() + "…"


def safe_url(url: str) -> str:
    """An http(s) URL that cannot break out of ``<url|label>``; '' if unusable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")[:2000]


def link(url: str, label: str, limit: int = 300) -> str:
    label_text = fit(escape(label), limit)
    target = safe_url(url)
    return f"<{target}|{label_text}>" if target else f"*{label_text}*"


def when(published: float | None) -> str:
    if published is None:
        return "date unknown"
    moment = datetime.fromtimestamp(published, tz=UTC)
    return f"<!date^{int(published)}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def mention(slack_id: str) -> str:
    """Mention markup for an id from the config (never from feed text)."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def render_alert(alert: Alert, story: Story | None = None) -> Message:
    """One alert → Slack message. ``story``: its story, for the "reported by N outlets"
    line and the story id a person can mute or inspect."""
    if alert.kind == AlertKind.SUMMARY:
        return _render_summary(alert)
    if alert.kind == AlertKind.OPS:
        return _render_ops(alert)
    p = alert.payload
    top = p.matches[0]
    severity = top.severity.label
    headline = f"{EMOJI.get(severity, '')} *{severity.upper()}* · {link(p.link, p.title)}"
    blocks: list[dict[str, Any]] = [_section(headline)]
    if p.summary:
        blocks.append(_section(fit(escape(p.summary), SNIPPET)))
    terms = ", ".join(f"`{fit(escape(t), 60)}`" for t in top.terms[:12])
    why = f"*Rule:* {fit(escape(top.title), 150)} (`{escape(top.rule)}`)"
    if terms:
        why += f" · *Matched:* {terms}"
    if len(p.matches) > 1:
        names = ", ".join(f"`{escape(m.rule)}`" for m in p.matches[1:6])
        why += f" · *Also:* {names}"
    blocks.append(_context(why))
    source = f"*Source:* {fit(escape(p.feed), 150)} · {when(p.published)}"
    if alert.story_id is not None:
        source += f" · story {alert.story_id}"
    blocks.append(_context(source))
    if story is not None and story.items > 1:
        names = ", ".join(fit(escape(o), 60) for o in story.outlets[:8])
        more = f" and {len(story.outlets) - 8} more" if len(story.outlets) > 8 else ""
        plural = "s" * (len(story.outlets) > 1)
        blocks.append(
            _context(
                f":newspaper: *Reported {story.items} times* by {len(story.outlets)} "
                f"outlet{plural}: {names}{more} · see the thread"
            )
        )
    text = f"[{severity.upper()}] {fit(escape(p.title), 300)} ({fit(escape(p.feed), 80)})"
    if alert.mentions:
        pings = " ".join(mention(m) for m in alert.mentions)
        blocks.insert(0, _section(pings))
        text = f"{pings} {text}"
    return _bounded(Message(text=text, blocks=blocks))


def render_followup(alert: Alert, thread: bool = True) -> Message:
    """A later report of a story: a thread reply, or (webhooks) one compact line."""
    p = alert.payload
    top = p.matches[0]
    head = f"Also reported by *{fit(escape(p.feed), 100)}*: {link(p.link, p.title)}"
    if not thread:
        head = f":arrow_right_hook: {head}"
    blocks = [_section(head)]
    why = f"*Rule:* `{escape(top.rule)}` ({top.severity.label})"
    if p.grouping is not None:
        shared = ", ".join(f"`{fit(escape(t), 40)}`" for t in p.grouping.shared[:6])
        why += f" · *Same story:* score {p.grouping.score:.2f}, shared {shared}"
    if alert.story_id is not None:
        why += f" · story {alert.story_id}"
    blocks.append(_context(why))
    text = f"Also reported by {fit(escape(p.feed), 100)}: {fit(escape(p.title), 300)}"
    return _bounded(Message(text=text, blocks=blocks))


def render_digest(title: str, alerts: Sequence[Alert]) -> Message:
    """Many alerts as one message: grouped by rule, then by story."""
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule_id, []).append(alert)
    blocks: list[dict[str, Any]] = [_section(f":card_index: *{fit(escape(title), 200)}*")]
    for rule, items in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        stories: dict[Any, list[Alert]] = {}
        for alert in items:
            stories.setdefault(alert.story_id or f"a{alert.id}", []).append(alert)
        lines = []
        for group in stories.values():
            first = group[0].payload
            extra = f" (+{len(group) - 1} more reports)" if len(group) > 1 else ""
            lines.append(f"• {link(first.link, first.title, 200)}{extra}")
        blocks.extend(_sections([f"*{escape(rule)}* ({len(items)})", *lines]))
    text = f"{fit(escape(title), 200)}: {len(alerts)} items"
    return _bounded(Message(text=text, blocks=blocks))


def _render_ops(alert: Alert) -> Message:
    p = alert.payload
    icon = ":white_check_mark:" if p.recovered else ":warning:"
    text = f"{icon} *monitor:* {fit(escape(p.title), 500)}"
    blocks = [_section(text)]
    if p.summary:
        blocks.append(_section(fit(escape(p.summary), 2500)))
    return _bounded(Message(text=f"monitor: {fit(escape(p.title), 500)}", blocks=blocks))


def _render_summary(alert: Alert) -> Message:
    p = alert.payload
    lines = [f"• {link(i.link, i.title, 200)} (`{escape(i.rule)}`)" for i in p.items]
    blocks: list[dict[str, Any]] = [
        _section(
            f":bookmark_tabs: *{fit(escape(p.title), 200)}* "
            "(held back so one poll does not flood the channel)"
        )
    ]
    blocks.extend(_sections(lines))
    return _bounded(Message(text=escape(p.title), blocks=blocks))


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    """Lines packed into as few sections as Slack's 3,000-character limit allows."""
    out: list[dict[str, Any]] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(c) + 1 for c in chunk) + len(line) > SECTION_LIMIT - 50:
            out.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        out.append(_section("\n".join(chunk)))
    return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, SECTION_LIMIT)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text, CONTEXT_LIMIT)}]}


def _text_length(block: dict[str, Any]) -> int:
    if block["type"] == "section":
        return len(block["text"]["text"])
    return sum(len(e.get("text", "")) for e in block.get("elements", []))


def _bounded(message: Message) -> Message:
    """Drop trailing blocks past Slack's block count or total size, saying so."""
    kept: list[dict[str, Any]] = []
    total = 0
    for block in message.blocks:
        size = _text_length(block)
        if len(kept) >= MAX_BLOCKS - 1 or total + size > TOTAL_LIMIT:
            kept.append(_context(f"… {len(message.blocks) - len(kept)} more parts not shown"))
            break
        kept.append(block)
        total += size
    return Message(text=fit(message.text, TEXT_LIMIT), blocks=kept)
