"""What this process learns from PDF.co's answers: the account's rate (docs/design/pacing.md) and how long its jobs
take (docs/design/polling.md)."""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TypeGuard

from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._util import SYSTEM_CLOCK, Clock, check_number

MIN_REQUESTS_PER_SECOND = 0.1
_MAX_NAP = 0.25  # a queued waiter re-reads the rate at least this often
_MIN_NAP = 0.002
_STEP_ASIDE_RATE = 1000.0


class PastDeadline(Exception):
    """This caller's turn would come after its deadline; nothing was sent. The waits turn it into JobTimeout."""


@dataclass(frozen=True)
class Ticket:
    """A request let through: when, and under which rate (``epoch`` counts the cuts)."""

    epoch: int
    sent_at: float


def check_rate(value: object, caller: str) -> float:
    return check_number(value, "requests_per_second", caller=caller, minimum=MIN_REQUESTS_PER_SECOND)


class Pacer:
    """Paces the requests of one account (thread-safe): a rate learnt from 429s (AIMD), and a hard cap per call."""

    def __init__(
        self,
        *,
        clock: Clock = SYSTEM_CLOCK,
        start_rate: float = 2.0,
        min_rate: float = 0.5,
        decrease: float = 0.7,
        slow_start_step: float = 0.5,
        recovery: float = 0.1,
    ) -> None:
        caller = "Pacer"
        self.start_rate = check_number(start_rate, "start_rate", caller=caller)
        self.min_rate = min(check_number(min_rate, "min_rate", caller=caller), self.start_rate)
        self.decrease = check_number(decrease, "decrease", caller=caller)
        if self.decrease >= 1:
            raise InvalidParametersError(caller, [f"decrease: must be below 1, got {self.decrease:g}"])
        self.slow_start_step = check_number(slow_start_step, "slow_start_step", caller=caller)
        self.recovery = check_number(recovery, "recovery", caller=caller)
        self.clock = clock
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

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    async def acquire(self, cap: float | None = None, *, deadline: float | None = None) -> Ticket:
        """Waits for this caller's turn under ``cap`` (requests/s) and returns its ticket (for ``record``);
        ``PastDeadline`` when the turn would come after ``deadline`` (on ``clock.monotonic()``)."""
        if cap is not None:
            cap = check_rate(cap, "Pacer.acquire")
        with self._lock:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._queue.append(ticket)
        try:
            while True:
                with self._lock:
                    outcome = self._try_take(ticket, cap, deadline)
                if isinstance(outcome, Ticket):
                    return outcome
                await self.clock.sleep(outcome)
        except BaseException:  # cancelled or past its deadline: leave the queue, or everyone behind waits forever
            with self._lock:
                index = bisect.bisect_left(self._queue, ticket)
                if index < len(self._queue) and self._queue[index] == ticket:
                    self._queue.pop(index)
            raise

    def record(self, ticket: Ticket, *, rate_limited: bool) -> None:
        """Learns from the answer to a request let through with ``ticket``: 429 or success."""
        with self._lock:
            if not rate_limited:
                now = self.clock.monotonic()
                self._admitted.append(now)
                while self._admitted and self._admitted[0] <= now - 1.0:
                    self._admitted.popleft()
                if self._rate is not None and self._rate < self._threshold:  # slow start from what was admitted
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

    def _try_take(self, ticket: int, cap: float | None, deadline: float | None) -> Ticket | float:
        """Under the lock: lets ``ticket`` through, or returns how long it should nap before asking again."""
        now = self.clock.monotonic()
        rates = [rate for rate in (self._rate, cap) if rate is not None]
        interval = 1.0 / min(rates) if rates else 0.0
        position = bisect.bisect_left(self._queue, ticket)
        free_at = self._last_slot + interval
        if position == 0 and now >= free_at:
            self._queue.pop(0)
            self._last_slot = now  # from when it really left, not when it was due
            return Ticket(self._epoch, now)
        if deadline is not None and max(now, free_at) + position * interval > deadline:
            raise PastDeadline(f"the turn would come after the deadline ({position} request(s) queued ahead)")
        wait = free_at + position * interval - now
        return min(max(wait, _MIN_NAP), _MAX_NAP)


_pacers: dict[tuple[str, str], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(base_url: str, api_key: str) -> Pacer:
    """The process-wide pacer of one account (keyed by a SHA-256 of the key, never the key itself)."""
    key = (base_url, hashlib.sha256(api_key.encode()).hexdigest())
    with _pacers_lock:
        return _pacers.get(key) or _pacers.setdefault(key, Pacer())


# Why these sizes: docs/design/polling.md ("Learnt", "Across processes")
SAMPLES, SUBMITS = 24, 50_000
SNAPSHOT_CHARS, PERSISTED_SAMPLES = 4_900, 12


@dataclass(frozen=True)
class Estimate:
    """What the recent jobs of one key took from submit to end (s): 5th and 95th percentile (min, max under 5)."""

    low: float
    high: float
    samples: int


def _quantile(ordered: list[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _is_duration(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


@dataclass
class Submitted:
    """A job submitted by this process: its key (endpoint), submit time and last check that found it working."""

    key: str
    at: float
    last_working: float | None = None


class DurationBook:
    """A process's recent job durations per key and its submits; ``changed``, ``loaded``: for the persisting layer."""

    def __init__(self, samples: int = SAMPLES, submits: int = SUBMITS) -> None:
        self._lock = threading.Lock()
        self._samples, self._submits_kept = samples, submits
        self._durations: OrderedDict[str, deque[float]] = OrderedDict()
        self._submits: OrderedDict[str, Submitted] = OrderedDict()
        self.loaded: set[str] = set()
        self.changed = False

    def note_submitted(self, job_id: str, endpoint: str, *, at: float) -> Submitted:
        """Remembers a submit (``at`` on the client's clock) so that a wait for ``job_id`` measures from it."""
        entry = Submitted(endpoint.strip().strip("/").removeprefix("v1/"), at)
        with self._lock:
            self._submits[job_id] = entry
            self._submits.move_to_end(job_id)
            while len(self._submits) > self._submits_kept:
                self._submits.popitem(last=False)
        return entry

    def submitted(self, job_id: str) -> Submitted | None:
        with self._lock:
            return self._submits.get(job_id)

    def observe(self, key: str, seconds: float) -> None:
        """Records one finished job under ``key``; NaN, infinite and negative durations are ignored."""
        if not _is_duration(seconds):
            return
        with self._lock:
            self._durations.setdefault(key, deque(maxlen=self._samples)).append(round(seconds, 2))
            self._durations.move_to_end(key)
            self.changed = True

    def estimate(self, key: str | None) -> Estimate | None:
        """The 5th/95th percentile of ``key``'s recent durations; None when nothing is known."""
        with self._lock:
            kept = self._durations.get(key) if key is not None else None
            ordered = sorted(kept) if kept else []
        if not ordered:
            return None
        if len(ordered) < 5:
            return Estimate(ordered[0], ordered[-1], len(ordered))
        return Estimate(_quantile(ordered, 0.05), _quantile(ordered, 0.95), len(ordered))

    def snapshot(self) -> dict[str, list[float]]:
        """The most recently used keys and their latest durations (0.1 s), as much as ``SNAPSHOT_CHARS`` holds."""
        with self._lock:
            recent = [(key, list(kept)[-PERSISTED_SAMPLES:]) for key, kept in reversed(self._durations.items())]
        kept_keys: dict[str, list[float]] = {}
        size = 2  # the braces; each entry adds its own JSON and a separator
        for key, values in recent:
            rounded = [round(value, 1) for value in values]
            size += len(json.dumps({key: rounded})) + 1
            if size > SNAPSHOT_CHARS:
                break
            kept_keys[key] = rounded
        return kept_keys

    def merge(self, stored: object) -> None:
        """Adds durations from a ``snapshot`` before the ones of this process; ignores malformed data."""
        if not isinstance(stored, dict):
            return
        with self._lock:
            for key, values in stored.items():
                if not isinstance(key, str) or not isinstance(values, list):
                    continue
                numbers = [float(v) for v in values if _is_duration(v)]
                kept = self._durations.get(key, deque(maxlen=self._samples))
                self._durations[key] = deque([*numbers, *kept], maxlen=self._samples)

    def clear(self) -> None:
        with self._lock:
            self._durations.clear()
            self._submits.clear()
            self.loaded.clear()
            self.changed = False


#: The book of this process.
BOOK = DurationBook()


note_submitted, submitted = BOOK.note_submitted, BOOK.submitted


def observe_end(
    entry: Submitted, *, ended_by: float, job_duration_ms: float | None, share: float = 0.15, book: DurationBook = BOOK
) -> float:
    """Records in ``book`` how long a job that succeeded took from its submit (returned, in seconds): PDF.co's
    ``jobDuration`` within what the checks saw (after the last working one, by ``ended_by``), else a guess."""
    upper = max(0.0, ended_by - entry.at)
    lower = min(upper, max(0.0, entry.last_working - entry.at)) if entry.last_working is not None else 0.0
    if _is_duration(job_duration_ms):
        seconds = min(upper, max(lower, job_duration_ms / 1000))
    else:  # Why `share` quicker: docs/design/polling.md (how a duration is measured)
        seconds = (lower + upper) / 2 if entry.last_working is not None else upper * (1 - share)
    book.observe(entry.key, seconds)
    return seconds
