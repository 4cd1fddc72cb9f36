"""Client-side rate limiting shared by every client of one account in this process.

PDF.co allows 2 requests/s on free plans and 10 on paid ones and answers 429 beyond, with no ``Retry-After``
and no header that tells the plan's rate. So the limiter learns it, AIMD-style, the way TCP learns a link:

- it does not slow anything down until PDF.co answers 429 (a paid account runs at full speed);
- the first 429 starts it at 2 requests/s (the lowest plan's rate), or at the number of successes of the last
  second if more (the burst that met the 429 shows what the account admits), from where each success raises
  the rate quickly ("slow start") until the next 429;
- every later 429 cuts the rate (x 0.7), and successes then raise it slowly (by a tenth of the rate at the last
  cut per second of full traffic), so it settles just under the account's limit;
- a 429 of a request let through before the last cut says nothing about the new rate and is ignored, so a burst
  of 429s from one wave cuts once, not once per request.

``requests_per_second`` (from the credentials block) is a hard cap on top of that: no request of a capped client
goes sooner than ``1 / cap`` after the account's previous one.

Prefect runs async tasks called from sync flows on other threads and event loops, so the limiter is shared state
under a ``threading.Lock`` and each waiter sleeps on its own loop, not an ``asyncio`` primitive bound to one loop.
Waiters go in the order they asked (tickets); each one computes its turn from the current rate whenever it wakes,
so a change of rate applies at once to everyone queued.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prefect_pdfco._validate import check_number
from prefect_pdfco.exceptions import InvalidParametersError

__all__ = ["RateLimiter", "Ticket", "limiter_for"]

# A queued waiter re-reads the rate at least this often (a rate that rose should not leave it asleep).
_MAX_NAP = 0.25
# ... and never naps less than this while another waiter is ahead of it but late.
_MIN_NAP = 0.002
# Past this rate the limiter steps aside again: it would never delay anyone.
_STEP_ASIDE_RATE = 1000.0


@dataclass(frozen=True)
class Ticket:
    """A request let through: when, and under which rate (``epoch`` counts the cuts)."""

    epoch: int
    sent_at: float


class RateLimiter:
    """Paces the requests of one account: an adaptive rate learnt from 429s, and an optional hard cap per call.

    Args:
        adaptive: Learn the rate from 429s (False: only the hard cap applies).
        start_rate: Requests/s after the first 429 (PDF.co's lowest plan allows 2).
        min_rate: The rate is never cut below this.
        decrease: Factor applied to the rate on each later 429.
        slow_start_step: Requests/s added per success until the second 429.
        recovery: After that, the rate grows by ``recovery`` x (rate at the last cut) per second of traffic.
        clock: Monotonic seconds, for tests.
        sleep: Async sleep, for tests.

    Raises:
        InvalidParametersError: A value is NaN, infinite, negative or zero (``decrease`` must be below 1).
    """

    def __init__(
        self,
        *,
        adaptive: bool = True,
        start_rate: float = 2.0,
        min_rate: float = 0.5,
        decrease: float = 0.7,
        slow_start_step: float = 0.5,
        recovery: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        caller = "RateLimiter"
        self.adaptive = adaptive
        self.start_rate = check_number(start_rate, "start_rate", caller=caller)
        self.min_rate = min(check_number(min_rate, "min_rate", caller=caller), self.start_rate)
        self.decrease = check_number(decrease, "decrease", caller=caller)
        if self.decrease >= 1:
            raise InvalidParametersError(caller, [f"decrease: must be below 1, got {self.decrease:g}"])
        self.slow_start_step = check_number(slow_start_step, "slow_start_step", caller=caller)
        self.recovery = check_number(recovery, "recovery", caller=caller)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate: float | None = None  # None: no 429 seen (or recovered far past any plan): no pacing
        self._threshold = math.inf  # below it the rate grows fast (slow start), above it slowly
        self._epoch = 0
        self._last_slot = -math.inf  # when the last request was let through
        self._next_ticket = 0
        self._queue: list[int] = []  # tickets waiting, in order
        self._admitted: deque[float] = deque()  # when the successes of the last second were answered

    @property
    def rate(self) -> float | None:
        """The learnt rate in requests/s, or None while nothing has been learnt (no pacing)."""
        with self._lock:
            return self._rate

    def _interval(self, cap: float | None) -> float:
        rates = [rate for rate in (self._rate, cap) if rate is not None]
        return 1.0 / min(rates) if rates else 0.0

    def _try_take(self, ticket: int, cap: float | None) -> Ticket | float:
        """Under the lock: lets ``ticket`` through, or returns how long it should nap before asking again."""
        now = self._clock()
        interval = self._interval(cap)
        position = bisect.bisect_left(self._queue, ticket)
        free_at = self._last_slot + interval
        if position == 0 and now >= free_at:
            self._queue.pop(0)
            # Spaced from when the last request really left, not from when it was due: a waiter that overslept
            # costs a little throughput instead of sending two requests closer than the cap allows.
            self._last_slot = now
            return Ticket(self._epoch, now)
        wait = free_at + position * interval - now
        return min(max(wait, _MIN_NAP), _MAX_NAP)

    async def acquire(self, cap: float | None = None) -> Ticket:
        """Waits for this caller's turn and returns its ticket (hand it to ``record`` with the answer).

        Args:
            cap: A hard limit in requests/s for this call (the block's ``requests_per_second``), if any.
        """
        if cap is not None:
            cap = check_number(cap, "requests_per_second", caller="RateLimiter.acquire")
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._queue.append(ticket)
            outcome = self._try_take(ticket, cap)
        try:
            while not isinstance(outcome, Ticket):
                await self._sleep(outcome)
                with self._lock:
                    outcome = self._try_take(ticket, cap)
        except BaseException:
            # Cancelled while queued: leave the queue, or everyone behind would wait for this ticket forever.
            with self._lock:
                index = bisect.bisect_left(self._queue, ticket)
                if index < len(self._queue) and self._queue[index] == ticket:
                    self._queue.pop(index)
            raise
        return outcome

    def record(self, ticket: Ticket, *, rate_limited: bool) -> None:
        """Learns from the answer to a request let through with ``ticket``: 429 or success."""
        if not self.adaptive:
            return
        with self._lock:
            if not rate_limited:
                now = self._clock()
                self._admitted.append(now)
                while self._admitted and self._admitted[0] <= now - 1.0:
                    self._admitted.popleft()
                if self._rate is not None and self._rate < self._threshold:
                    # Slow start: the account just admitted this many requests in a second, whatever their
                    # epoch (a burst that hit the first 429 shows it), so start from there, not from 2/s.
                    self._rate = max(self._rate, float(len(self._admitted)))
            if ticket.epoch != self._epoch:
                return  # sent at a rate that has been cut since: it says nothing about the current one
            if rate_limited:
                if self._rate is None:
                    self._rate = self.start_rate
                else:
                    self._rate = max(self.min_rate, self._rate * self.decrease)
                    self._threshold = self._rate
                self._epoch += 1
            elif self._rate is not None:
                if self._rate < self._threshold:
                    self._rate += self.slow_start_step
                else:
                    self._rate += self.recovery * self._threshold / self._rate
                if self._rate > _STEP_ASIDE_RATE:
                    self._rate, self._threshold = None, math.inf


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(base_url: str, api_key: str) -> RateLimiter:
    """The process-wide limiter of one account (keyed by a hash of the key, never the key itself)."""
    account = hashlib.sha256(api_key.encode()).hexdigest()
    key = (base_url, account)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter()
        return limiter
