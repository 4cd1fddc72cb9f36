"""The client-side rate limiter spaces requests across threads and event loops."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from prefect_pdfco._ratelimit import RateLimiter, limiter_for


def test_reservations_are_spaced_by_the_interval() -> None:
    limiter = RateLimiter(requests_per_second=10)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits[0] == pytest.approx(0.0, abs=0.01)
    for earlier, later in itertools.pairwise(waits):
        assert later - earlier == pytest.approx(0.1, abs=0.01)


def test_limiter_is_shared_per_account_without_holding_the_key() -> None:
    a = limiter_for("https://api.pdf.co/", "key-1", 2)
    assert limiter_for("https://api.pdf.co/", "key-1", 2) is a
    assert limiter_for("https://api.pdf.co/", "key-2", 2) is not a
    from prefect_pdfco import _ratelimit

    assert all("key-1" not in str(key) for key in _ratelimit._limiters)


def test_two_event_loops_in_two_threads_share_one_schedule() -> None:
    limiter = RateLimiter(requests_per_second=20)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        async def run() -> None:
            for _ in range(5):
                await limiter.acquire()
                with lock:
                    stamps.append(time.monotonic())

        asyncio.run(run())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 10
    assert min(gaps) >= 0.05 * 0.8  # 20 rps: 50 ms apart, give or take the sleep's precision
