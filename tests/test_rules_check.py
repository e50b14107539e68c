"""`monitor rules check`: every problem as file:line:col with a hint, exit 1."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.errors import RuleError
from monitor.rules import load_rules, rule_files
from tests.conftest import RULES

GOOD = """\
- id: ransom
  title: Ransomware
  severity: medium
  match:
    any: [ransomware]
"""


def folder_with(
    tmp_path: Path, text: str, name: str = "r.yaml", lists: dict[str, str] | None = None
) -> Path:
    folder = tmp_path / "rules"
    (folder / "lists").mkdir(parents=True)
    (folder / name).write_text(text, encoding="utf-8")
    for list_name, body in (lists or {}).items():
        (folder / "lists" / f"{list_name}.yaml").write_text(body, encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_rules(folder)
    return [str(p) for p in info.value.problems if p.level == "error"]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (GOOD.replace("  match:", "  mtach:"), ":4:3:", "unknown key 'mtach'"),
        (
            GOOD.replace("any: [ransomware]", "any: [{list: carz}]"),
            ":5:12:",
            "undefined list 'carz'",
        ),
        (
            GOOD.replace("any: [ransomware]", "any: [{regex: 'a(b'}]"),
            ":5:11:",
            "bad regular expression",
        ),
        (GOOD.replace("any: [ransomware]", "any: []"), ":4:3:", "`any` is empty"),
        (GOOD.replace("severity: medium", "severity: urgent"), ":3:3:", "severity"),
        (
            GOOD.replace("    any: [ransomware]", "    none: [ransomware]"),
            ":4:3:",
            "none of its terms",
        ),
        (GOOD.replace("any: [ransomware]", "any: ['$$$']"), ":5:11:", "can never match"),
        (GOOD + GOOD, ":6:3:", "duplicate rule id 'ransom'"),
        (
            GOOD.replace("  title: Ransomware\n", "  title: Ransomware\n  title: Again\n"),
            ":3:3:",
            "given twice",
        ),
        ("- id: x\n  title: [unclosed\n", ":3:1:", "YAML syntax"),
        (GOOD + "  tests:\n    match: [Phishing kit sold]\n", ":7:13:", "example does not match"),
        (GOOD + "  tests:\n    no_match: [Ransomware at a port]\n", ":7:16:", "example matches"),
    ],
)
def test_error_names_file_line_and_col(tmp_path: Path, text: str, where: str, message: str) -> None:
    found = problems(folder_with(tmp_path, text))
    assert any(where in p and message in p for p in found), found


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    found = problems(folder_with(tmp_path, GOOD.replace("severity:", "severty:")))
    assert any(
        "r.yaml:3:3: error: unknown key 'severty' (hint: did you mean 'severity'?)" in p
        for p in found
    ), found


def test_list_cycle_is_reported(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path, GOOD, lists={"a": "extends: [b]\nterms: [x]\n", "b": "extends: [a]\nterms: [y]\n"}
    )
    assert any("cycle" in p for p in problems(folder))


def test_warnings_for_shadowed_and_short_terms(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, GOOD.replace("[ransomware]", "[ransom*, ransomware, ab*]"))
    warnings = [str(p) for p in load_rules(folder).problems]
    assert any("already covered by 'ransom*'" in w for w in warnings)
    assert any("very short" in w for w in warnings)


def test_shipped_rules_load_with_passing_examples() -> None:
    ruleset = load_rules(RULES)
    assert len(ruleset.rules) >= 6
    assert sum(len(r.tests.match) for r in ruleset.rules) >= 10
    assert [p for p in ruleset.problems if p.level == "error"] == []


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["rules", "check", "--rules", str(RULES)])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        main,
        ["rules", "check", "--rules", str(folder_with(tmp_path, GOOD.replace("match:", "mtach:")))],
    )
    assert bad.exit_code == 1
    assert "r.yaml:4:3: error: unknown key 'mtach'" in bad.output


def test_schema_file_is_current() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["rules", "schema"])
    assert result.exit_code == 0
    assert result.output == (RULES / "schema.json").read_text(), (
        "rules/schema.json is stale: run `monitor rules schema --output rules/schema.json`"
    )


def test_shipped_rule_files_point_editors_at_the_schema() -> None:
    for path in rule_files(RULES):  # not aliases/: the rule schema does not describe them
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=")[1]).resolve()
        assert target == (RULES / "schema.json").resolve(), path


@pytest.mark.parametrize(
    ("regex", "warned"),
    [
        (r"(?:CVE|GHSA)-\d+", True),
        (r"\w+-\d{4}", True),
        (r"(?:LockBit|LockDown) ?3", False),  # the parser takes out the common "Lock"
        (r"CVE-\d{4}-\d+", False),
    ],
)
def test_warning_for_a_regex_without_a_literal(tmp_path: Path, regex: str, warned: bool) -> None:
    text = GOOD.replace("any: [ransomware]", f"any: [ransomware, {{regex: '{regex}'}}]")
    warnings = [str(p) for p in load_rules(folder_with(tmp_path, text)).problems]
    found = [w for w in warnings if "no fixed text" in w]
    assert bool(found) is warned, warnings
    if warned:
        assert ":5:23: warning: regular expression" in found[0]
        assert "literal prefix" in found[0] and "word terms" in found[0]
