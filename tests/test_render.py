"""Feed text is untrusted: it never pings, never forges a link, never breaks a limit."""

from typing import Any

import pytest

from monitor.alerts import Alert, AlertKind, AlertPayload, AlertState, MatchInfo, SummaryItem
from monitor.deliver.render import escape, fit, render_alert, safe_url
from monitor.models import Severity
from tests.fakes.slack_server import live_mentions, message_mrkdwn_texts, validate_blocks

EVIL = "<!channel> <https://evil.example|Your bank> <@U123> <!subteam^S1> & <#C1>"


def alert(
    title: str = "Title",
    summary: str = "",
    link: str = "https://news.example/a",
    feed: str = "Feed",
    terms: list[str] | None = None,
    kind: AlertKind = AlertKind.ALERT,
    items: list[dict[str, str]] | None = None,
) -> Alert:
    top = MatchInfo("auto-extortion", "Extortion", Severity.CRITICAL, tuple(terms or ["nio"]))
    other = MatchInfo("data-breach", "Extortion", Severity.MEDIUM, ("x",))
    payload = AlertPayload(
        title=title,
        summary=summary,
        link=link,
        feed=feed,
        published=1.7e9,
        matches=(top, other),
        items=tuple(
            SummaryItem(i["title"], i["link"], i["rule"], Severity.parse(i["severity"]))
            for i in items or []
        ),
    )
    return Alert(
        1, kind, feed, "auto-extortion", Severity.CRITICAL, "#c", AlertState.PENDING, payload, 0.0
    )


def all_text(message: Any) -> list[str]:
    return [message.text, *message_mrkdwn_texts({"text": "", "blocks": message.blocks})]


@pytest.mark.parametrize("field", ["title", "summary", "feed"])
def test_feed_text_pings_nobody_and_links_nowhere(field: str) -> None:
    message = render_alert(alert(**{field: EVIL}))
    for text in all_text(message):
        # the only live thing allowed is our own link to the article
        forged = [
            m
            for m in live_mentions(text)
            if m[1:].split("|")[0].rstrip(">") != "https://news.example/a"
        ]
        assert forged == [], text


def test_matched_terms_are_escaped_too() -> None:
    message = render_alert(alert(terms=["<!here>", "a|b>"]))
    assert all(not [m for m in live_mentions(t) if "here" in m] for t in all_text(message))


def test_link_target_cannot_break_out() -> None:
    message = render_alert(alert(link="https://news.example/a|<!channel>>x"))
    headline = message.blocks[0]["text"]["text"]
    assert "<!channel>" not in headline
    assert [m for m in live_mentions(headline) if m.startswith("<http")] == [
        m for m in live_mentions(headline)
    ]
    assert safe_url("javascript:alert(1)") == ""


def test_the_real_link_is_shown() -> None:
    headline = render_alert(alert(title="A & B")).blocks[0]["text"]["text"]
    assert "<https://news.example/a|A &amp; B>" in headline


@pytest.mark.parametrize("size", [10, 3000, 50_000])
def test_huge_fields_stay_within_slack_limits(size: int) -> None:
    message = render_alert(
        alert(title="T" * size, summary="&<>" * size, feed="F" * size, terms=["x" * size] * 30)
    )
    assert validate_blocks(message.blocks) == []
    assert len(message.blocks) <= 50


def test_summary_of_many_items_stays_within_limits() -> None:
    items = [
        {
            "title": f"<!channel> item {i} " + "word " * 60,
            "link": f"https://n.example/{i}",
            "rule": "r",
            "severity": "high",
        }
        for i in range(400)
    ]
    message = render_alert(alert(kind=AlertKind.SUMMARY, items=items, title="400 more"))
    assert validate_blocks(message.blocks) == []
    assert all("<!channel>" not in t for t in all_text(message))


def test_fit_never_cuts_an_entity() -> None:
    text = escape("a" * 8 + "&&&&")
    for limit in range(5, len(text)):
        cut = fit(text, limit)
        assert len(cut) <= limit
        assert not cut.rstrip("…").endswith(("&", "&a", "&am", "&amp"))
