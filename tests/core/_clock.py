"""The virtual clock of the core tests, shared with ``benchmarks/polling_cost.py``."""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["VirtualClock"]


class VirtualClock:
    """A ``Clock`` whose time moves only when every task of the loop is asleep on it (trio's autojump, for asyncio).

    ``sleep`` parks the caller until the virtual time reaches its wake-up; a driver task, scheduled after every
    ready callback has run, jumps the time to the earliest wake-up. Code under test that awaits only this clock
    and in-memory transports (``httpx.MockTransport``) runs in no real time at all.
    """

    def __init__(self, start: float = 1000.0, wall: float = 1_750_000_000.0) -> None:
        self.now = start
        self._wall_offset = wall - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await future

    def advance(self, seconds: float) -> None:
        """Moves the time forward by hand (wakes nobody by itself)."""
        self.now += seconds

    async def _drive(self) -> None:
        while self._sleepers:
            # Let every task that is ready run first: only when all of them sleep does the time jump.
            for _ in range(50):
                await asyncio.sleep(0)
            self._sleepers = [entry for entry in self._sleepers if not entry[2].done()]
            heapq.heapify(self._sleepers)
            if not self._sleepers:
                return
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)
