"""Pairwise precision and recall of story grouping on real news items, per half.

    python bench/eval_stories.py [--half tune|held|both|all] [--threshold T] [--sweep]
                                 [--show-errors]

Labels: bench/eval/stories.jsonl, split by story into stories-tune.jsonl and
stories-held.jsonl (bench/split_stories.py; see bench/eval/STORIES.md). Tune on the
tuning half only; read the held-out half once, at the end of a change.

Each half is grouped on its own by monitor.stories.group_offline, which feeds the
daemon's Grouper cycle by cycle (one cycle per hour of publication). ``all`` groups
every labelled item together, as this script did before the split (its figures mix
in the held-out half). Scored over the
pairs of items published within 72 hours of each other, as before; also without the
16-item JLR story, which alone holds most of the held-out half's pairs. Cost: CPU
time of the whole grouping (tokenizing, counting, deciding) per item; CPU rather than
wall time, because the machines this runs on are shared.
Aims: precision >= 0.95, recall >= 0.80, cost < 2 ms per item.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.items import load_items  # noqa: E402
from monitor.stories import (  # noqa: E402
    THRESHOLD,
    WINDOW,
    Report,
    group_offline,
    load_background,
)

ITEMS = REPO.parent / "shared" / "corpus" / "items" / "news-items.jsonl"
EVAL = REPO / "bench" / "eval"
BIG = "s-jlr-cyberattack"
AIMS = {"precision": 0.95, "recall": 0.8, "ms_per_item": 2.0}


def labels(half: str) -> dict[str, str]:
    name = "stories.jsonl" if half == "all" else f"stories-{half}.jsonl"
    lines = (EVAL / name).read_text(encoding="utf-8").splitlines()
    return {d["id"]: d["story"] for d in map(json.loads, lines)}


def pairs(
    reports: list[Report], truth: dict[str, str], story: dict[str, str], exclude: str = ""
) -> dict[str, Any]:
    tp = fp = fn = 0
    errors: dict[str, list[tuple[str, str]]] = {"fp": [], "fn": []}
    kept = [r for r in reports if truth[r.key] != exclude]
    for a, b in itertools.combinations(kept, 2):
        if abs(a.at - b.at) > WINDOW:
            continue
        same, predicted = truth[a.key] == truth[b.key], story[a.key] == story[b.key]
        if same and predicted:
            tp += 1
        elif predicted:
            fp += 1
            errors["fp"].append((a.key, b.key))
        elif same:
            fn += 1
            errors["fn"].append((a.key, b.key))
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "errors": errors,
    }


def evaluate(reports: list[Report], truth: dict[str, str], threshold: float) -> dict[str, Any]:
    load_background()  # read once per process, as the daemon does: not a cost per item
    start = time.process_time()
    decisions = group_offline(reports, threshold=threshold)
    ms = (time.process_time() - start) * 1000 / len(reports)
    story = {key: d.story for key, d in decisions.items()}
    result = pairs(reports, truth, story)
    result["without_jlr"] = {
        k: v for k, v in pairs(reports, truth, story, BIG).items() if k != "errors"
    }
    return {"threshold": threshold, "items": len(reports), "ms_per_item": round(ms, 3), **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=["tune", "held", "both", "all"], default="both")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="thresholds 0.16 … 0.40")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "eval_stories.json"))
    args = parser.parse_args()
    if not ITEMS.is_file():
        print(f"skipped: {ITEMS} not found (the shared corpus is not beside the repo)")
        return 0
    entries = {i.id: i.entry for i in load_items(str(ITEMS))}
    halves = ["tune", "held"] if args.half == "both" else [args.half]
    thresholds = [round(0.16 + 0.02 * i, 2) for i in range(13)] if args.sweep else [args.threshold]
    results: dict[str, list[dict[str, Any]]] = {}
    for half in halves:
        truth = labels(half)
        reports = [
            Report(k, entries[k], entries[k].published.timestamp())  # type: ignore[union-attr]
            for k in truth
            if entries[k].published
        ]
        for threshold in thresholds:
            r = evaluate(reports, truth, threshold)
            results.setdefault(half, []).append({k: v for k, v in r.items() if k != "errors"})
            nj = r["without_jlr"]
            print(
                f"{half:4} threshold {threshold:.2f}: precision {r['precision']:.3f} recall "
                f"{r['recall']:.3f} (tp {r['tp']} fp {r['fp']} fn {r['fn']}) · without JLR "
                f"{nj['precision']:.3f} / {nj['recall']:.3f} · {r['ms_per_item']:.2f} CPU ms/item"
            )
            if args.show_errors:
                show(r["errors"], entries)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "window_hours": WINDOW / 3600,
                "aims": AIMS,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


def show(errors: dict[str, list[tuple[str, str]]], entries: dict[str, Any]) -> None:
    for kind in ("fp", "fn"):
        print(f"  {kind}:")
        for a, b in errors[kind][:60]:
            for key in (a, b):
                e = entries[key]
                print(f"    {key} [{e.feed[:20]}] {e.title[:90]!r}")
            print()


if __name__ == "__main__":
    sys.exit(main())
