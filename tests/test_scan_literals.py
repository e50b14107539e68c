"""The literal pre-check in front of every regex term: strings one of which every
match must contain, so that a text without any of them skips the search."""

from __future__ import annotations

import random
import re

import pytest

from monitor.rules.scan import required_literal, required_literals


@pytest.mark.parametrize(
    ("pattern", "needed"),
    [
        (r"(?<!agent )\btesla\b", ("tesla",)),
        (r"^Group:\s*[\w.\-]+", ("Group:",)),
        (r"(?:lockbit|blackcat)\b", ("blackcat", "lockbit")),
        (r"(?:nissan|kia)[\w-]*\.(?:com|net)\b", ("nissan", "kia")),
        (r"foo|ba", ("foo", "ba")),
        (r"(?:ab)+cd?", ("ab",)),
        (r"x(?:abc|de)*", ()),  # the group may repeat zero times; "x" is too short
        (r"(?:abc|d)", ()),  # one alternative too short to be worth a check
        (r"\d+ BTC", (" BTC",)),
    ],
)
def test_required_literals(pattern: str, needed: tuple[str, ...]) -> None:
    assert required_literals(pattern) == needed


def test_required_literal_is_the_single_string_or_nothing() -> None:
    assert required_literal(r"\btesla\b") == "tesla"
    assert required_literal(r"(?:lockbit|blackcat)") == ""


PATTERNS = [
    r"(?:lockbit|black ?cat|alphv)\b",
    r"ransom(?:ware|ed)?",
    r"(?:data|file)s? (?:leak|theft)",
    r"(?i)(?:bit|lite)coin",
    r"a(?i:BC)d",
    r"(?:xy|yz)+w(?:uv|t)",
    r"\$\d+(?:\.\d+)? ?(?:million|Mn)\b",
]
WORDS = ["lockbit", "LockBit", "black cat", "blackcat", "alphv", "ransom", "ransomware", "data",
         "files", "leak", "theft", "bitcoin", "LITECOIN", "aBcd", "abcd", "xw", "yzyzwuv", "xwt",
         "$5 million", "$2.25M", "M", " ", "-", "x", "w"]  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_text_without_the_literals_never_matches(pattern: str) -> None:
    """The promise the scanner relies on, checked on random texts."""
    rng = random.Random(pattern)
    needed = required_literals(pattern)
    assert needed, pattern
    compiled = re.compile(pattern)
    ignore = bool(compiled.flags & re.IGNORECASE) or "(?i" in pattern
    for _ in range(3000):
        text = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        hay = text.lower() if ignore else text
        gate = [n.lower() for n in needed] if ignore else needed
        if compiled.search(text):
            assert any(g in hay for g in gate), (pattern, text)
