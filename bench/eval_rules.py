"""Precision and recall of the default rule pack on real news items labelled by reading.

    python bench/eval_rules.py [--set tuning|holdout|both] [--rules rules]
                               [--holdout bench/eval/holdout.jsonl] [--show-misses]
                               [--show-holdout-misses] [--skip-examples]
                               [--out bench/results/eval_rules.json]

Two labelled sets (definitions of the labels in bench/eval/LABELS.md):

* tuning: the 1,139 items of the shared corpus (news-items.jsonl) with their labels in
  bench/eval/labels.jsonl, line for line. The rules were tuned on this set.
* holdout: bench/eval/holdout.jsonl, items and labels in one JSON object per line
  (id, source, title, summary, link, published, lang, incident, automotive, crypto,
  ransom, data_theft, note). Collected separately and never used for tuning, so its
  figures are the honest ones. Skipped when the file is absent.

By default both sets are reported side by side (only the tuning set when there is no
holdout file). --show-misses lists the errors on the tuning set only; the holdout's
errors need --show-holdout-misses, since tuning on them spends the holdout.

Targets: recall >= 0.95 of the security incidents at automakers and
suppliers alerting at medium or above; precision >= 0.92 of high and critical alerts
(an alert is right when the item is an incident AND automotive); at most 8% of the items
that are not incidents alerting at medium or above.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.items import Item, load_items  # noqa: E402
from monitor.models import Severity  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.rules.loader import RuleSet  # noqa: E402

ITEMS = REPO.parent / "shared" / "corpus" / "items" / "news-items.jsonl"
LABELS = REPO / "bench" / "eval" / "labels.jsonl"
HOLDOUT = REPO / "bench" / "eval" / "holdout.jsonl"
LABEL_KEYS = ("incident", "automotive", "crypto", "ransom", "data_theft")
THEMES = ("ransom", "crypto", "data_theft", "automotive")
TAG = {
    "ransom": "ransom",
    "crypto": "crypto",
    "data_theft": "data-theft",
    "automotive": "automotive",
}
TARGETS = (
    # (result key, comparison, bound)
    ("auto_incident_recall_medium_plus", ">=", 0.95),
    ("high_critical_precision", ">=", 0.92),
    ("non_incident_alert_rate", "<=", 0.08),
)


def ratio(a: int, b: int) -> float:
    return round(a / b, 3) if b else 1.0


# -- the two sets -----------------------------------------------------------------


def tuning_set() -> Iterator[tuple[Item, dict[str, Any]]]:
    """The corpus items with the labels of labels.jsonl (same order, same ids)."""
    labels = {d["id"]: d for d in map(json.loads, LABELS.read_text().splitlines()) if d}
    for item in load_items(str(ITEMS)):
        yield item, labels[item.id]


def holdout_set(path: Path) -> Iterator[tuple[Item, dict[str, Any]]]:
    """Items and labels from one file; the item fields go through the same loader."""
    items = {item.id: item for item in load_items(str(path))}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        missing = [k for k in ("id", *LABEL_KEYS) if k not in data]
        if missing:
            raise SystemExit(f"{path}:{number}: missing key(s) {', '.join(missing)}")
        label = {k: bool(data[k]) for k in LABEL_KEYS}
        label.update({k: data[k] for k in ("id", "note", "lang") if k in data})
        yield items[str(data["id"])], label


# -- scoring ----------------------------------------------------------------------


def score(ruleset: RuleSet, labelled: Iterable[tuple[Item, dict[str, Any]]]) -> dict[str, Any]:
    tags = {r.id: set(r.tags) for r in ruleset.rules}
    rows = []
    for item, label in labelled:
        matches = ruleset.engine.match(item.entry)
        rows.append(
            {
                "id": item.id,
                "label": label,
                "top": max((m.severity for m in matches), default=None),
                "title": item.entry.title,
                "rules": [m.rule_id for m in matches],
                "themes": {t for m in matches for t in THEMES if TAG[t] in tags[m.rule_id]},
            }
        )

    def alerts(r: dict[str, Any], at: Severity = Severity.MEDIUM) -> bool:
        return r["top"] is not None and r["top"] >= at

    def auto_incident(r: dict[str, Any]) -> bool:
        return bool(r["label"]["incident"] and r["label"]["automotive"])

    auto_incidents = [r for r in rows if auto_incident(r)]
    high = [r for r in rows if alerts(r, Severity.HIGH)]
    non_incidents = [r for r in rows if not r["label"]["incident"]]
    incidents = [r for r in rows if r["label"]["incident"]]
    result: dict[str, Any] = {
        "items": len(rows),
        "auto_incidents": len(auto_incidents),
        "auto_incident_recall_medium_plus": ratio(
            sum(alerts(r) for r in auto_incidents), len(auto_incidents)
        ),
        "high_critical_alerts": len(high),
        "high_critical_precision": ratio(sum(auto_incident(r) for r in high), len(high)),
        "high_critical_incident_precision": ratio(
            sum(bool(r["label"]["incident"]) for r in high), len(high)
        ),
        "non_incidents": len(non_incidents),
        "non_incident_alert_rate": ratio(sum(alerts(r) for r in non_incidents), len(non_incidents)),
        "incidents": len(incidents),
        "incident_recall_medium_plus": ratio(sum(alerts(r) for r in incidents), len(incidents)),
        "themes": {},
    }
    for theme in THEMES:
        tp = sum(1 for r in rows if theme in r["themes"] and r["label"][theme])
        fp = sum(1 for r in rows if theme in r["themes"] and not r["label"][theme])
        fn = sum(1 for r in rows if theme not in r["themes"] and r["label"][theme])
        result["themes"][theme] = {
            "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    result["targets"] = {
        f"{key} {op} {bound:.2f}": (result[key] >= bound if op == ">=" else result[key] <= bound)
        for key, op, bound in TARGETS
    }
    result["misses"] = {
        "missed automotive incidents (below medium)": [
            (r["id"], r["rules"][:3], r["title"]) for r in auto_incidents if not alerts(r)
        ],
        "high/critical alerts that are not automotive incidents": [
            (r["id"], r["rules"][:3], r["title"]) for r in high if not auto_incident(r)
        ],
        "non-incidents alerting (medium+)": [
            (r["id"], r["rules"][:2], r["title"]) for r in non_incidents if alerts(r)
        ],
    }
    return result


# -- report -----------------------------------------------------------------------

LINES = (
    ("auto-incident recall, medium+", "auto_incident_recall_medium_plus", "auto_incidents"),
    ("high/critical precision (auto incident)", "high_critical_precision", "high_critical_alerts"),
    (
        "  of which are any incident",
        "high_critical_incident_precision",
        "high_critical_alerts",
    ),
    ("non-incidents alerting, medium+", "non_incident_alert_rate", "non_incidents"),
    ("all incidents alerting, medium+", "incident_recall_medium_plus", "incidents"),
)


def report(results: dict[str, dict[str, Any]], show_misses: set[str]) -> None:
    names = list(results)
    width = 26
    print(f"  {'':40}" + "".join(f"{n:>{width}}" for n in names))
    print(f"  {'labelled items':40}" + "".join(f"{results[n]['items']:>{width}}" for n in names))
    for text, key, of in LINES:
        cells = "".join(f"{results[n][key]:>{width - 9}.3f} of {results[n][of]:<5}" for n in names)
        print(f"  {text:40}{cells}")
    print(
        f"\n  {'per theme, any severity':40}"
        + "".join(f"{'prec / recall (tp fp fn)':>{width}}" for n in names)
    )
    for theme in THEMES:
        cells = ""
        for n in names:
            m = results[n]["themes"][theme]
            cell = f"{m['precision']:.3f}/{m['recall']:.3f} ({m['tp']} {m['fp']} {m['fn']})"
            cells += f"{cell:>{width}}"
        print(f"  {theme:40}{cells}")
    print()
    for key, op, bound in TARGETS:
        name = f"{key} {op} {bound:.2f}"
        cells = ["met" if results[n]["targets"][name] else "MISSED" for n in names]
        # right-aligned under the columns; a label longer than 40 eats into the first
        first = f"  {'target ' + name:<{40 + width - len(cells[0])}}{cells[0]}"
        print(first + "".join(f"{c:>{width}}" for c in cells[1:]))
    for n in names:
        if n in show_misses:
            for heading, rows in results[n]["misses"].items():
                print(f"\n[{n}] {heading}: {len(rows)}")
                for item_id, rules, title in rows:
                    print(f"  {item_id} {rules} {title[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument(
        "--set",
        choices=("tuning", "holdout", "both"),
        default=None,
        help="which labelled set(s) to score (default: both when the holdout file exists)",
    )
    parser.add_argument("--holdout", default=str(HOLDOUT), help="the holdout file")
    parser.add_argument(
        "--show-misses", action="store_true", help="list the errors on the tuning set"
    )
    parser.add_argument(
        "--show-holdout-misses",
        action="store_true",
        help="list the errors on the holdout set too: whoever reads them and changes the rules"
        " has made it a tuning set",
    )
    parser.add_argument(
        "--skip-examples",
        action="store_true",
        help="do not run the rules' own examples first (to try a draft that breaks some)",
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "eval_rules.json"))
    args = parser.parse_args()
    holdout = Path(args.holdout)
    wanted = args.set or ("both" if holdout.is_file() else "tuning")
    sets: dict[str, Iterable[tuple[Item, dict[str, Any]]]] = {}
    if wanted in ("tuning", "both"):
        if ITEMS.is_file():
            sets["tuning"] = tuning_set()
        else:
            print(
                f"skipped tuning set: {ITEMS} not found (the shared corpus is not beside the repo)"
            )
    if wanted in ("holdout", "both"):
        if holdout.is_file():
            sets["holdout"] = holdout_set(holdout)
        else:
            print(f"skipped holdout set: {holdout} not found")
    if not sets:
        return 0
    ruleset = load_rules(args.rules, run_examples=not args.skip_examples)
    results = {name: score(ruleset, labelled) for name, labelled in sets.items()}
    print(f"rules from {args.rules}")
    show = ({"tuning"} if args.show_misses else set()) | (
        {"holdout"} if args.show_holdout_misses else set()
    )
    report(results, show)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "rules": args.rules,
        "sets": {n: {k: v for k, v in r.items() if k != "misses"} for n, r in results.items()},
    }
    out.write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
