"""Pairwise precision and recall of story grouping on real news items.

    python bench/eval_stories.py [--threshold 0.36] [--sweep] [--show-errors]

Labels: bench/eval/stories.jsonl (which items report the same event; see
bench/eval/STORIES.md). Items go through monitor.stories.group, the code the
daemon uses, in published order. Scored over the pairs of items published within
72 hours of each other. Targets (issue 4): precision >= 0.95, recall >= 0.8.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.items import load_items  # noqa: E402
from monitor.stories import THRESHOLD, WINDOW, group  # noqa: E402

ITEMS = REPO.parent / "shared" / "corpus" / "items" / "news-items.jsonl"
LABELS = REPO / "bench" / "eval" / "stories.jsonl"


def evaluate(
    items: list, labels: dict[str, str], threshold: float, exclude: str = ""
) -> dict[str, float]:
    decisions = group(items, threshold=threshold)
    at = {key: when for key, _, when in items}
    tp = fp = fn = 0
    errors: dict[str, list] = {"fp": [], "fn": []}
    keys = [k for k, _, _ in items if not exclude or labels[k] != exclude]
    for a, b in itertools.combinations(keys, 2):
        if abs(at[a] - at[b]) > WINDOW:
            continue
        same = labels[a] == labels[b]
        predicted = decisions[a].story == decisions[b].story
        if same and predicted:
            tp += 1
        elif predicted:
            fp += 1
            errors["fp"].append((a, b))
        elif same:
            fn += 1
            errors["fn"].append((a, b))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {
        "threshold": threshold,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="try thresholds 0.2 … 0.6")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "eval_stories.json"))
    args = parser.parse_args()
    if not ITEMS.is_file():
        print(f"skipped: {ITEMS} not found (the shared corpus is not beside the repo)")
        return 0
    labels = {d["id"]: d["story"] for d in map(json.loads, LABELS.read_text().splitlines())}
    entries = {i.id: i.entry for i in load_items(str(ITEMS))}
    items = [(k, e, e.published.timestamp()) for k, e in entries.items() if e.published]
    thresholds = [round(0.2 + 0.02 * i, 2) for i in range(21)] if args.sweep else [args.threshold]
    results = []
    for threshold in thresholds:
        full = evaluate(items, labels, threshold)
        no_jlr = evaluate(items, labels, threshold, exclude="s-jlr-cyberattack")
        results.append(
            {
                **{k: v for k, v in full.items() if k != "errors"},
                "without_jlr": {k: v for k, v in no_jlr.items() if k != "errors"},
            }
        )
        print(
            f"threshold {threshold:.2f}: precision {full['precision']:.3f} recall "
            f"{full['recall']:.3f} (tp {full['tp']} fp {full['fp']} fn {full['fn']}) · "
            f"without the 16-item JLR story: {no_jlr['precision']:.3f} / {no_jlr['recall']:.3f}"
        )
        if args.show_errors:
            title = {k: e.title[:70] for k, e in entries.items()}
            for kind in ("fp", "fn"):
                print(f"  {kind}:")
                for a, b in full["errors"][kind][:40]:
                    print(f"    {a} {title[a]!r}\n    {b} {title[b]!r}\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "items": len(items),
                "window_hours": WINDOW / 3600,
                "targets": {"precision": 0.95, "recall": 0.8},
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
