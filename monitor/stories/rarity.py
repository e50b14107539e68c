"""How rare each token is: the background table plus the items seen inside the window,
and which words an outlet puts in most of its own items (boilerplate).

Counts change only in ``add`` and ``expire``; between them weights are memoised, so
one poll cycle's decisions all use one fixed set of weights whatever their order.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter

from .background import Background

BOILER_MIN = 5  # an outlet's word is boilerplate only once it is in this many of its items
BOILER_SHARE = 0.4  # ... and in this share of them: a share of 4 items proves nothing


class Rarity:
    def __init__(self, background: Background) -> None:
        self.background = background
        self.df: Counter[str] = Counter()
        self.docs = 0
        self.by_source: dict[str, Counter[str]] = {}
        self.source_items: Counter[str] = Counter()
        self._seen: list[tuple[float, int, str, frozenset[str]]] = []  # a heap by time
        self._order = itertools.count()  # ties in time leave the heap in arrival order
        self._weights: dict[str, float] = {}
        self._boiler: dict[str, frozenset[str]] = {}

    def add(self, at: float, source: str, tokens: frozenset[str]) -> None:
        heapq.heappush(self._seen, (at, next(self._order), source, tokens))
        self._count(source, tokens, 1)

    def expire(self, cutoff: float) -> None:
        while self._seen and self._seen[0][0] < cutoff:
            _, _, source, tokens = heapq.heappop(self._seen)
            self._count(source, tokens, -1)

    def _count(self, source: str, tokens: frozenset[str], sign: int) -> None:
        counts = self.by_source.setdefault(source, Counter())
        for token in tokens:
            self.df[token] += sign
            counts[token] += sign
            if sign < 0:  # drop zero counts, or the counters only ever grow
                if self.df[token] <= 0:
                    del self.df[token]
                if counts[token] <= 0:
                    del counts[token]
        self.docs += sign
        self.source_items[source] += sign
        self._weights.clear()
        self._boiler.pop(source, None)

    def weight(self, token: str) -> float:
        """Inverse document frequency over the background and the window's items."""
        value = self._weights.get(token)
        if value is None:
            bg = self.background
            docs = bg.docs + self.docs
            value = math.log((docs + 1) / (bg.df.get(token, 0) + self.df[token] + 1))
            self._weights[token] = value
        return value

    def boilerplate(self, source: str) -> frozenset[str]:
        """Words in most of this outlet's recent items: its column names, its sign-off."""
        found = self._boiler.get(source)
        if found is None:
            n = self.source_items[source]
            counts = self.by_source.get(source, Counter())
            least = max(BOILER_MIN, BOILER_SHARE * n)
            found = frozenset(t for t, c in counts.items() if c >= least) if n else frozenset()
            self._boiler[source] = found
        return found
