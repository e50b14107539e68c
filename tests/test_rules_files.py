"""Which files of a rules folder are read as what; `signature` for live reload."""

from __future__ import annotations

from pathlib import Path

from monitor.rules import load_rules, rule_files, signature

RULE = "- id: r\n  title: R\n  severity: high\n  match:\n    any: [{list: cars}]\n"
# not a rule, not a list: loading this as either would be an error
ALIASES = "Nio:\n  - NIO Inc.\n  - 蔚来\nVolkswagen: [VW, Volkswagen AG]\n"


def make_folder(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    for sub in ("lists", "aliases"):
        (root / sub).mkdir(parents=True)
    (root / "r.yaml").write_text(RULE, encoding="utf-8")
    (root / "lists" / "cars.yaml").write_text("terms: [Kia]\n", encoding="utf-8")
    (root / "aliases" / "companies.yaml").write_text(ALIASES, encoding="utf-8")
    return root


def test_alias_tables_are_not_loaded_as_rules(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    ruleset = load_rules(root)
    assert [r.id for r in ruleset.rules] == ["r"]
    assert set(ruleset.lists) == {"cars"}
    assert rule_files(root) == [root / "lists" / "cars.yaml", root / "r.yaml"]


def test_only_the_top_aliases_folder_is_skipped(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    (root / "more" / "aliases").mkdir(parents=True)
    (root / "more" / "aliases" / "x.yaml").write_text(RULE.replace("id: r", "id: x"))
    assert {r.id for r in load_rules(root).rules} == {"r", "x"}


def test_signature_notices_an_alias_edit(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    before = signature(root)
    assert signature(root) == before
    (root / "aliases" / "companies.yaml").write_text(ALIASES + "Toyota: [TMC]\n")
    assert signature(root) != before


def test_signature_notices_a_new_rule_file(tmp_path: Path) -> None:
    root = make_folder(tmp_path)
    before = signature(root)
    (root / "more.yaml").write_text(RULE.replace("id: r", "id: more"))
    assert signature(root) != before
