"""The pacer on a virtual clock: no pacing before a 429, AIMD after, a hard cap, order, cancellation, deadlines."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import threading

import pytest

from prefect_pdfco import _learning
from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._learning import MIN_REQUESTS_PER_SECOND, Pacer, PastDeadline, Ticket, pacer_for
from tests.core._clock import VirtualClock

START = 1000.0  # VirtualClock's start


async def answer(pacer: Pacer, *, rate_limited: bool, cap: float | None = None) -> Ticket:
    ticket = await pacer.acquire(cap)
    pacer.record(ticket, rate_limited=rate_limited)
    return ticket


async def test_no_pacing_until_a_429(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    tickets = [await pacer.acquire() for _ in range(100)]
    for ticket in tickets:
        pacer.record(ticket, rate_limited=False)
    assert {ticket.sent_at for ticket in tickets} == {START}
    assert clock.slept == [] and pacer.rate is None


async def test_a_wave_of_429s_cuts_once_and_paces_at_the_start_rate(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    burst = [await pacer.acquire() for _ in range(10)]
    for ticket in burst[:2]:
        pacer.record(ticket, rate_limited=False)
    for ticket in burst[2:]:
        pacer.record(ticket, rate_limited=True)
    assert pacer.rate == 2.0  # eight 429s of one wave: one cut
    sent = [(await pacer.acquire()).sent_at - START for _ in range(4)]
    assert sent == pytest.approx([0.5, 1.0, 1.5, 2.0])


async def test_slow_start_begins_from_what_the_burst_showed_the_account_admits(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    burst = [await pacer.acquire() for _ in range(20)]
    pacer.record(burst[10], rate_limited=True)  # the first 429 comes back before the successes
    assert pacer.rate == 2.0
    for ticket in burst[:10]:
        pacer.record(ticket, rate_limited=False)
    for ticket in burst[11:]:
        pacer.record(ticket, rate_limited=True)
    assert pacer.rate == 10.0  # ten admitted within a second: a paid plan, not the lowest one
    await clock.sleep(5.0)
    await answer(pacer, rate_limited=True)
    await answer(pacer, rate_limited=False)
    assert pacer.rate == pytest.approx(7.0 + 0.1)  # past slow start: a success no longer restores 10/s


async def test_slow_start_then_multiplicative_cut_then_additive_recovery(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock, start_rate=2.0, decrease=0.7, slow_start_step=0.5, recovery=0.1)
    await answer(pacer, rate_limited=True)
    assert pacer.rate == 2.0
    await answer(pacer, rate_limited=False)
    stale = await answer(pacer, rate_limited=False)
    assert pacer.rate == pytest.approx(3.0)  # slow start: +0.5 per success
    await answer(pacer, rate_limited=True)
    assert pacer.rate == pytest.approx(2.1)  # cut: x 0.7
    pacer.record(stale, rate_limited=False)
    pacer.record(stale, rate_limited=True)
    assert pacer.rate == pytest.approx(2.1)  # answers to requests sent before the cut teach nothing
    await answer(pacer, rate_limited=False)
    assert pacer.rate == pytest.approx(2.1 + 0.1)  # now slowly: + recovery x threshold / rate
    start, rate_at_start = clock.monotonic(), pacer.rate
    while clock.monotonic() - start < 10.0:
        await answer(pacer, rate_limited=False)
    # About a tenth of the rate at the cut per second of traffic: +2.1 in 10 s, not a doubling per second.
    assert pacer.rate is not None and rate_at_start is not None and 1.5 < pacer.rate - rate_at_start < 2.5


async def test_the_rate_never_falls_below_the_floor_and_steps_aside_when_recovered(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock, min_rate=0.5)
    for _ in range(20):
        await answer(pacer, rate_limited=True)
    assert pacer.rate == 0.5
    fast = Pacer(clock=clock, start_rate=900.0, slow_start_step=60.0)
    await answer(fast, rate_limited=True)
    assert fast.rate == 900.0
    for _ in range(2):
        await answer(fast, rate_limited=False)
    assert fast.rate is None  # past any plan's rate: no pacing again until the next 429


async def test_the_cap_spaces_requests_with_or_without_a_learnt_rate(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    sent = [(await pacer.acquire(cap=4.0)).sent_at - START for _ in range(4)]
    assert sent == pytest.approx([0.0, 0.25, 0.5, 0.75])
    await answer(pacer, rate_limited=True, cap=4.0)  # learnt: 2/s, under the cap
    start = clock.monotonic()
    sent = [(await pacer.acquire(cap=4.0)).sent_at - start for _ in range(3)]
    assert sent == pytest.approx([0.5, 1.0, 1.5])
    start = clock.monotonic()
    sent = [(await pacer.acquire(cap=1.0)).sent_at - start for _ in range(2)]
    assert sent == pytest.approx([1.0, 2.0])


async def test_waiters_go_in_the_order_they_asked_and_spaced(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    order: list[tuple[int, float]] = []

    async def take(index: int) -> None:
        order.append((index, (await pacer.acquire(cap=2.0)).sent_at))

    await asyncio.gather(*(take(index) for index in range(8)))
    assert [index for index, _ in order] == list(range(8))
    assert min(later - earlier for (_, earlier), (_, later) in itertools.pairwise(order)) >= 0.5
    assert order[-1][1] - START == pytest.approx(3.5)  # and no slower than the cap


async def test_a_cancelled_waiter_leaves_the_queue(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock)
    await pacer.acquire(cap=1.0)
    first = asyncio.ensure_future(pacer.acquire(cap=1.0))
    second = asyncio.ensure_future(pacer.acquire(cap=1.0))
    await asyncio.sleep(0)
    assert pacer.queued == 2
    first.cancel()
    ticket = await asyncio.wait_for(second, timeout=10)  # real seconds: a ticket left behind makes it nap for ever
    assert first.cancelled() and ticket.sent_at - START == pytest.approx(1.0)  # took the freed turn
    assert pacer.queued == 0


def test_two_event_loops_in_two_threads_share_one_schedule() -> None:
    class ThreadClock:
        """Moves when someone sleeps; shared by two loops in two threads."""

        def __init__(self) -> None:
            self.now, self.lock = 0.0, threading.Lock()

        def monotonic(self) -> float:
            with self.lock:
                return self.now

        def time(self) -> float:
            return self.monotonic()

        async def sleep(self, seconds: float) -> None:
            with self.lock:
                self.now += seconds
            await asyncio.sleep(0)

    pacer = Pacer(clock=ThreadClock())
    stamps: list[float] = []

    def worker() -> None:
        async def run() -> None:
            for _ in range(5):
                stamps.append((await pacer.acquire(cap=20.0)).sent_at)

        asyncio.run(run())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 10 and pacer.queued == 0
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.05 - 1e-9


async def test_a_turn_after_the_deadline_raises_past_deadline_at_once_and_leaves_the_queue(
    clock: VirtualClock,
) -> None:
    pacer = Pacer(clock=clock)
    await pacer.acquire(cap=0.1)  # the next turn is 10 s away
    with pytest.raises(PastDeadline):
        await pacer.acquire(cap=0.1, deadline=START + 5.0)
    assert clock.monotonic() == START and pacer.queued == 0  # not slept: refused as soon as it was known
    ticket = await pacer.acquire(cap=0.1, deadline=START + 10.0)  # a turn on the deadline is still a turn
    assert ticket.sent_at == START + 10.0
    # A deadline already passed lets through only a turn that is free now.
    await clock.sleep(20.0)
    assert (await pacer.acquire(cap=0.1, deadline=START)).sent_at == START + 30.0


async def test_a_waiter_whose_turn_moves_past_its_deadline_leaves_when_it_knows(clock: VirtualClock) -> None:
    pacer = Pacer(clock=clock, min_rate=0.2, decrease=0.5)
    await answer(pacer, rate_limited=True)  # 2/s
    queued = asyncio.ensure_future(pacer.acquire(deadline=START + 0.6))  # its turn: +0.5 s
    await asyncio.sleep(0)
    for epoch in (1, 2, 3):  # cut three times while it waits (answers sent at each rate): 0.25/s, 4 s a turn
        pacer.record(Ticket(epoch, START), rate_limited=True)
    with pytest.raises(PastDeadline):
        await queued
    assert clock.monotonic() < START + 0.6 and pacer.queued == 0


def test_one_pacer_per_account_keyed_by_a_hash_of_the_key() -> None:
    a = pacer_for("https://api.pdf.co/", "key-1")
    assert pacer_for("https://api.pdf.co/", "key-1") is a
    assert pacer_for("https://api.pdf.co/", "key-2") is not a
    assert pacer_for("http://127.0.0.1:1/", "key-1") is not a
    held = " ".join(map(str, _learning._pacers))
    assert "key-1" not in held and hashlib.sha256(b"key-1").hexdigest() in held


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
def test_pacer_numbers_are_checked(argument: str, value: float) -> None:
    with pytest.raises(InvalidParametersError, match=argument):
        Pacer(**{argument: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("cap", [0.0, -2.0, math.nan, math.inf, 10**400, 0.02, 1e-9, MIN_REQUESTS_PER_SECOND / 2])
async def test_a_bad_or_absurdly_low_cap_is_refused_before_waiting(clock: VirtualClock, cap: float) -> None:
    pacer = Pacer(clock=clock)
    with pytest.raises(InvalidParametersError, match="requests_per_second"):
        await pacer.acquire(cap=cap)
    assert pacer.queued == 0 and clock.slept == []
    assert (await pacer.acquire(cap=MIN_REQUESTS_PER_SECOND)).sent_at == START  # the lowest cap accepted
