"""Acting on alerts from Slack, below the daemon: the buttons as drawn (within Slack's
limits), what a click does (a table), and clicks handled against a real store and
the local Slack server: recorded once, shown by delivery's edit, refused for
strangers, mutes like the CLI's, noise for rule authors, and /monitor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from slack_sdk import WebClient

from monitor.alerts import Alert, AlertKind, AlertPayload, AlertState, Marks, MatchInfo, Mute
from monitor.cli import main
from monitor.deliver import buttons as b
from monitor.deliver.outbox import Delivery
from monitor.deliver.render import Message, render_alert
from monitor.deliver.slack import BotSender
from monitor.models import Severity
from monitor.rules import load_rules
from monitor.slackapp.actions import ActionHandler
from monitor.slackapp.actors import Actors
from monitor.slackapp.commands import CommandHandler
from monitor.slackapp.decide import Effect, State, decide
from monitor.slackapp.reply import reply
from tests.conftest import NIO_A, NIO_B, RULES, TOKEN
from tests.fakes import slack_payloads
from tests.fakes.slack_server import FakeSlack, validate_blocks
from tests.test_threads import H, World

SEC = "C0SECALERT"
ANALYST = "U0ANALYST"

# --------------------------------------------------------------------------- the buttons


def alert(story_id: int | None = 7) -> Alert:
    payload = AlertPayload(
        title="NIO receives blackmail email",
        link="https://carnews.example/nio",
        feed="CarNews",
        matches=(MatchInfo("auto-extortion", "Extortion", Severity.CRITICAL, ("NIO",)),),
    )
    return Alert(
        1, AlertKind.ALERT, "CarNews", "auto-extortion", Severity.CRITICAL, "#security-alerts",
        AlertState.SENT, payload, 0.0, story_id=story_id,
    )  # fmt: skip


def mute(kind: str, value: str) -> Mute:
    return Mute(1, kind, value, 1_800_000_000.0, "from Slack by analyst (U0ANALYST)", 0.0)


def action_ids(message: Message) -> list[str]:
    rows = [blk for blk in message.blocks if blk["type"] == "actions"]
    return [e["action_id"] for row in rows for e in row["elements"]]


@pytest.mark.parametrize(
    ("marks", "story", "expected"),
    [
        (Marks(1), 7, [b.ACK, b.MUTE_STORY, b.MUTE_FEED, b.NOISE]),
        (Marks(1), None, [b.ACK, b.MUTE_FEED, b.NOISE]),  # stories off: nothing to mute
        (Marks(1, mutes=(mute("story", "7"),)), 7, [b.ACK, b.UNMUTE_STORY, b.MUTE_FEED, b.NOISE]),
        (Marks(1, noise_by=ANALYST), 7, [b.ACK, b.MUTE_STORY, b.MUTE_FEED]),
        (Marks(1, acked_by=ANALYST, acked_at=1.7e9), 7, []),  # the row became a line
        (
            Marks(1, acked_by=ANALYST, acked_at=1.7e9, mutes=(mute("feed", "CarNews"),)),
            7,
            [b.UNMUTE_FEED],  # a mute in force keeps its way back
        ),
    ],
)
def test_buttons_follow_what_people_did(
    marks: Marks, story: int | None, expected: list[str]
) -> None:
    a = alert(story)
    message = b.with_actions(render_alert(a), a, marks)
    assert action_ids(message) == expected
    assert validate_blocks(message.blocks) == []
    assert all(e["value"] == "1" for row in message.blocks if row["type"] == "actions"
               for e in row["elements"])  # fmt: skip
    text = json.dumps(message.blocks)
    assert ("Acknowledged by <@U0ANALYST>" in text) == (marks.acked_by is not None)
    assert ("Marked not relevant by <@U0ANALYST>" in text) == (marks.noise_by is not None)
    assert text.count(":mute:") == len(marks.mutes)


def test_buttons_stay_within_slack_limits_on_the_largest_message() -> None:
    a = alert()
    full = Message("x", [{"type": "section", "text": {"type": "mrkdwn", "text": "y"}}] * 50)
    marks = Marks(1, acked_by="U0X", acked_at=1.7e9, noise_by="U0Y",
                  mutes=(mute("story", "7"), mute("feed", "F" * 500)))  # fmt: skip
    message = b.with_actions(full, a, marks)
    assert len(message.blocks) == 50 and message.blocks[-1]["type"] == "actions"
    for blk in message.blocks[-2:]:
        blk.pop("block_id", None)
    assert validate_blocks(message.blocks[-2:]) == []


def test_a_user_id_from_slack_never_becomes_markup() -> None:
    assert b.user("U0ANALYST") == "<@U0ANALYST>"
    assert b.user("<!channel>") == "&lt;!channel&gt;"


# --------------------------------------------------------------------------- the decisions

FRESH = State()
ACKED = State(acked_by="U0BOSS")
MUTED = State(story_muted=True, feed_muted=True)


@pytest.mark.parametrize(
    ("action", "state", "allowed", "effect", "outcome"),
    [
        (b.ACK, FRESH, True, Effect.ACK, "done"),
        (b.ACK, ACKED, True, Effect.NONE, "already"),  # a double click
        (b.ACK, FRESH, False, Effect.NONE, "refused"),
        (b.MUTE_STORY, FRESH, True, Effect.MUTE_STORY, "done"),
        (b.MUTE_STORY, MUTED, True, Effect.REDRAW, "already"),  # muted by the CLI meanwhile
        (b.MUTE_STORY, State(has_story=False), True, Effect.NONE, "invalid"),
        (b.MUTE_FEED, FRESH, True, Effect.MUTE_FEED, "done"),
        (b.MUTE_FEED, MUTED, True, Effect.REDRAW, "already"),
        (b.MUTE_FEED, FRESH, False, Effect.NONE, "refused"),
        (b.UNMUTE_STORY, MUTED, True, Effect.UNMUTE_STORY, "done"),
        (b.UNMUTE_STORY, FRESH, True, Effect.REDRAW, "already"),  # expired, or unmuted
        (b.UNMUTE_FEED, MUTED, True, Effect.UNMUTE_FEED, "done"),
        (b.UNMUTE_FEED, FRESH, True, Effect.REDRAW, "already"),
        (b.NOISE, FRESH, True, Effect.NOISE, "done"),
        (b.NOISE, State(noise=True), True, Effect.NONE, "already"),
        (b.NOISE, ACKED, True, Effect.NOISE, "done"),  # acknowledged, then judged noise
        (b.NOISE, FRESH, False, Effect.NONE, "refused"),
        ("somebody_elses_button", FRESH, True, Effect.NONE, "invalid"),
    ],
)
def test_what_a_click_does(
    action: str, state: State, allowed: bool, effect: Effect, outcome: str
) -> None:
    decision = decide(action, state, allowed)
    assert (decision.effect, decision.outcome) == (effect, outcome)
    if outcome in ("refused", "already", "invalid"):
        assert decision.reply  # the person is told why nothing happened


# --------------------------------------------------------------------------- clicks, handled


class Desk:
    """A world whose alerts went out with buttons, and the handler behind them."""

    def __init__(self, tmp_path: Path, slack: FakeSlack, actors: list[str] | None = None) -> None:
        self.world = World(tmp_path, slack={"actors": actors or []})
        self.slack = slack
        self.bot = BotSender(TOKEN, slack.base_url)
        self.web = WebClient(token=TOKEN, base_url=slack.base_url)
        self.wakes = 0

        def members(group: str) -> set[str]:
            return set(self.web.usergroups_users_list(usergroup=group)["users"])

        def wake() -> None:
            self.wakes += 1

        actors_ = Actors(self.world.settings.slack.actors, members)
        self.handler = ActionHandler(self.world.settings, actors_, reply, wake, self.world.clock)
        self.commands = CommandHandler(lambda: load_rules(RULES).engine, actors_, reply)

    def deliver(self) -> None:
        w = self.world
        Delivery(w.store, self.bot, clock=w.clock, sleep=w.clock.sleep, buttons=True).run(once=True)  # type: ignore[arg-type]

    def click(self, ts: str, action_id: str, user: str = ANALYST) -> dict[str, Any]:
        return slack_payloads.click_payload(self.slack, SEC, ts, action_id, user)

    def handle(self, payload: dict[str, Any]) -> list[Any]:
        return self.handler.handle(self.world.store, payload)


@pytest.fixture
def desk(tmp_path: Path, slack: FakeSlack) -> Iterator[Desk]:
    d = Desk(tmp_path, slack)
    d.world.report("CarNews", NIO_A)
    d.deliver()
    yield d
    d.world.close()


def root(slack: FakeSlack) -> dict[str, Any]:
    (message,) = slack.top_level()
    current = slack.message(message["channel"], message["ts"])
    assert current is not None
    return current


def test_the_alert_goes_out_with_its_buttons(desk: Desk, slack: FakeSlack) -> None:
    message = root(slack)
    (row,) = [blk for blk in message["blocks"] if blk["type"] == "actions"]
    assert [e["text"]["text"] for e in row["elements"]] == [
        "Acknowledge", "Mute story 24h", "Mute feed 24h", "Not relevant",
    ]  # fmt: skip
    assert validate_blocks(message["blocks"]) == []


def test_acknowledge_is_recorded_once_and_shown_by_one_edit(desk: Desk, slack: FakeSlack) -> None:
    ts = root(slack)["ts"]
    click = desk.click(ts, b.ACK)
    (decision,) = desk.handle(click)
    assert decision.effect == Effect.ACK and decision.reply is None
    assert desk.handle(click) == []  # Slack sends the same envelope again: nothing
    (again,) = desk.handle(desk.click(ts, b.ACK))  # a double click: a new action_ts
    assert again.effect == Effect.NONE and "Already acknowledged" in (again.reply or "")
    assert desk.wakes == 1
    desk.deliver()
    (update,) = slack.updates
    assert update["ts"] == ts and update["channel"] == SEC
    text = json.dumps(update["blocks"])
    assert "Acknowledged by <@U0ANALYST>" in text
    assert not [blk for blk in update["blocks"] if blk["type"] == "actions"]
    desk.deliver()
    assert len(slack.updates) == 1  # shown once
    assert [r["text"] for r in slack.responses] == [again.reply]  # one ephemeral: "already"
    actions = desk.world.store.marks.actions(0)
    assert [(a[2], a[3], a[5]) for a in actions] == [
        (b.ACK, ANALYST, "done"), (b.ACK, ANALYST, "already"),
    ]  # fmt: skip


def test_mute_story_is_the_cli_mute_and_holds_the_next_report(desk: Desk, slack: FakeSlack) -> None:
    ts = root(slack)["ts"]
    (decision,) = desk.handle(desk.click(ts, b.MUTE_STORY))
    assert decision.effect == Effect.MUTE_STORY
    (m,) = desk.world.store.mutes.active(desk.world.clock())
    story = desk.world.store.outbox.get(1)
    assert story is not None
    assert (m.kind, m.value, m.reason) == (
        "story", str(story.story_id), "from Slack by analyst (U0ANALYST)"
    )  # fmt: skip
    assert m.until == pytest.approx(desk.world.clock() + 24 * H)
    desk.deliver()
    (update,) = slack.updates
    assert f":mute: Story {story.story_id} muted until" in json.dumps(update["blocks"])
    assert b.UNMUTE_STORY in json.dumps(update["blocks"])
    desk.world.clock.now += H
    desk.world.report("Wire", NIO_B)  # the same story, reported again
    desk.deliver()
    assert slack.replies(ts) == [] and len(slack.messages) == 1
    assert desk.world.store.outbox.counts().get("muted") == 1
    (undo,) = desk.handle(desk.click(ts, b.UNMUTE_STORY))  # the button in the edited message
    assert undo.effect == Effect.UNMUTE_STORY
    assert desk.world.store.mutes.active(desk.world.clock()) == []


def test_mute_feed_refuses_a_feed_no_longer_configured(desk: Desk, slack: FakeSlack) -> None:
    ts = root(slack)["ts"]
    w = desk.world
    desk.handler.settings = w.settings.model_copy(update={"feeds": w.settings.feeds[1:]})
    (decision,) = desk.handle(desk.click(ts, b.MUTE_FEED))
    assert (decision.effect, decision.outcome) == (Effect.NONE, "invalid")
    assert "no feed named 'CarNews'" in (decision.reply or "")
    assert w.store.mutes.active(w.clock()) == []


def test_a_stranger_changes_nothing_and_is_told(tmp_path: Path, slack: FakeSlack) -> None:
    slack.add_user("U0BOSS", "boss", channels=[SEC])
    slack.add_usergroup("S0SECTEAM", ["U0BOSS"])
    d = Desk(tmp_path, slack, actors=["S0SECTEAM"])
    try:
        d.world.report("CarNews", NIO_A)
        d.deliver()
        ts = root(slack)["ts"]
        for action in (b.ACK, b.MUTE_STORY, b.NOISE):
            (decision,) = d.handle(d.click(ts, action, user=ANALYST))
            assert decision.outcome == "refused"
        assert d.wakes == 0 and d.world.store.marks.dirty() == []
        assert d.world.store.mutes.active(d.world.clock()) == []
        assert d.world.store.noise.since(0) == []
        assert len(slack.responses) == 3
        assert all("slack.actors" in r["text"] for r in slack.responses)
        assert {r["user"] for r in slack.responses} == {ANALYST}
        (ok,) = d.handle(d.click(ts, b.ACK, user="U0BOSS"))  # a member of the group
        assert ok.effect == Effect.ACK
    finally:
        d.world.close()


def test_actors_by_user_and_group_fail_closed(slack: FakeSlack) -> None:
    slack.add_usergroup("S0SECTEAM", ["U0B"])
    web = WebClient(token=TOKEN, base_url=slack.base_url)

    def members(group: str) -> set[str]:
        return set(web.usergroups_users_list(usergroup=group)["users"])

    assert Actors([]).allows("U0ANYONE")
    actors = Actors(["U0A", "S0SECTEAM", "S0GONE"], members)
    assert actors.allows("U0A") and actors.allows("U0B") and not actors.allows("U0C")
    calls = [r for r in slack.requests if r["method"] == "usergroups.users.list"]
    assert len(calls) == 2  # S0GONE answered no_such_subteam: it admits nobody
    actors.allows("U0C")
    assert len([r for r in slack.requests if r["method"] == "usergroups.users.list"]) == 2
    with FakeSlack(scopes={"chat:write"}) as bare:
        web = WebClient(token=TOKEN, base_url=bare.base_url)
        no_scope = Actors(
            ["S0SECTEAM"], lambda g: set(web.usergroups_users_list(usergroup=g)["users"])
        )
        assert not no_scope.allows("U0B")  # missing_scope: nobody gets in through it


def test_noise_is_listed_per_rule_and_feeds_rules_test(
    desk: Desk, slack: FakeSlack, tmp_path: Path
) -> None:
    ts = root(slack)["ts"]
    (decision,) = desk.handle(desk.click(ts, b.NOISE))
    assert decision.effect == Effect.NOISE and "monitor rules noise" in (decision.reply or "")
    (item,) = desk.world.store.noise.since(0)
    assert (item.rule_id, item.terms, item.title, item.user) == (
        "auto-extortion", ("NIO",), NIO_A.title, "analyst (U0ANALYST)",
    )  # fmt: skip
    desk.deliver()
    assert "Marked not relevant by <@U0ANALYST>" in json.dumps(slack.updates[-1]["blocks"])

    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database": str(desk.world.settings.database)}))
    runner = CliRunner()
    since = ["--since", "3650d"]  # the world's clock is fixed in the past
    listed = runner.invoke(main, ["rules", "noise", "--config", str(config), *since])
    assert listed.exit_code == 0 and "auto-extortion" in listed.output
    assert NIO_A.title[:60] in listed.output
    exported = runner.invoke(main, ["rules", "noise", "--config", str(config), "--json", *since])
    assert exported.exit_code == 0
    (line,) = [json.loads(x) for x in exported.stdout.splitlines() if x.startswith("{")]
    assert line["title"] == NIO_A.title and line["rule"] == "auto-extortion"
    noise_file = tmp_path / "noise.jsonl"
    noise_file.write_text(exported.stdout)

    # a rule author tightens the rule: the noise stops matching, its examples still pass
    rules = tmp_path / "rules"
    rules.mkdir()
    loose = "id: nio\ntitle: NIO\nseverity: high\nmatch: {any: [NIO]}\n"
    tests = "tests: {match: [Ransomware gang hits NIO]}\n"
    tight = "id: nio\ntitle: NIO\nseverity: high\nmatch: {all: [NIO, ransomware]}\n"
    for rule, matched in ((loose, 1), (tight, 0)):
        (rules / "nio.yaml").write_text(rule + tests)
        assert runner.invoke(main, ["rules", "check", "--rules", str(rules)]).exit_code == 0
        tested = runner.invoke(
            main, ["rules", "test", "--rules", str(rules), "--input", str(noise_file), "--json"]
        )
        (result,) = [json.loads(x) for x in tested.stdout.splitlines() if x.startswith("{")]
        assert result["id"] == line["id"] and len(result["matches"]) == matched


def test_slash_command_answers_ephemerally(desk: Desk, slack: FakeSlack) -> None:
    def command(text: str, user: str = ANALYST) -> str:
        payload = slack_payloads.command_payload(slack, "/monitor", text, user, SEC, trigger_id="")
        return desk.commands.handle(desk.world.store, payload)

    assert "feeds" in command("status") and "pending 0" in command("status")
    assert command("mutes") == "No mutes in force."
    answer = command("test Hackers demand $2m in bitcoin from Nio &lt;blackmail&gt;")
    assert "`auto-extortion` (critical)" in answer and "&lt;blackmail&gt;" in answer
    assert "/monitor status" in command("help")
    assert len(slack.responses) == 5
    assert {r["response_type"] for r in slack.responses} == {"ephemeral"}


def test_a_click_on_another_message_touches_nothing(desk: Desk, slack: FakeSlack) -> None:
    ts = root(slack)["ts"]
    payload = desk.click(ts, b.ACK)
    payload["actions"] = [replace_value(payload["actions"][0], "999")]
    (decision,) = desk.handle(payload)
    assert (decision.effect, decision.outcome) == (Effect.NONE, "invalid")
    assert desk.world.store.marks.dirty() == []


def replace_value(action: dict[str, Any], value: str) -> dict[str, Any]:
    return {**action, "value": value}
