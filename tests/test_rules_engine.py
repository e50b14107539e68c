"""Matching semantics, with the shipped rules and with small rule folders."""

from pathlib import Path

import pytest
import yaml

from monitor.models import Entry
from monitor.rules import load_rules
from tests.conftest import AFFORD, NIO_A, NIO_B, RULES, UNION, Item


def entry(title: str, summary: str = "", feed: str = "f", **kw: str) -> Entry:
    return Entry(
        feed=feed,
        key=title,
        url_key="",
        link=kw.get("link", ""),
        title=title,
        summary=summary,
        content=kw.get("content", ""),
        author=kw.get("author", ""),
    )


def from_item(item: Item, feed: str = "f") -> Entry:
    return entry(item.title, item.summary, feed)


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_rules(RULES).engine


def rule_ids(engine, e: Entry) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.rule_id for m in engine.match(e)]


def test_both_nio_reports_match_the_highest_severity_rule(shipped) -> None:  # type: ignore[no-untyped-def]
    for item in (NIO_A, NIO_B):
        top = shipped.match(from_item(item))[0]
        assert top.rule_id == "auto-extortion"
        assert top.severity.label == "critical"
        terms = {t.lower() for t in top.terms}
        assert "nio" in terms and terms & {"blackmail", "extortion"}, terms
        assert "bitcoin" not in terms  # its branch (near ransom*) did not fire


def test_senior_union_opinion_is_not_nio(shipped) -> None:  # type: ignore[no-untyped-def]
    matches = shipped.match(from_item(UNION))
    assert all("nio" not in [t.lower() for t in m.terms] for m in matches)
    assert "auto-industry-news" not in rule_ids(shipped, from_item(UNION))


def test_afford_oxford_bradford_are_not_ford(shipped) -> None:  # type: ignore[no-untyped-def]
    assert rule_ids(shipped, from_item(AFFORD)) == []
    assert "auto-industry-news" in rule_ids(shipped, entry("Ford recalls 500,000 SUVs"))


def test_agent_tesla_is_malware_not_the_carmaker(shipped) -> None:  # type: ignore[no-untyped-def]
    ids = rule_ids(shipped, entry("Agent Tesla infostealer spreads via fake invoices"))
    assert "auto-data-theft" not in ids and "auto-industry-news" not in ids
    assert "auto-data-theft" in rule_ids(shipped, entry("Tesla data breach exposes employees"))


def test_chinese_report_matches(shipped) -> None:  # type: ignore[no-untyped-def]
    assert rule_ids(shipped, entry("蔚来汽车遭黑客勒索225万美元比特币"))[0] == "auto-extortion"


def write_rules(
    tmp_path: Path,
    rules: list[dict],
    lists: dict[str, list] | None = None,
    exceptions: dict | None = None,
) -> Path:
    folder = tmp_path / "rules"
    (folder / "lists").mkdir(parents=True)
    (folder / "r.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    for name, terms in (lists or {}).items():
        (folder / "lists" / f"{name}.yaml").write_text(yaml.safe_dump({"terms": terms}))
    if exceptions is not None:
        (folder / "exceptions.yaml").write_text(yaml.safe_dump(exceptions))
    return folder


def one(condition: dict, **extra: object) -> list[dict]:
    return [{"id": "r", "title": "R", "severity": "high", "match": condition, **extra}]


@pytest.mark.parametrize(
    ("condition", "text", "expected"),
    [
        ({"any": ["data theft"]}, "Massive data-theft at bank", True),
        ({"any": ["data theft"]}, "data\ntheft reported", True),
        ({"any": ["data theft"]}, "data about theft", False),
        ({"any": ["ransom*"]}, "Ransomware gangs", True),
        ({"any": ["ransom*"]}, "transom window", False),
        ({"any": ["data leak*"]}, "data leaked online", True),
        ({"any": [{"case": "SEAT"}]}, "SEAT hit by attack", True),
        ({"any": [{"case": "SEAT"}]}, "take a seat", False),
        ({"any": [{"regex": r"CVE-\d{4}-\d{4,}"}]}, "Patch for cve-2024-12345 out", True),
        (
            {"any": [{"regex": r"CVE-\d{4}-\d{4,}", "case_sensitive": True}]},
            "cve-2024-12345",
            False,
        ),
        ({"any": [{"near": ["stolen", "data"], "within": 3}]}, "data was stolen", True),
        (
            {"any": [{"near": ["stolen", "data"], "within": 3}]},
            "stolen car, and later some data",
            False,
        ),
        ({"any": ["勒索"]}, "蔚来遭勒索", True),
        ({"any": ["数据泄露"]}, "某公司数据泄露事件", True),
        ({"all": ["bank", "hack*"], "none": ["movie"]}, "Bank hacked", True),
        ({"all": ["bank", "hack*"], "none": ["movie"]}, "Bank hacked in movie plot", False),
        ({"at_least": 2, "of": ["alpha", "beta", "gamma"]}, "alpha and gamma", True),
        ({"at_least": 2, "of": ["alpha", "beta", "gamma"]}, "only beta", False),
        ({"any": ["Mercedes-Benz"]}, "Mercedes Benz recall", True),
        ({"any": ["NIO"]}, "NIO's statement", True),
        ({"any": ["NIO"]}, "union opinion senior", False),
        ({"any": ["Ford"]}, "They cannot afford it", False),
        ({"any": [{"list": "cars"}]}, "Kia and Hyundai", True),
        ({"all": [{"any": ["x1"]}, {"none": ["y1"]}]}, "x1 here", True),
    ],
)
def test_term_semantics(tmp_path: Path, condition: dict, text: str, expected: bool) -> None:
    engine = load_rules(write_rules(tmp_path, one(condition), {"cars": ["Kia", "Volvo"]})).engine
    assert bool(engine.match(entry(text))) is expected


def test_fields_limit_where_terms_are_looked_for(tmp_path: Path) -> None:
    rules = one({"any": ["ransomware"]}, fields=["title"])
    engine = load_rules(write_rules(tmp_path, rules)).engine
    assert engine.match(entry("Ransomware at a port"))
    assert not engine.match(entry("Port news", summary="ransomware suspected"))


def test_match_reports_terms_and_where(tmp_path: Path) -> None:
    engine = load_rules(write_rules(tmp_path, one({"all": ["bank", "hack*"]}))).engine
    (m,) = engine.match(entry("Bank says", summary="it was hacked"))
    assert m.terms == ["hacked", "Bank"]  # longest first
    assert [(h.field, h.text) for h in m.hits] == [("summary", "hacked"), ("title", "Bank")]


def test_explain_shows_the_branch_that_matched(tmp_path: Path) -> None:
    cond = {"all": [{"any": ["bank", "lender"]}, {"any": ["hack*"]}], "none": ["movie"]}
    engine = load_rules(write_rules(tmp_path, one(cond))).engine
    (m,) = engine.match(entry("Lender hacked"), explain=True)
    text = "\n".join(m.explain)
    assert "✓ any: Lender" in text and "✓ none" in text


def test_exceptions_block_feeds_and_terms(tmp_path: Path) -> None:
    folder = write_rules(
        tmp_path,
        one({"any": ["ransomware"]}),
        exceptions={"feeds": ["Noisy"], "terms": ["webinar"]},
    )
    engine = load_rules(folder).engine
    assert engine.match(entry("Ransomware report"))
    assert not engine.match(entry("Ransomware report", feed="Noisy"))
    assert not engine.match(entry("Ransomware webinar on Tuesday"))


def test_list_extends(tmp_path: Path) -> None:
    folder = write_rules(tmp_path, one({"any": [{"list": "all-cars"}]}), {"cars": ["Kia"]})
    (folder / "lists" / "all-cars.yaml").write_text("extends: [cars]\nterms: [Volvo]\n")
    engine = load_rules(folder).engine
    assert engine.match(entry("Kia news")) and engine.match(entry("Volvo news"))


def test_only_rules_with_a_hit_are_evaluated(tmp_path: Path) -> None:
    rules = [
        {
            "id": f"r{i}",
            "title": "t",
            "severity": "medium",
            "match": {"all": [f"word{i}", "common"]},
        }
        for i in range(200)
    ]
    engine = load_rules(write_rules(tmp_path, rules)).engine
    assert [m.rule_id for m in engine.match(entry("word7 common"))] == ["r7"]


def test_a_condition_can_narrow_its_fields(tmp_path: Path) -> None:
    cond = {"all": ["toyota", {"any": ["group", "leak site"], "fields": ["summary", "feed"]}]}
    engine = load_rules(write_rules(tmp_path, one(cond))).engine
    assert engine.match(entry("Toyota Brazil", summary="Group: play"))
    assert engine.match(entry("Toyota Brazil", feed="Ransomware leak-site posts"))
    assert not engine.match(entry("Toyota group results"))  # "group" only in the title
    (m,) = engine.match(entry("Toyota Brazil", summary="Group: play"))
    assert [(h.field, h.text) for h in m.hits] == [("title", "Toyota"), ("summary", "Group")]


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"CVE-\d{4}-\d+", "CVE-"),
        (r"\bLockBit ?3\.0\b", "LockBit"),
        (r"(?:foo|bar)baz", "baz"),
        (r"a|bcd", ""),  # an alternation at the top: nothing is required
        (r"x?", ""),
    ],
)
def test_regex_gate_literal(pattern: str, literal: str) -> None:
    from monitor.rules.scan import required_literal

    assert required_literal(pattern) == literal


def test_regex_gate_never_hides_a_match(tmp_path: Path) -> None:
    rules = one({"any": [{"regex": r"cve-\d{4}-\d+"}, {"regex": r"lock(bit|down) ?3"}]})
    engine = load_rules(write_rules(tmp_path, rules)).engine
    assert engine.match(entry("Exploit for CVE-2024-1234 released"))
    assert engine.match(entry("LOCKBIT 3 claims attack"))
    assert not engine.match(entry("cve without number"))
