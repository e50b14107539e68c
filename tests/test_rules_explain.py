"""`Engine.explain`: for every enabled rule, whether it fired and, if not, the branch
that failed or the exception that applied, with the file:line where it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.models import Entry
from monitor.rules import Branch, RuleTrace, example_entry, load_rules
from tests.conftest import AFFORD, NIO_A, NIO_B, RULES, UNION, needs_corpus

RULE = """\
- id: r
  title: R
  severity: high
  match:
{match}
"""


def folder(tmp_path: Path, match: str, files: dict[str, str] | None = None) -> Path:
    """A rules folder with one rule ``r`` (``match`` indented under ``match:``, from
    line 5) and other files by path, e.g. ``{"lists/noise.yaml": "terms: [film]"}``."""
    root = tmp_path / "rules"
    (root / "lists").mkdir(parents=True)
    body = "\n".join("    " + line for line in match.strip("\n").splitlines())
    (root / "r.yaml").write_text(RULE.format(match=body), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def entry(title: str, feed: str = "f", summary: str = "") -> Entry:
    return Entry(feed=feed, key=title, url_key="", link="", title=title, summary=summary)


def trace_of(root: Path, item: Entry, rule: str = "r") -> RuleTrace:
    (found,) = [t for t in load_rules(root).engine.explain(item) if t.rule_id == rule]
    return found


def where(branch: Branch) -> str:
    assert branch.where is not None
    return f"{Path(branch.where.file).name}:{branch.where.line}:{branch.where.col}"


def culprits(trace: RuleTrace) -> list[tuple[str, str, str]]:
    """The branches to blame, depth first, as (kind, label, file:line:col)."""
    out: list[tuple[str, str, str]] = []

    def walk(branch: Branch) -> None:
        for c in branch.culprits():
            out.append((c.kind, c.label, where(c)))
            if not c.ok:
                walk(c)

    walk(trace.condition)
    return out


@pytest.mark.parametrize(
    ("match", "files", "title", "expected"),
    [
        pytest.param(
            "all: [bank, hack*]",
            {},
            "Bank news",
            [("term", "hack*", "r.yaml:5:17")],
            id="all: the child that is false",
        ),
        pytest.param(
            "all: [bank]\nnone: [{list: noise}]",
            {"lists/noise.yaml": "terms:\n  - movie\n  - film\n"},
            "Bank heist film",
            [("none", "none", "r.yaml:6:5"), ("term", "film", "noise.yaml:3:5")],
            id="none: the term present, in its list file",
        ),
        pytest.param(
            "any:\n  - all: [alpha, beta]\n  - gamma",
            {},
            "alpha only",
            [
                ("all", "all", "r.yaml:6:9"),
                ("term", "beta", "r.yaml:6:22"),
                ("term", "gamma", "r.yaml:7:9"),
            ],
            id="any: why each branch failed",
        ),
        pytest.param(
            "all: [bank, {list: cars}]",
            {"lists/cars.yaml": "terms: [Kia]\n"},
            "Bank news",
            [("list", "list cars", "r.yaml:5:18")],
            id="a list that found nothing",
        ),
    ],
)
def test_why_not_names_the_failed_branch(
    tmp_path: Path, match: str, files: dict[str, str], title: str, expected: list[tuple[str, ...]]
) -> None:
    trace = trace_of(folder(tmp_path, match, files), entry(title))
    assert not trace.matched
    assert culprits(trace) == expected


def test_at_least_says_how_many_of_how_many(tmp_path: Path) -> None:
    trace = trace_of(folder(tmp_path, "at_least: 2\nof: [alpha, beta, gamma]"), entry("only beta"))
    cond = trace.condition
    assert (cond.kind, cond.held, len(cond.children), cond.need) == ("at_least", 1, 3, 2)
    assert "1 of 3 hold ('beta' at" in "\n".join(trace.why_not())
    assert "2 needed" in "\n".join(trace.why_not())


def test_why_not_text_gives_file_and_line(tmp_path: Path) -> None:
    noise = {"lists/noise.yaml": "terms:\n  - movie\n  - film\n"}
    root = folder(tmp_path, "all: [bank]\nnone: [{list: noise}]", noise)
    lines = trace_of(root, entry("Bank heist film")).why_not()
    assert lines[0].startswith(f"r (high, {root / 'r.yaml'}:1:3) did not fire")
    assert f"'film' at {root / 'lists' / 'noise.yaml'}:3:5, found 'film' in title" in lines[-1]


@pytest.mark.parametrize(
    ("exceptions", "item", "expected"),
    [
        ("feeds: [Noisy]\n", entry("Bank hacked", feed="Noisy"), "feed 'Noisy' at {}:1:9"),
        ("terms:\n  - webinar\n", entry("Bank hacked webinar"), "'webinar' at {}:2:5, found"),
    ],
)
def test_an_exception_is_named(tmp_path: Path, exceptions: str, item: Entry, expected: str) -> None:
    root = folder(tmp_path, "all: [bank, hack*]", {"exceptions.yaml": exceptions})
    engine = load_rules(root).engine
    (trace,) = engine.explain(item)
    assert engine.match(item) == []
    assert trace.condition.ok and not trace.matched and trace.excepted_by is not None
    text = "\n".join(trace.why_not())
    assert "excepted by exceptions.yaml: " + expected.format(root / "exceptions.yaml") in text


def test_every_enabled_rule_is_explained_most_severe_first(tmp_path: Path) -> None:
    root = folder(tmp_path, "any: [bank]")
    rules = [("b", "low", "true"), ("a", "low", "true"), ("c", "critical", "true")]
    rules.append(("disabled", "critical", "false"))
    (root / "more.yaml").write_text(
        "".join(
            f"- {{id: {rid}, title: T, severity: {sev}, enabled: {on}, match: {{any: [x]}}}}\n"
            for rid, sev, on in rules
        )
    )
    traces = load_rules(root).engine.explain(entry("bank"))
    assert [(t.rule_id, t.matched) for t in traces] == [
        ("c", False),
        ("r", True),
        ("a", False),
        ("b", False),
    ]
    assert traces[1].why_not() == []


def test_why_a_nio_story_did_not_alert_critical(tmp_path: Path) -> None:
    """The question of the issue, answered with the list file and line of the term."""
    lists = {
        "lists/automakers.yaml": "terms: [NIO, Toyota]\n",
        "lists/extortion.yaml": "terms: [ransomware*, blackmail*]\n",
        "lists/not-incident.yaml": "terms:\n  - takedown\n  - arrest*\n",
    }
    match = "all: [{list: automakers}, {list: extortion}]\nnone: [{list: not-incident}]"
    root = folder(tmp_path, match, lists)
    item = entry("Police arrest man who sent NIO a blackmail email")
    text = "\n".join(trace_of(root, item).why_not())
    assert f"'arrest*' at {root / 'lists' / 'not-incident.yaml'}:3:5, found 'arrest' in title" in (
        text
    )


def test_inherited_list_terms_point_at_the_list_that_has_them(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        "any: [{list: all-cars}]",
        {"lists/cars.yaml": "terms:\n  - Kia\n", "lists/all-cars.yaml": "extends: [cars]\n"},
    )
    trace = trace_of(root, entry("Kia recall"))
    (kia,) = list(trace.condition.present())
    assert where(kia) == "cars.yaml:2:5"


def explained_ids(engine, item: Entry) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.rule_id for t in engine.explain(item) if t.matched}


def test_explain_agrees_with_match_on_the_shipped_examples() -> None:
    ruleset = load_rules(RULES)
    items = [example_entry(x.title) for x in (NIO_A, NIO_B, UNION, AFFORD)]
    for rule in ruleset.rules:
        items += [example_entry(x, i) for i, x in enumerate(rule.tests.match + rule.tests.no_match)]
    for item in items:
        matched = {m.rule_id for m in ruleset.engine.match(item)}
        assert explained_ids(ruleset.engine, item) == matched, item.title


@needs_corpus
@pytest.mark.slow  # a fifth of the corpus, every rule traced: ~20 s (CI)
def test_explain_agrees_with_match_on_real_items() -> None:
    from monitor.feeds.items import load_items
    from tests.conftest import CORPUS

    engine = load_rules(RULES).engine
    for n, item in enumerate(load_items(str(CORPUS / "items" / "news-items.jsonl"))):
        if n % 5 == 0:  # a fifth is plenty, and keeps this quick
            expected = {m.rule_id for m in engine.match(item.entry)}
            assert explained_ids(engine, item.entry) == expected, item.id


@pytest.mark.parametrize(
    ("title", "why"),
    [
        ("data everywhere", "'stolen' not found"),
        ("stolen car; much later, in another story, data", "not within 3 words of each other"),
    ],
)
def test_why_a_near_term_failed(tmp_path: Path, title: str, why: str) -> None:
    root = folder(tmp_path, "any: [{near: [stolen, data], within: 3}]")
    text = "\n".join(trace_of(root, entry(title)).why_not())
    assert f"✗ `near [stolen, data] within 3` at {root / 'r.yaml'}:5:11: {why}" in text, text
