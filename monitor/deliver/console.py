"""Alerts printed for a person at a terminal (no Slack configured): a Sender too.

Feed text is untrusted here as much as in Slack: it is only ever printed as
``rich.text.Text``, never parsed as markup, so ``[/]`` or ``[bold]`` in a title is
shown as written.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO

from rich.console import Console
from rich.text import Text

from ..alerts import Alert, AlertKind, Story
from .render import Message
from .sender import Post, Posted

STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "cyan",
    "info": "dim",
}


def line(*parts: tuple[str, str] | str) -> Text:
    """A line of text from (text, style) parts; strings are plain."""
    out = Text()
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            out.append(part[0], style=part[1])
    return out


class ConsoleSender:
    name = "terminal"
    threads = False
    interval = 0.0
    one_channel = True

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.console = Console(
            file=stream or sys.stdout, highlight=False, soft_wrap=True, markup=False, emoji=False
        )

    def post(self, post: Post) -> Posted:
        if post.style == "digest":
            self._digest(post.title, post.digest)
        elif post.alert is not None and post.style in ("followup", "line"):
            self._followup(post.alert, post.story)
        elif post.alert is not None:
            self._alert(post.alert)
        self.console.print()
        return Posted(None, None)

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        return None  # a terminal cannot edit what it printed

    def find_posted(
        self, alert_id: int, channel: str, since: float, *, thread_ts: str | None = None
    ) -> Posted | None:
        return Posted(None, None)  # nothing printed survives a crash: print again

    def close(self) -> None:
        return None

    def _alert(self, alert: Alert) -> None:
        c, p = self.console, alert.payload
        if alert.kind == AlertKind.OPS:
            c.print(line(("ops", "bold magenta"), " ", p.title))
            if p.summary:
                c.print(line("    ", (p.summary, "dim")))
            return
        if alert.kind == AlertKind.SUMMARY:
            c.print(line((f"▤ {p.title}", "bold"), " (held back so one poll does not flood)"))
            for item in p.items:
                c.print(line(f"    • {item.title}  ", (item.rule, "dim")))
            return
        top = p.matches[0]
        sev = top.severity.label
        published = (
            datetime.fromtimestamp(p.published, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            if p.published
            else "date unknown"
        )
        c.print(line((f" {sev.upper()} ", STYLE.get(sev, "")), (" " + p.title, "bold")))
        story = f" · story {alert.story_id}" if alert.story_id is not None else ""
        c.print(line("    ", (f"{p.feed} · {published}{story}", "dim")))
        if p.link:
            c.print(line("    ", p.link))
        c.print(
            line(
                "    rule ",
                (top.rule, "bold"),
                f" ({top.title}) · matched: ",
                (", ".join(top.terms[:12]), "green"),
            )
        )
        others = [f"{m.rule} ({m.severity.label})" for m in p.matches[1:]]
        if others:
            c.print(line("    ", ("also: " + ", ".join(others), "dim")))
        if p.summary:
            summary = p.summary if len(p.summary) < 240 else p.summary[:239] + "…"
            c.print(line("    ", (summary, "dim")))

    def _followup(self, alert: Alert, story: Story | None) -> None:
        p = alert.payload
        self.console.print(line(("    ↳ also reported by " + p.feed + ":", "cyan"), " ", p.title))
        if story is not None and p.grouping is not None:
            shared = ", ".join(p.grouping.shared[:5])
            self.console.print(
                line(
                    "      ",
                    (
                        f"same story as “{story.title[:80]}” "
                        f"(score {p.grouping.score:.2f}; shared: {shared})",
                        "dim",
                    ),
                )
            )

    def _digest(self, title: str, alerts: Sequence[Alert]) -> None:
        self.console.print(line((f"▤ {title}", "bold"), f" ({len(alerts)} items)"))
        for alert in alerts:
            self.console.print(line(f"    • {alert.title[:110]}  ", (alert.rule_id, "dim")))
