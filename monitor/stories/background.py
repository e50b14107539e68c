"""The background table: how common each token is in a large sample of real news.

Word rarity starts from this table and is then updated with the items the daemon sees,
so the first poll of a fresh database weighs words as the thousandth does: on an
empty history every word looks rare, and template wording ("confirms ransomware
attack, says customer data was stolen") scores like a shared name.

The table holds numbers only: the number of documents, each token's document count,
and, for words seen often enough in the middle of sentences, the percentage of those
uses that were capitalised (which tells a name from a word that merely opens a
headline; see text.py). Built by ``bench/build_background.py``; see
bench/eval/STORIES.md for what it is built from.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..errors import MonitorError
from .text import TOKENS_VERSION

FILE = "background.json.gz"


@dataclass(frozen=True, slots=True)
class Background:
    docs: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    caps: Mapping[str, int] = field(default_factory=dict)  # token → % capitalised mid-sentence
    version: int = TOKENS_VERSION

    def capitalised(self, token: str) -> float | None:
        """Share of mid-sentence uses written with a capital; None when unknown."""
        pct = self.caps.get(token)
        return None if pct is None else pct / 100

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "docs": self.docs, "df": self.df, "caps": self.caps}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Background:
        return cls(int(data["docs"]), dict(data["df"]), dict(data["caps"]), int(data["version"]))


@cache
def load_background() -> Background:
    """The shipped table (read once per process; it is immutable)."""
    raw = resources.files(__package__).joinpath("data", FILE).read_bytes()
    table = Background.from_json(json.loads(gzip.decompress(raw)))
    if table.version != TOKENS_VERSION:
        # an old table would count tokens the tokenizer no longer makes
        raise MonitorError(
            f"monitor/stories/data/{FILE} counts tokens v{table.version}; the code makes "
            f"v{TOKENS_VERSION}",
            hint="rebuild it: python bench/build_background.py",
        )
    return table
