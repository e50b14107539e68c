"""Rule conditions compile to a tree of small typed nodes over atom ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.rules import load_rules
from monitor.rules.tree import (
    AllOf,
    AnyOf,
    AtLeast,
    InFields,
    Near,
    Node,
    NoneOf,
    Term,
    can_match_empty,
    positive_atoms,
)


def compiled(tmp_path: Path, condition: dict[str, Any]) -> Node:
    folder = tmp_path / "rules"
    (folder / "lists").mkdir(parents=True)
    (folder / "lists" / "cars.yaml").write_text("terms: [Kia, Volvo]\n")
    rule = {"id": "r", "title": "R", "severity": "high", "match": condition}
    (folder / "r.yaml").write_text(yaml.safe_dump([rule]))
    (only,) = load_rules(folder, run_examples=False).engine.rules
    return only.condition


# atom ids follow first use; where a node was written does not count for equality
@pytest.mark.parametrize(
    ("condition", "tree"),
    [
        ({"any": ["a", "b"]}, AnyOf((Term(0), Term(1)))),
        ({"all": ["a", "b"]}, AllOf((Term(0), Term(1)))),
        (
            {"all": ["a"], "none": ["b", "a"]},
            AllOf((AllOf((Term(0),)), NoneOf((Term(1), Term(0))))),
        ),
        ({"at_least": 2, "of": ["a", "b", "c"]}, AtLeast(2, (Term(0), Term(1), Term(2)))),
        ({"any": [{"near": ["a", "b"], "within": 3}]}, AnyOf((Near(0, 1, 3),))),
        ({"any": ["a"], "fields": ["title"]}, InFields(("title",), AnyOf((Term(0),)))),
        ({"any": [{"list": "cars"}, "a"]}, AnyOf((AnyOf((Term(0), Term(1))), Term(2)))),
    ],
)
def test_condition_shapes(tmp_path: Path, condition: dict[str, Any], tree: Node) -> None:
    assert compiled(tmp_path, condition) == tree


def test_any_tests_its_plain_terms_as_one_set() -> None:
    node = AnyOf((Term(4), Near(1, 2, 5), Term(7)))
    assert node.terms == frozenset({4, 7})
    assert node.others == (Near(1, 2, 5),)


@pytest.mark.parametrize(
    ("node", "positive", "empty"),
    [
        (AllOf((Term(0), NoneOf((Term(1),)))), {0}, False),
        (NoneOf((Term(1),)), set(), True),
        (AtLeast(1, (NoneOf((Term(1),)), Term(2))), {2}, True),
        (InFields(("title",), Near(3, 4, 2)), {3, 4}, False),
    ],
)
def test_tree_helpers(node: Node, positive: set[int], empty: bool) -> None:
    assert positive_atoms(node) == positive
    assert can_match_empty(node) is empty
