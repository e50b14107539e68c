"""Alerts printed for a person at a terminal (no Slack configured)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "cyan",
    "info": "dim",
}


class ConsolePrinter:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)

    def show(self, alert: dict[str, Any], story: dict[str, Any] | None = None) -> None:
        p = alert["payload"]
        c = self.console
        if alert.get("role") == "followup":
            grouping = p.get("grouping") or {}
            shared = ", ".join(grouping.get("shared", [])[:5])
            c.print(f"    [cyan]↳ also reported by {escape(p['feed'])}:[/] {escape(p['title'])}")
            if story:
                c.print(
                    f"      [dim]same story as “{escape(story['title'][:80])}” "
                    f"(score {grouping.get('score', 0):.2f}; shared: {escape(shared)})[/]"
                )
            c.print()
            return
        if alert["kind"] == "ops":
            c.print(f"[bold magenta]ops[/] {escape(p['title'])}")
            if p.get("summary"):
                c.print(f"    [dim]{escape(p['summary'])}[/]")
            c.print()
            return
        if alert["kind"] == "summary":
            c.print(f"[bold]▤ {escape(p['title'])}[/] (held back so one poll does not flood)")
            for item in p.get("items", []):
                c.print(f"    • {escape(item['title'])}  [dim]{escape(item['rule'])}[/]")
            c.print()
            return
        top = p["matches"][0]
        sev = top["severity"]
        published = (
            datetime.fromtimestamp(p["published"], tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            if p.get("published")
            else "date unknown"
        )
        c.print(
            Text(f" {sev.upper()} ", style=STYLE.get(sev, "")), Text(" " + p["title"], style="bold")
        )
        c.print(f"    [dim]{escape(p['feed'])} · {published}[/]")
        if p.get("link"):
            c.print(f"    {escape(p['link'])}")
        terms = ", ".join(top["terms"][:12])
        c.print(
            f"    rule [bold]{escape(top['rule'])}[/] ({escape(top['title'])})"
            f" · matched: [green]{escape(terms)}[/]"
        )
        others = [f"{m['rule']} ({m['severity']})" for m in p["matches"][1:]]
        if others:
            c.print(f"    [dim]also: {escape(', '.join(others))}[/]")
        if p.get("summary"):
            summary = p["summary"] if len(p["summary"]) < 240 else p["summary"][:239] + "…"
            c.print(f"    [dim]{escape(summary)}[/]")
        c.print()

    def show_digest(self, title: str, alerts: list[dict[str, Any]]) -> None:
        c = self.console
        c.print(f"[bold]▤ {escape(title)}[/] ({len(alerts)} items)")
        for alert in alerts:
            p = alert["payload"]
            c.print(f"    • {escape(p['title'][:110])}  [dim]{escape(alert['rule_id'])}[/]")
        c.print()
