"""Who may act on alerts from Slack (``slack.actors``): user ids, and user-group ids
whose members Slack lists (``usergroups.users.list``, bot scope ``usergroups:read``).

Empty: anyone who can see the channel. A group that cannot be read (missing scope,
Slack down) admits nobody through it: refusing a click is safer than muting for a
stranger. Group members are cached for ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog

log = structlog.get_logger("slack")

Lookup = Callable[[str], set[str]]  # group id → its members' user ids (raises on failure)


class Actors:
    def __init__(
        self,
        allowed: Sequence[str],
        lookup: Lookup | None = None,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = {a for a in allowed if not a.startswith("S")}
        self.groups = [a for a in allowed if a.startswith("S")]
        self._lookup = lookup
        self._ttl, self._clock = ttl, clock
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    @property
    def anyone(self) -> bool:
        return not self.users and not self.groups

    def allows(self, user: str) -> bool:
        if self.anyone or user in self.users:
            return True
        return any(user in self._members(group) for group in self.groups)

    def _members(self, group: str) -> set[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group)
            if cached is not None and cached[0] > now:
                return cached[1]
        members: set[str] = set()
        if self._lookup is not None:
            try:
                members = self._lookup(group)
            except Exception as exc:  # Slack's error, or the network: nobody gets in
                log.warning(
                    "slack.group_unreadable",
                    group=group,
                    error=str(exc)[:200],
                    hint="add the bot scope usergroups:read and reinstall the app",
                )
        with self._lock:
            self._cache[group] = (now + self._ttl, members)
        return members
