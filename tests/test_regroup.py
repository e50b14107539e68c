"""A person fixes a wrong grouping with `monitor stories show | split | merge`, and
the Slack messages follow: the moved report posts as its own alert, a merged story's
reports reply in the right thread, and the first message's count is edited."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from monitor.cli import main
from monitor.deliver.slack import BotSender
from tests.conftest import NIO_A, NIO_B, TOKEN
from tests.fakes.slack_server import FakeSlack
from tests.test_threads import ACME, World


def cli(world: World, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {"database": str(world.settings.database), "feeds": [{"name": "CarNews", "url": "u"}]}
        )
    )
    result = CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_show_then_split_posts_the_report_as_its_own_alert(
    tmp_path: Path, slack: FakeSlack
) -> None:
    world = World(tmp_path)
    bot = BotSender(TOKEN, slack.base_url)
    world.report("CarNews", NIO_A)
    world.report("Wire", NIO_B)
    world.deliver(bot)
    (root,) = slack.top_level()
    assert len(slack.replies(root["ts"])) == 1
    story = world.store.outbox.story_root(1)
    assert story is not None and story.story_id is not None
    code, out, _ = cli(world, tmp_path, "stories", "show", str(story.story_id))
    assert code == 0 and "CarNews" in out and "Wire" in out and "score" in out
    reply = next(a for a in world.store.outbox.of_story(story.story_id) if a.id != story.id)
    assert cli(world, tmp_path, "stories", "split", str(story.story_id), str(story.id))[0] == 2
    code, out, _ = cli(world, tmp_path, "stories", "split", str(story.story_id), str(reply.id))
    assert code == 0, out
    updates_before = len(slack.updates)
    world.deliver(bot)
    assert len(slack.top_level()) == 2  # the moved report, as its own alert
    assert "Hackers demand" in slack.top_level()[1]["text"]
    assert len(slack.updates) == updates_before + 1  # the first message's count edited
    assert "Reported 2 times" not in str(slack.updates[-1]["blocks"])
    world.close()


def test_merge_replies_in_the_right_thread_and_counts(tmp_path: Path, slack: FakeSlack) -> None:
    world = World(tmp_path)
    bot = BotSender(TOKEN, slack.base_url)
    world.report("CarNews", NIO_A)
    world.report("Wire", ACME)  # another story
    world.deliver(bot)
    first, _second = slack.top_level()
    stories = sorted(
        {a.story_id for a in world.store.outbox.of_story(1)}
        | {a.story_id for a in world.store.outbox.of_story(2)}
    )
    code, out, _ = cli(world, tmp_path, "stories", "merge", str(stories[0]), str(stories[1]))
    assert code == 0 and "moved 1 reports" in out
    world.deliver(bot)
    (reply,) = slack.replies(first["ts"])
    assert "Acme Brakes" in reply["text"]
    assert "Reported 2 times" in str(slack.updates[-1]["blocks"])
    assert cli(world, tmp_path, "stories", "merge", "1", "1")[0] == 2
    assert cli(world, tmp_path, "stories", "show", "99")[0] == 2
    world.close()


def test_the_daemon_regroups_after_a_manual_fix(tmp_path: Path, slack: FakeSlack) -> None:
    """After a split, the next cycle rebuilds the grouping from the database: a copy of
    the split-off report now belongs to the split-off story."""
    from datetime import UTC, datetime

    from monitor.models import Entry
    from monitor.stories import Report

    world = World(tmp_path)
    world.report("CarNews", NIO_A)
    world.report("Wire", NIO_B)
    world.deliver(BotSender(TOKEN, slack.base_url))
    root = world.store.outbox.story_root(1)
    assert root is not None and root.story_id is not None
    reply = next(a for a in world.store.outbox.of_story(root.story_id) if a.id != root.id)
    twin = Report(
        "twin",
        Entry(
            feed="Other",
            key="t",
            url_key="",
            link="",
            title=NIO_B.title,
            summary=NIO_B.summary,
            published=datetime.fromtimestamp(world.clock(), tz=UTC),
        ),
        world.clock(),
    )
    before = world.flow.grouper().decide(twin)
    assert before.joined and before.story == world.store.stories.get(root.story_id).key  # type: ignore[union-attr]
    cli(world, tmp_path, "stories", "split", str(root.story_id), str(reply.id))
    world.flow.poll([])  # the next cycle notices the fix
    after = world.flow.grouper().decide(twin)
    assert after.joined and after.story == f"split-{reply.id}"
    world.close()
