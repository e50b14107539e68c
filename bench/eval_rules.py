"""Precision and recall of the default rule pack on 1,139 real news items, labelled
by reading (bench/eval/labels.jsonl; definitions in bench/eval/LABELS.md).

    python bench/eval_rules.py [--rules rules] [--show-misses] [--out bench/results/eval_rules.json]

Targets (issue 3): recall >= 0.95 for security incidents at automakers and suppliers
alerting at medium or above; precision >= 0.9 for high and critical alerts (an alert
is right when the item is a security incident); at most 15% of the items that are not
security incidents alerting at medium or above.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.feeds.items import load_items  # noqa: E402
from monitor.models import Severity  # noqa: E402
from monitor.rules import load_rules  # noqa: E402

ITEMS = REPO.parent / "shared" / "corpus" / "items" / "news-items.jsonl"
LABELS = REPO / "bench" / "eval" / "labels.jsonl"
THEMES = ("ransom", "crypto", "data_theft", "automotive")
TAG = {
    "ransom": "ransom",
    "crypto": "crypto",
    "data_theft": "data-theft",
    "automotive": "automotive",
}


def ratio(a: int, b: int) -> float:
    return round(a / b, 3) if b else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "eval_rules.json"))
    args = parser.parse_args()
    if not ITEMS.is_file():
        print(f"skipped: {ITEMS} not found (the shared corpus is not beside the repo)")
        return 0
    labels = {d["id"]: d for d in map(json.loads, LABELS.read_text().splitlines())}
    ruleset = load_rules(args.rules)
    tags = {r.id: set(r.tags) for r in ruleset.rules}
    rows = []
    for item in load_items(str(ITEMS)):
        label = labels[item.id]
        matches = ruleset.engine.match(item.entry)
        top = max((m.severity for m in matches), default=None)
        rows.append(
            {
                "id": item.id,
                "label": label,
                "top": top,
                "title": item.entry.title,
                "rules": [m.rule_id for m in matches],
                "themes": {t for m in matches for t in THEMES if TAG[t] in tags[m.rule_id]},
            }
        )

    def alerts(r: dict, at: Severity = Severity.MEDIUM) -> bool:
        return r["top"] is not None and r["top"] >= at

    auto_incidents = [r for r in rows if r["label"]["incident"] and r["label"]["automotive"]]
    high = [r for r in rows if alerts(r, Severity.HIGH)]
    non_incidents = [r for r in rows if not r["label"]["incident"]]
    incidents = [r for r in rows if r["label"]["incident"]]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": len(rows),
        "auto_incident_recall_medium_plus": ratio(
            sum(alerts(r) for r in auto_incidents), len(auto_incidents)
        ),
        "high_critical_precision": ratio(sum(r["label"]["incident"] for r in high), len(high)),
        "high_critical_alerts": len(high),
        "non_incident_alert_rate": ratio(sum(alerts(r) for r in non_incidents), len(non_incidents)),
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
    targets = {
        "auto_incident_recall_medium_plus >= 0.95": result["auto_incident_recall_medium_plus"]
        >= 0.95,
        "high_critical_precision >= 0.90": result["high_critical_precision"] >= 0.90,
        "non_incident_alert_rate <= 0.15": result["non_incident_alert_rate"] <= 0.15,
    }
    result["targets"] = targets
    print(f"{len(rows)} labelled items, rules from {args.rules}")
    print(
        f"  incidents at automakers/suppliers alerting (medium+): "
        f"{result['auto_incident_recall_medium_plus']:.3f} recall of {len(auto_incidents)}"
    )
    print(
        f"  high/critical alerts that are incidents:              "
        f"{result['high_critical_precision']:.3f} precision of {len(high)}"
    )
    print(
        f"  non-incident items alerting (medium+):                "
        f"{result['non_incident_alert_rate']:.3f} of {len(non_incidents)}"
    )
    print(
        f"  all incidents alerting (medium+):                     "
        f"{result['incident_recall_medium_plus']:.3f} recall of {len(incidents)}"
    )
    print(f"  {'theme':12} precision  recall    tp   fp   fn   (any severity)")
    for theme, m in result["themes"].items():
        print(
            f"  {theme:12} {m['precision']:9.3f} {m['recall']:7.3f} {m['tp']:5} {m['fp']:4} "
            f"{m['fn']:4}"
        )
    for name, ok in targets.items():
        print(f"  target {name}: {'met' if ok else 'MISSED'}")
    if args.show_misses:
        print("\nmissed automotive incidents:")
        for r in auto_incidents:
            if not alerts(r):
                print(f"  {r['id']} {r['rules']} {r['title'][:110]}")
        print("\nhigh/critical on non-incidents:")
        for r in high:
            if not r["label"]["incident"]:
                print(f"  {r['id']} {r['rules'][:3]} {r['title'][:110]}")
        print("\nnon-incidents alerting:")
        for r in non_incidents:
            if alerts(r):
                print(f"  {r['id']} {r['rules'][:2]} {r['title'][:110]}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
