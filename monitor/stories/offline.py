"""Grouping without a daemon, for `monitor stories test` and the evaluation: the same
Grouper, fed cycle by cycle exactly as the daemon feeds it (forget what left the
window, count the cycle's items, then assign the cycle's reports at once)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .aliases import Aliases
from .background import Background
from .grouper import THRESHOLD, WINDOW, Grouper
from .models import Decision, Report

POLL = 3600.0  # without explicit batches, the reports of one hour arrive in one cycle


def group_offline(
    items: Iterable[Report],
    *,
    window: float = WINDOW,
    threshold: float = THRESHOLD,
    aliases: Aliases | None = None,
    batches: Iterable[Sequence[str]] | None = None,
    background: Background | None = None,
) -> dict[str, Decision]:
    """Decisions by report key. ``batches``: the keys of each poll cycle, in cycle
    order (every report in exactly one); default: one cycle per hour of ``at``."""
    reports = {r.key: r for r in items}
    cycles = [[reports[k] for k in keys] for keys in batches] if batches else _hourly(reports)
    grouper = Grouper(window=window, threshold=threshold, background=background, aliases=aliases)
    decided: dict[str, Decision] = {}
    for cycle in cycles:
        if not cycle:
            continue
        grouper.expire(max(r.at for r in cycle))
        grouper.observe(r.entry for r in cycle)
        decided.update((d.key, d) for d in grouper.assign(cycle))
    return decided


def _hourly(reports: dict[str, Report]) -> list[list[Report]]:
    cycles: dict[int, list[Report]] = {}
    for report in sorted(reports.values(), key=lambda r: (r.at, r.key)):
        cycles.setdefault(int(report.at // POLL), []).append(report)
    return [cycles[hour] for hour in sorted(cycles)]
