"""At most ``per_host`` requests to one host at once, whatever the feeds and redirects.

A slot is held for one request (one hop of a redirect chain), from sending it to
reading its last byte; a redirect gives its slot back before it asks for the next
host's, so two hosts never wait on each other. Used only on the fetch loop's thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The politeness key: the host name, whatever the scheme or port."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class HostSlots:
    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self.active: dict[str, int] = {}
        self.waiters: dict[str, deque[asyncio.Future[None]]] = {}
        self.listeners: set[Callable[[str], None]] = set()  # a crawl's scheduler

    def has_room(self, host: str) -> bool:
        return self.active.get(host, 0) < self.per_host

    def try_take(self, host: str) -> bool:
        if not self.has_room(host) or self.waiters.get(host):
            return False
        self.active[host] = self.active.get(host, 0) + 1
        return True

    async def take(self, host: str) -> None:
        if self.try_take(host):
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(host, deque()).append(waiter)
        try:
            await waiter  # the slot is handed over by give_back: active stays counted
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give_back(host)  # handed over just as we were cancelled
            elif waiter in (queue := self.waiters.get(host, deque())):
                queue.remove(waiter)
            raise

    def give_back(self, host: str) -> None:
        queue = self.waiters.get(host)
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.waiters.pop(host, None)
        left = self.active.get(host, 0) - 1
        if left > 0:
            self.active[host] = left
        else:
            self.active.pop(host, None)
        for listener in list(self.listeners):
            listener(host)

    @asynccontextmanager
    async def holding(self, host: str, *, taken: bool = False) -> AsyncIterator[None]:
        """Hold a slot for ``host`` (``taken``: the caller took it already)."""
        if not taken:
            await self.take(host)
        try:
            yield
        finally:
            self.give_back(host)
