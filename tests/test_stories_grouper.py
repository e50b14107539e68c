"""Grouping decisions: one story per event whatever the order, two per victim."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from monitor.feeds.items import load_items
from monitor.feeds.parse import parse_feed
from monitor.models import Entry
from monitor.stories import Decision, Grouper, Report, group_offline
from tests.conftest import CORPUS, NIO_A, NIO_B, REPO, needs_corpus

H = 3600.0
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC).timestamp()
MAKERS = (
    "Toyota Honda Renault Subaru Ford Suzuki Nissan Mazda Hyundai Kia Volkswagen BMW "
    "Mercedes-Benz Stellantis Volvo Tesla Porsche Audi Bosch Continental Denso Magna Valeo "
    "Lear"
).split()


def report(key: str, title: str, summary: str = "", feed: str = "Wire", at: float = T0) -> Report:
    entry = Entry(feed=feed, key=key, url_key="", link="", title=title, summary=summary)
    return Report(key, entry, at)


def templated(maker: str, i: int) -> Report:
    return report(
        f"t{i}",
        f"{maker} confirms ransomware attack, says customer data was stolen",
        f"{maker} said a ransomware attack disrupted some systems and that attackers stole "
        "customer data. The company said it is investigating with outside experts.",
        feed=f"Outlet {i % 5}",
        at=T0 + i * 600,
    )


TEMPLATED = [templated(maker, i) for i, maker in enumerate(MAKERS)]


def grouper() -> Grouper:
    return Grouper(window=72 * H, threshold=0.26)


def sample_feeds() -> dict[str, tuple[Entry, ...]]:
    now = datetime(2022, 12, 24, tzinfo=UTC)
    return {
        path.stem: parse_feed(path.read_bytes(), feed_name=path.stem, now=now).entries
        for path in sorted((REPO / "examples" / "feeds").iterdir())
    }


def cycle(g: Grouper, entries: list[Entry], batch: list[Report]) -> list[Decision]:
    g.observe(entries)
    return g.assign(batch)


def stories(decisions: list[Decision]) -> int:
    return len({d.story for d in decisions})


# -- the 24 templated incidents (the issue) ----------------------------------------------


def test_templated_incidents_are_one_story_each_on_a_fresh_grouper() -> None:
    decisions = cycle(grouper(), [r.entry for r in TEMPLATED], TEMPLATED)
    assert stories(decisions) == 24 and not any(d.joined for d in decisions)
    hourly = group_offline(TEMPLATED)
    assert len({d.story for d in hourly.values()}) == 24


def test_templated_incidents_are_one_story_each_on_a_warm_grouper() -> None:
    g = grouper()
    warm: dict[str, Entry] = {}
    counted: list[Entry] = []
    reports = []
    for name, entries in sample_feeds().items():
        counted.extend(entries)
        for i, entry in enumerate(entries):
            warm[f"{name}{i}"] = entry
            reports.append(
                (report(f"{name}{i}", entry.title, entry.summary, name, T0 - H), f"{name}{i}")
            )
    g.warm(counted, reports)
    decisions = cycle(g, [r.entry for r in TEMPLATED], TEMPLATED)
    assert stories(decisions) == 24
    for d, r in zip(decisions, TEMPLATED, strict=True):
        # joining an earlier report is right only when it is about the same company:
        # "Continental confirms ransomware attack" follows the Continental/LockBit story
        if d.joined:
            assert r.entry.title.split()[0] in warm[d.with_key].title


@needs_corpus
def test_templated_incidents_stay_apart_after_a_thousand_real_items() -> None:
    g = grouper()
    g.observe(item.entry for item in load_items(str(CORPUS / "items" / "news-items.jsonl")))
    assert stories(cycle(g, [r.entry for r in TEMPLATED], TEMPLATED)) == 24


def test_two_attacks_with_one_template_and_a_shared_nationality_are_two_stories() -> None:
    a = report(
        "a", "Toyota confirms cyberattack", "The Japanese automaker Toyota said data was taken."
    )
    b = report(
        "b", "Honda confirms cyberattack", "The Japanese automaker Honda said data was taken."
    )
    assert stories(cycle(grouper(), [a.entry, b.entry], [a, b])) == 2


# -- order never matters ------------------------------------------------------------------


def nio_reports() -> tuple[dict[str, tuple[Entry, ...]], dict[str, Report]]:
    feeds = sample_feeds()
    found = {}
    for name in ("carnewschina", "globalwire"):
        entry = next(e for e in feeds[name] if "2.25" in e.title)
        assert entry.published is not None
        found[name] = Report(name, entry, entry.published.timestamp())
    return feeds, found


@pytest.mark.parametrize("first", ["carnewschina", "globalwire"])
def test_the_nio_reports_are_one_story_in_either_batch_order(first: str) -> None:
    feeds, nio = nio_reports()
    second = "globalwire" if first == "carnewschina" else "carnewschina"
    every = [e for entries in feeds.values() for e in entries]
    decisions = cycle(grouper(), every, [nio[first], nio[second]])
    assert stories(decisions) == 1 and sum(d.joined for d in decisions) == 1
    assert "2.25m" in next(d for d in decisions if d.joined).shared


@pytest.mark.parametrize("first", ["carnewschina", "globalwire"])
def test_the_nio_reports_are_one_story_whichever_arrives_first(first: str) -> None:
    feeds, nio = nio_reports()
    second = "globalwire" if first == "carnewschina" else "carnewschina"
    g = grouper()
    opened = cycle(g, list(feeds[first]), [nio[first]])
    joined = cycle(g, list(feeds[second]), [nio[second]])
    assert not opened[0].joined and joined[0].joined
    assert joined[0].story == first and joined[0].with_key == first


def test_conftest_nio_items_join_in_both_directions() -> None:
    a = report("a", NIO_A.title, NIO_A.summary, "CarNews", T0)
    b = report("b", NIO_B.title, NIO_B.summary, "Wire", T0 + 5 * H)
    for batch in ([a], [b]), ([b], [a]):
        g = grouper()
        g.observe([a.entry, b.entry])
        g.assign(batch[0])
        assert g.assign(batch[1])[0].joined


def test_shuffling_a_batch_changes_no_decision() -> None:
    feeds = sample_feeds()
    batch = [
        report(
            f"{name}{i}", e.title, e.summary, name, e.published.timestamp() if e.published else T0
        )
        for name, entries in feeds.items()
        for i, e in enumerate(entries)
    ] + TEMPLATED
    batch += [
        report("nio-a", NIO_A.title, NIO_A.summary, "X", T0),
        report("nio-b", NIO_B.title, NIO_B.summary, "Y", T0),
    ]
    entries = [r.entry for r in batch]
    expected = {d.key: d for d in cycle(grouper(), entries, batch)}
    assert expected["nio-b"].joined or expected["nio-a"].joined
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(batch)
        rng.shuffle(entries)
        decisions = cycle(grouper(), entries, batch)
        assert [d.key for d in decisions] == [r.key for r in batch]  # in batch order
        assert {d.key: d for d in decisions} == expected


# -- the index ------------------------------------------------------------------------------


def test_reports_outside_the_window_do_not_join_and_expire_forgets() -> None:
    a = report("a", NIO_A.title, NIO_A.summary, "X", T0)
    b = report("b", NIO_B.title, NIO_B.summary, "Y", T0 + 80 * H)
    g = grouper()
    cycle(g, [a.entry], [a])
    assert not cycle(g, [b.entry], [b])[0].joined
    g = grouper()
    cycle(g, [a.entry], [a])
    g.expire(T0 + 73 * H)
    late = report("c", NIO_B.title, NIO_B.summary, "Y", T0 + 2 * H)  # in time, but forgotten
    assert not cycle(g, [late.entry], [late])[0].joined


def test_remembered_reports_keep_their_story_and_moves_are_followed() -> None:
    a = report("a", NIO_A.title, NIO_A.summary, "X", T0)
    b = report("b", NIO_B.title, NIO_B.summary, "Y", T0 + H)
    g = grouper()
    g.warm([a.entry, b.entry], [(a, "story-7")])
    (decision,) = g.assign([b])
    assert decision.joined and decision.story == "story-7" and decision.with_key == "a"
    g.move("a", "story-9")
    g.move("b", "story-9")
    third = report("c", NIO_A.title + " as NIO confirms", NIO_A.summary, "Z", T0 + 2 * H)
    assert cycle(g, [third.entry], [third])[0].story == "story-9"


def test_a_digest_never_opens_a_story() -> None:
    digest = report(
        "d",
        "Week in review: NIO blackmail, LastPass vaults, Okta source code",
        "NIO receives blackmail email demanding $2.25 million in bitcoin. LastPass says "
        "hackers copied vault backups. Okta says its source code was stolen.",
        "Digest",
        T0,
    )
    nio = report("n", NIO_B.title, NIO_B.summary, "Wire", T0 + H)
    assert cycle(grouper(), [digest.entry, nio.entry], [digest, nio]) == [
        Decision("d", "d", False),
        Decision("n", "n", False),
    ]


def test_a_digest_may_follow_a_story_through_one_clause() -> None:
    nio = report("n", NIO_A.title, NIO_A.summary, "CarNews", T0)
    digest = report(
        "d",
        "Weekly recap: NIO receives blackmail email demanding $2.25 million in bitcoin; "
        "LastPass vault backups copied; Okta source code stolen",
        "",
        "Digest",
        T0 + 2 * H,
    )
    decisions = cycle(grouper(), [nio.entry, digest.entry], [nio, digest])
    assert decisions[1].joined and decisions[1].story == "n"


def test_a_title_only_item_is_compared_by_headline() -> None:
    full = report(
        "f",
        "CDK Global outage caused by BlackSuit ransomware attack",
        "Car dealers across the US are still unable to use CDK's dealer management software "
        "a week after the BlackSuit gang hit the company; sales are recorded on paper and "
        "some dealers have moved to spreadsheets while CDK rebuilds its systems.",
        "Register",
        T0,
    )
    bare = report("b", "BlackSuit ransomware behind CDK Global outage", "", "Aggregator", T0 + H)
    assert cycle(grouper(), [full.entry, bare.entry], [full, bare])[1].joined


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # one company, two events: the name alone is no event
        (
            ("NIO receives blackmail email demanding $2.25 million in bitcoin", "CarNews"),
            ("NIO delivered 14,178 vehicles in November", "CarNews"),
        ),
        # a vendor's blog names the vendor in every post
        (
            ("CrowdStrike Named a Leader in the 2025 GigaOm SIEM Radar Report", "CrowdStrike Blog"),
            (
                "CrowdStrike Named a Leader in 2025 Gartner Magic Quadrant for EPP",
                "CrowdStrike Blog",
            ),
        ),
        # one award, two vendors: the headlines' subjects differ
        (
            ("CrowdStrike Named a Leader in 2025 Gartner Magic Quadrant for EPP", "Blog A"),
            ("Microsoft is named a Leader in the 2025 Gartner Magic Quadrant for EPP", "Blog B"),
        ),
    ],
)
def test_related_but_different_events_stay_apart(
    one: tuple[str, str], other: tuple[str, str]
) -> None:
    a, b = report("a", one[0], "", one[1]), report("b", other[0], "", other[1], T0 + H)
    assert stories(cycle(grouper(), [a.entry, b.entry], [a, b])) == 2


def test_two_suppliers_hit_alike_are_two_stories() -> None:
    acme = report(
        "a",
        "Ransomware attack halts production at Acme Brakes plant",
        "Acme Brakes, an auto supplier, said LockBit hit it.",
    )
    globex = report(
        "g",
        "Ransomware attack halts production at Globex Seating plant",
        "Globex Seating said Akira hit its plants.",
        at=T0 + H,
    )
    assert stories(cycle(grouper(), [acme.entry, globex.entry], [acme, globex])) == 2


def test_decisions_explain_themselves() -> None:
    a = report("a", NIO_A.title, NIO_A.summary, "X", T0)
    b = report("b", NIO_B.title, NIO_B.summary, "Y", T0 + H)
    g = grouper()
    assert cycle(g, [a.entry], [a]) == [Decision("a", "a", False)]
    (second,) = cycle(g, [b.entry], [b])
    assert second.key == "b" and second.story == "a" and 0.26 <= second.score <= 1
    assert second.shared[0] in {"2.25m", "NIO"} and "NIO" in second.shared


def test_warm_counts_undated_items_from_the_restart_not_from_later_reports() -> None:
    g = grouper()
    g.expire(T0)  # the restart
    undated = Entry(feed="Wire", key="u", url_key="", link="", title="Zorblax hits Acme")
    later = report("r", "Ford plant halted by a cyber attack", at=T0 + 10 * H)
    g.warm([undated], [(later, "r")])
    assert g.rarity.docs == 1  # the report was not among the counted items
    g.expire(T0 + 72 * H + 1)  # 72 h after the restart: the undated item leaves
    assert g.rarity.docs == 0


def test_warm_is_observing_then_recording_the_reports() -> None:
    entries = [e for feed in sample_feeds().values() for e in feed]
    reports = [
        (report(f"k{i}", e.title, e.summary, e.feed, T0 - H), f"s{i % 7}")
        for i, e in enumerate(entries[::3])
    ]
    warm, by_hand = grouper(), grouper()
    for g in (warm, by_hand):
        g.expire(T0)
    warm.warm(entries, reports)
    by_hand.observe(entries)
    for r, story in reports:
        by_hand._add(r, story)  # what assign records, without deciding
    assert warm.rarity.df == by_hand.rarity.df and warm.rarity.docs == by_hand.rarity.docs
    assert warm._story == by_hand._story
    assert cycle(warm, [r.entry for r in TEMPLATED], TEMPLATED) == cycle(
        by_hand, [r.entry for r in TEMPLATED], TEMPLATED
    )
