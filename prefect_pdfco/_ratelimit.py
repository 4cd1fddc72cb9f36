"""Client-side rate limiting shared by every client of one account in this process.

PDF.co allows 2 requests/s on free plans and 10 on paid ones and answers 429 beyond. Prefect runs async tasks
called from sync flows on other threads and event loops, so the limiter is a thread-safe schedule of send
times (a reservation is taken under a ``threading.Lock``, the wait is an ``asyncio.sleep``), not an
``asyncio`` primitive bound to one loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

__all__ = ["RateLimiter", "limiter_for"]


class RateLimiter:
    """Spaces requests at least ``1 / requests_per_second`` apart, in the order they ask."""

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.interval = 1.0 / requests_per_second
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Takes the next free slot and returns how many seconds to wait for it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            return slot - now

    async def acquire(self) -> None:
        """Waits for this caller's slot."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


_limiters: dict[tuple[str, str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(base_url: str, api_key: str, requests_per_second: float) -> RateLimiter:
    """The process-wide limiter of one account (keyed by a hash of the key, never the key itself)."""
    account = hashlib.sha256(api_key.encode()).hexdigest()
    key = (base_url, account, requests_per_second)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(requests_per_second)
        return limiter
