"""Split the story labels into a tuning half and a held-out half, by story.

    python bench/split_stories.py        # (re)writes bench/eval/stories-{tune,held}.jsonl

Whole stories go to one half, so no same-story pair is split across halves: a
story is in the tuning half when the first byte of the SHA-256 of its id is even.
Deterministic, so anyone can check the split; the two files are the record of it.
Tune only on the tuning half. The held-out half is read once, at the end of a change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

EVAL = Path(__file__).resolve().parent / "eval"
LABELS = EVAL / "stories.jsonl"
HALVES = {"tune": EVAL / "stories-tune.jsonl", "held": EVAL / "stories-held.jsonl"}


def half(story: str) -> str:
    return "tune" if hashlib.sha256(story.encode()).digest()[0] % 2 == 0 else "held"


def main() -> int:
    lines = {name: [] for name in HALVES}
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        lines[half(json.loads(line)["story"])].append(line)
    for name, path in HALVES.items():
        path.write_text("".join(f"{line}\n" for line in lines[name]), encoding="utf-8")
        print(f"{path.name}: {len(lines[name])} items")
    return 0


if __name__ == "__main__":
    sys.exit(main())
