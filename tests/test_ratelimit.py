"""The account's rate limiter on a fake clock: no pacing before a 429, AIMD after, a hard cap, FIFO, threads."""

from __future__ import annotations

import asyncio
import itertools
import math
import threading

import pytest

from prefect_pdfco import InvalidParametersError
from prefect_pdfco._ratelimit import RateLimiter, Ticket, limiter_for


class FakeTime:
    """A clock that only moves when someone sleeps (thread-safe, so two event loops can share it)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        with self.lock:
            return self.now

    async def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds
        await asyncio.sleep(0)  # let the other waiters run


def make(fake: FakeTime, **kwargs: float) -> RateLimiter:
    return RateLimiter(clock=fake.clock, sleep=fake.sleep, **kwargs)  # type: ignore[arg-type]


async def test_no_pacing_until_a_429() -> None:
    fake = FakeTime()
    limiter = make(fake)
    tickets = [await limiter.acquire() for _ in range(100)]
    for ticket in tickets:
        limiter.record(ticket, rate_limited=False)
    assert {ticket.sent_at for ticket in tickets} == {0.0}
    assert fake.now == 0.0 and limiter.rate is None


async def test_a_wave_of_429s_cuts_once_and_paces_at_the_start_rate() -> None:
    fake = FakeTime()
    limiter = make(fake)
    burst = [await limiter.acquire() for _ in range(10)]
    for ticket in burst[:2]:
        limiter.record(ticket, rate_limited=False)
    for ticket in burst[2:]:
        limiter.record(ticket, rate_limited=True)
    assert limiter.rate == 2.0  # eight 429s of one wave: one cut
    sent = [(await limiter.acquire()).sent_at for _ in range(4)]
    assert sent == pytest.approx([0.5, 1.0, 1.5, 2.0])


async def test_slow_start_begins_from_what_the_burst_showed_the_account_admits() -> None:
    fake = FakeTime()
    limiter = make(fake)
    burst = [await limiter.acquire() for _ in range(20)]
    limiter.record(burst[10], rate_limited=True)  # the first 429 comes back before the successes
    assert limiter.rate == 2.0
    for ticket in burst[:10]:
        limiter.record(ticket, rate_limited=False)
    for ticket in burst[11:]:
        limiter.record(ticket, rate_limited=True)
    assert limiter.rate == 10.0  # ten admitted within a second: a paid plan, not the lowest one
    await FakeTime.sleep(fake, 5.0)
    limiter.record(await limiter.acquire(), rate_limited=True)
    limiter.record(await limiter.acquire(), rate_limited=False)
    assert limiter.rate == pytest.approx(7.0 + 0.1)  # past slow start: a success no longer restores 10/s


async def test_slow_start_then_multiplicative_cut_then_additive_recovery() -> None:
    fake = FakeTime()
    limiter = make(fake, start_rate=2.0, decrease=0.7, slow_start_step=0.5, recovery=0.1)

    async def answer(rate_limited: bool) -> Ticket:
        ticket = await limiter.acquire()
        limiter.record(ticket, rate_limited=rate_limited)
        return ticket

    await answer(True)
    assert limiter.rate == 2.0
    await answer(False)
    stale = await answer(False)
    assert limiter.rate == pytest.approx(3.0)  # slow start: +0.5 per success
    await answer(True)
    assert limiter.rate == pytest.approx(2.1)  # cut: x 0.7
    limiter.record(stale, rate_limited=False)
    limiter.record(stale, rate_limited=True)
    assert limiter.rate == pytest.approx(2.1)  # answers to requests sent before the cut teach nothing
    await answer(False)
    assert limiter.rate == pytest.approx(2.1 + 0.1 * 2.1 / 2.1)  # now slowly: +recovery x threshold / rate
    start, rate_at_start = fake.now, limiter.rate
    while fake.now - start < 10.0:
        await answer(False)
    # About a tenth of the rate at the cut per second of traffic: +2.1 in 10 s, not a doubling per second.
    assert limiter.rate is not None and rate_at_start is not None
    assert 1.5 < limiter.rate - rate_at_start < 2.5


async def test_the_rate_never_falls_below_the_floor_and_steps_aside_when_recovered() -> None:
    fake = FakeTime()
    limiter = make(fake, min_rate=0.5)
    for _ in range(20):
        limiter.record(await limiter.acquire(), rate_limited=True)
    assert limiter.rate == 0.5
    fast = make(fake, start_rate=900.0, slow_start_step=60.0)
    fast.record(await fast.acquire(), rate_limited=True)
    assert fast.rate == 900.0
    for _ in range(2):
        fast.record(await fast.acquire(), rate_limited=False)
    assert fast.rate is None  # past any plan's rate: no pacing again until the next 429


async def test_requests_per_second_is_a_hard_cap_with_or_without_a_learnt_rate() -> None:
    fake = FakeTime()
    limiter = make(fake)
    sent = [(await limiter.acquire(cap=4.0)).sent_at for _ in range(4)]
    assert sent == pytest.approx([0.0, 0.25, 0.5, 0.75])
    limiter.record(await limiter.acquire(cap=4.0), rate_limited=True)  # learnt: 2/s, under the cap
    start = fake.now
    sent = [(await limiter.acquire(cap=4.0)).sent_at - start for _ in range(3)]
    assert sent == pytest.approx([0.5, 1.0, 1.5])
    start = fake.now
    sent = [(await limiter.acquire(cap=1.0)).sent_at - start for _ in range(2)]
    assert sent == pytest.approx([1.0, 2.0])


async def test_waiters_go_in_the_order_they_asked_and_spaced() -> None:
    fake = FakeTime()
    limiter = make(fake)
    order: list[tuple[int, float]] = []

    async def take(index: int) -> None:
        ticket = await limiter.acquire(cap=2.0)
        order.append((index, ticket.sent_at))

    await asyncio.gather(*(take(index) for index in range(8)))
    assert [index for index, _ in order] == list(range(8))
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(order)]
    assert min(gaps) >= 0.5


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    fake = FakeTime()
    limiter = make(fake)
    await limiter.acquire(cap=1.0)
    first = asyncio.create_task(limiter.acquire(cap=1.0))
    second = asyncio.create_task(limiter.acquire(cap=1.0))
    await asyncio.sleep(0)
    first.cancel()
    ticket = await asyncio.wait_for(second, timeout=30)  # a guard against a hang, not a timing assertion
    assert first.cancelled() and ticket.sent_at >= 1.0
    assert limiter._queue == []


def test_two_event_loops_in_two_threads_share_one_schedule() -> None:
    fake = FakeTime()
    limiter = make(fake)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        async def run() -> None:
            for _ in range(5):
                ticket = await limiter.acquire(cap=20.0)
                with lock:
                    stamps.append(ticket.sent_at)

        asyncio.run(run())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 10
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.05 - 1e-9


def test_limiter_is_shared_per_account_without_holding_the_key() -> None:
    a = limiter_for("https://api.pdf.co/", "key-1")
    assert limiter_for("https://api.pdf.co/", "key-1") is a
    assert limiter_for("https://api.pdf.co/", "key-2") is not a
    assert limiter_for("http://127.0.0.1:1/", "key-1") is not a
    from prefect_pdfco import _ratelimit

    assert all("key-1" not in str(key) for key in _ratelimit._limiters)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("start_rate", 0.0),
        ("start_rate", math.nan),
        ("min_rate", -1.0),
        ("min_rate", math.inf),
        ("decrease", 1.0),
        ("decrease", 0.0),
        ("slow_start_step", math.nan),
        ("recovery", -0.1),
    ],
)
def test_limiter_numbers_are_checked(argument: str, value: float) -> None:
    with pytest.raises(InvalidParametersError, match=argument):
        RateLimiter(**{argument: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("cap", [0.0, -2.0, math.nan, math.inf])
async def test_a_bad_cap_is_refused_before_waiting(cap: float) -> None:
    with pytest.raises(InvalidParametersError, match="requests_per_second"):
        await RateLimiter().acquire(cap=cap)
