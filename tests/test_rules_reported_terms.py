"""The terms a match reports are the ones that made the rule fire: hits of branches
that held (not of a failed branch, nothing under `none`), a hit inside a longer hit
dropped, each term once whatever its case, longest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.models import Entry
from monitor.rules import load_rules


def engine_for(tmp_path: Path, condition: dict[str, Any]):  # type: ignore[no-untyped-def]
    folder = tmp_path / "rules"
    folder.mkdir()
    rule = {"id": "r", "title": "R", "severity": "high", "match": condition}
    (folder / "r.yaml").write_text(yaml.safe_dump([rule]), encoding="utf-8")
    return load_rules(folder).engine


def entry(title: str, summary: str = "") -> Entry:
    return Entry(feed="f", key=title, url_key="", link="", title=title, summary=summary)


@pytest.mark.parametrize(
    ("condition", "title", "terms"),
    [
        pytest.param(
            {"any": ["hit", "hit by"]},
            "Carmaker hit by ransomware",
            ["hit by"],
            id="a hit inside a longer hit is dropped",
        ),
        pytest.param(
            {"any": ["ransom*", "ransomware attack"]},
            "Ransomware attack on a port",
            ["Ransomware attack"],
            id="a prefix hit inside a phrase hit is dropped",
        ),
        pytest.param(
            {"any": ["data theft", "theft ring"]},
            "data theft ring busted",
            ["data theft", "theft ring"],
            id="overlapping but not inside: both stay",
        ),
        pytest.param(
            {"all": ["bank"], "any": [{"all": ["alpha", "beta"]}, "gamma"]},
            "bank alpha gamma",
            ["gamma", "bank"],
            id="not the terms of a branch that failed",
        ),
        pytest.param(
            {"all": ["bank", {"any": ["heist", {"all": ["robbery"], "none": ["film"]}]}]},
            "bank heist film robbery",
            ["heist", "bank"],
            id="not the terms of a branch suppressed by none, nor the none term",
        ),
        pytest.param(
            {"at_least": 2, "of": ["alpha", "beta", {"all": ["gamma", "delta"]}]},
            "alpha beta gamma",
            ["alpha", "beta"],
            id="at_least: only the children that hold",
        ),
        pytest.param(
            {"any": ["ransomware"]},
            "Ransomware: the ransomware wave, RANSOMWARE",
            ["Ransomware"],
            id="once whatever the case",
        ),
        pytest.param(
            {"all": ["nio", "data theft"]},
            "Nio reports data theft",
            ["data theft", "Nio"],
            id="longest first",
        ),
        pytest.param(
            {"any": [{"near": ["ransom*", "bitcoin"], "within": 3}, "blackmail"]},
            "NIO receives blackmail email demanding $2.25 million in bitcoin",
            ["blackmail"],
            id="a near term that did not hold reports neither of its words",
        ),
    ],
)
def test_reported_terms(tmp_path: Path, condition: dict[str, Any], title: str, terms: list[str]):  # type: ignore[no-untyped-def]
    (match,) = engine_for(tmp_path, condition).match(entry(title))
    assert match.terms == terms


@pytest.mark.parametrize(
    ("condition", "title", "summary", "hits"),
    [
        pytest.param(
            {"any": [{"near": ["stolen", "data"], "within": 2}]},
            "data was stolen; later, more data",
            "",
            [("title", "stolen"), ("title", "data")],
            id="near: only the two hits close together",
        ),
        pytest.param(
            {"all": ["toyota", {"any": ["group"], "fields": ["summary"]}]},
            "Toyota group results",
            "Group: play",
            [("title", "Toyota"), ("summary", "Group")],
            id="fields: only where the condition looks",
        ),
        pytest.param(
            {"any": ["ransomware"]},
            "Ransomware wave",
            "more ransomware",
            [("title", "Ransomware"), ("summary", "ransomware")],
            id="every place is kept for highlighting; longest, then field order",
        ),
    ],
)
def test_reported_hits(  # type: ignore[no-untyped-def]
    tmp_path: Path, condition: dict[str, Any], title: str, summary: str, hits: list[tuple[str, str]]
):
    (match,) = engine_for(tmp_path, condition).match(entry(title, summary))
    assert [(h.field, h.text) for h in match.hits] == hits
