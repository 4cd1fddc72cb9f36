"""How long PDF.co jobs take, learnt from the jobs that finished: the first check goes where the job should end.

Every check costs 2 credits, and a check made before the job can have ended is wasted. So each process keeps,
per operation, the durations of the jobs that finished (seconds from the submit to the end), and a wait makes
its first check shortly after the quickest recent jobs ended (``Estimate.first_check``), no later than a little
after the slowest did (``schedule.Plan``). Keys are the endpoint, refined by the pages or input size when the
submitter passes them to ``note_submitted`` (``duration_key``); an estimate for a refined key falls back to the
endpoint's.

- ``note_submitted`` is called for every submit (by ``PdfcoClient.submit``): the job id's key and submit time,
  so that a wait in the same process measures from the submit rather than from its own start.
- ``observe_end`` records a finished job. The duration is PDF.co's ``jobDuration`` when the answer has it
  (clamped to what the checks saw: after the last ``working`` check, before the ``success`` one), else the
  middle of that interval, or a little before the check when the first check found the job ended.
- ``kept_in`` (``load_book``/``save_book``) keeps the durations in a Prefect Variable (opt-in: the waits'
  ``learn_variable`` argument or the ``PDFCO_LEARN_VARIABLE`` environment variable), so scheduled deployments,
  one process per run, learn across runs. Failing to read or write it never fails a wait: it is logged, and
  the wait polls cold.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prefect_pdfco.exceptions import InvalidParametersError

__all__ = [
    "BOOK",
    "LEARN_VARIABLE_ENV",
    "DurationBook",
    "Estimate",
    "Submitted",
    "duration_key",
    "forget_submits",
    "kept_in",
    "learn_variable_name",
    "load_book",
    "note_submitted",
    "observe_end",
    "save_book",
    "submitted",
]

logger = logging.getLogger("prefect_pdfco")

#: The environment variable naming the Prefect Variable that keeps learnt durations across runs.
LEARN_VARIABLE_ENV = "PDFCO_LEARN_VARIABLE"
#: Durations kept per key: recent jobs say most about the next one (PDF.co's load changes over a day).
SAMPLES = 24
#: A Prefect Variable holds at most 5,000 characters of JSON: the most recently used keys that fit are kept,
#: with their latest ``PERSISTED_SAMPLES`` durations (to 0.1 s).
VARIABLE_CHARS = 4_900
PERSISTED_SAMPLES = 12
#: Submits remembered for the waits of this process (job id -> key and time).
SUBMITS = 50_000
_VARIABLE_NAME = re.compile(r"[a-z0-9_-]{1,255}")


def duration_key(endpoint: str, *, pages: int | None = None, input_bytes: int | None = None) -> str:
    """The key durations are learnt under: the endpoint, plus the order of magnitude of pages or input size.

    ``duration_key("/v1/pdf/convert/to/text", pages=40)`` is ``"pdf/convert/to/text|pages~32"``: jobs of 32 to 63
    pages share a key (powers of two), so a 200-page document is not expected to end like a 2-page one.
    """
    key = endpoint.strip().strip("/")
    key = key[3:] if key.startswith("v1/") else key
    if pages is not None and pages > 0:
        return f"{key}|pages~{2 ** int(math.log2(pages))}"
    if input_bytes is not None and input_bytes > 0:
        return f"{key}|bytes~{2 ** int(math.log2(input_bytes))}"
    return key


def _base_of(key: str) -> str:
    return key.split("|", 1)[0]


@dataclass(frozen=True)
class Estimate:
    """What the recent jobs of one key took, in seconds from submit to end.

    Attributes:
        low: About the quickest (the 5th percentile; the minimum under 5 samples).
        high: About the slowest (the 95th percentile; the maximum under 5 samples).
        samples: How many durations this is made of.
    """

    low: float
    high: float
    samples: int

    def first_check(self, tolerance: float, share: float) -> float:
        """When to check first (seconds after the submit): ``tolerance`` after the quickest recent jobs ended, so
        that a job as quick as those is learnt of at most that late; and no later than ``share`` after the
        slowest ended."""
        return min(self.high * (1 + share), self.low + tolerance)


def _quantile(ordered: list[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class DurationBook:
    """Recent job durations per key; safe to share between the threads and event loops of a process."""

    def __init__(self, samples: int = SAMPLES) -> None:
        self._lock = threading.Lock()
        self._samples = samples
        self._durations: OrderedDict[str, deque[float]] = OrderedDict()
        self.loaded: set[str] = set()  # the Prefect Variables already merged in
        self.changed = False  # something was observed since the last save

    def observe(self, key: str, seconds: float) -> None:
        """Records one finished job under ``key`` and under its endpoint alone."""
        if not math.isfinite(seconds) or seconds < 0:
            return
        with self._lock:
            for each in dict.fromkeys((key, _base_of(key))):
                kept = self._durations.setdefault(each, deque(maxlen=self._samples))
                kept.append(round(seconds, 2))
                self._durations.move_to_end(each)
            self.changed = True

    def estimate(self, key: str | None) -> Estimate | None:
        """The estimate for ``key`` (or its endpoint's, when the key itself has none); None when nothing is known."""
        if key is None:
            return None
        with self._lock:
            kept = self._durations.get(key) or self._durations.get(_base_of(key))
            ordered = sorted(kept) if kept else []
        if not ordered:
            return None
        if len(ordered) < 5:
            return Estimate(ordered[0], ordered[-1], len(ordered))
        return Estimate(_quantile(ordered, 0.05), _quantile(ordered, 0.95), len(ordered))

    def snapshot(self) -> dict[str, list[float]]:
        """The most recently used keys and their latest durations, as much as a Prefect Variable holds (JSON)."""
        with self._lock:
            recent = [(key, list(kept)[-PERSISTED_SAMPLES:]) for key, kept in reversed(self._durations.items())]
        kept_keys: dict[str, list[float]] = {}
        size = 2
        for key, values in recent:
            rounded = [round(value, 1) for value in values]
            size += len(json.dumps({key: rounded})) + 1
            if size > VARIABLE_CHARS:
                break
            kept_keys[key] = rounded
        return kept_keys

    def merge(self, stored: object) -> None:
        """Adds durations read from a Prefect Variable before the ones of this process; ignores malformed data."""
        if not isinstance(stored, dict):
            return
        with self._lock:
            for key, values in stored.items():
                if not isinstance(key, str) or not isinstance(values, list):
                    continue
                numbers = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0]
                kept = self._durations.get(key, deque(maxlen=self._samples))
                merged: deque[float] = deque([*numbers, *kept], maxlen=self._samples)
                self._durations[key] = merged

    def clear(self) -> None:
        """Forgets everything (tests, or a process that wants a cold start)."""
        with self._lock:
            self._durations.clear()
            self.loaded.clear()
            self.changed = False


#: The book of this process.
BOOK = DurationBook()


@dataclass
class Submitted:
    """A job submitted by this process: where its durations are learnt and when it left (``time.monotonic``).

    Attributes:
        key: The ``duration_key`` of the job.
        at: When the submit's answer came, on the monotonic clock.
        last_working: The latest monotonic time a check found the job working (None before any).
    """

    key: str
    at: float
    last_working: float | None = None


_submits: OrderedDict[str, Submitted] = OrderedDict()
_submits_lock = threading.Lock()


def note_submitted(
    job_id: str, endpoint: str, *, pages: int | None = None, input_bytes: int | None = None, at: float | None = None
) -> Submitted:
    """Remembers a submit so that the wait for ``job_id`` measures from it and learns under its endpoint."""
    key = duration_key(endpoint, pages=pages, input_bytes=input_bytes)
    entry = Submitted(key, time.monotonic() if at is None else at)
    with _submits_lock:
        _submits[job_id] = entry
        _submits.move_to_end(job_id)
        while len(_submits) > SUBMITS:
            _submits.popitem(last=False)
    return entry


def submitted(job_id: str) -> Submitted | None:
    """The submit of ``job_id`` made by this process, if any."""
    with _submits_lock:
        return _submits.get(job_id)


def forget_submits() -> None:
    """Forgets every submit this process noted (tests; the book of durations is ``BOOK.clear``)."""
    with _submits_lock:
        _submits.clear()


def observe_end(
    entry: Submitted,
    *,
    ended_by: float,
    job_duration_ms: float | None,
    share: float = 0.15,
    book: DurationBook = BOOK,
) -> float:
    """Records the duration of a job that succeeded; returns it (seconds from submit to end).

    Args:
        entry: The job's submit.
        ended_by: The monotonic time of the check that found it ended.
        job_duration_ms: PDF.co's ``jobDuration``, when the answer had it.
        share: The policy's ``learned_share``: without ``jobDuration``, a job found ended by its first check
            is counted as ending that share before the check.
        book: Where to record it.
    """
    upper = max(0.0, ended_by - entry.at)
    lower = max(0.0, entry.last_working - entry.at) if entry.last_working is not None else 0.0
    lower = min(lower, upper)
    if job_duration_ms is not None and math.isfinite(job_duration_ms) and job_duration_ms >= 0:
        seconds = min(upper, max(lower, job_duration_ms / 1000))
    else:
        # Nothing says when in (lower, upper] it ended. With no "working" check seen, a job found done at the
        # first check is counted ``share`` quicker than the check: the first check is placed at most ``share``
        # after the slowest recent job, so the estimate drifts down until a first check finds a job working,
        # rather than up with the checks' own timing.
        seconds = (lower + upper) / 2 if entry.last_working is not None else upper * (1 - share)
    book.observe(entry.key, seconds)
    return seconds


def learn_variable_name(value: object, *, caller: str) -> str | None:
    """The Prefect Variable to keep durations in: ``value``, else ``$PDFCO_LEARN_VARIABLE``, else None (off).

    Raises:
        InvalidParametersError: Not a valid variable name (lowercase letters, digits, ``-`` and ``_``).
    """
    name = value if value is not None else (os.environ.get(LEARN_VARIABLE_ENV) or None)
    if name is None:
        return None
    if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
        wanted = "a Prefect Variable name (lowercase letters, digits, - and _)"
        raise InvalidParametersError(caller, [f"learn_variable: expected {wanted}, got {name!r}"])
    return name


async def load_book(name: str | None, book: DurationBook = BOOK) -> None:
    """Merges the durations kept in Prefect Variable ``name`` into ``book``, once per process."""
    if name is None or name in book.loaded:
        return
    book.loaded.add(name)
    try:
        from prefect.variables import Variable

        read: Any = Variable.aget  # typed as returning None by Prefect's sync/async dispatch
        book.merge(await read(name, default=None))
    except Exception as error:  # learning is an optimisation: a wait never fails for it
        logger.warning("Could not read learnt job durations from Prefect Variable %r: %s", name, error)


async def save_book(name: str | None, book: DurationBook = BOOK) -> None:
    """Writes ``book``'s durations to Prefect Variable ``name`` when something was learnt since the last save."""
    if name is None or not book.changed:
        return
    book.changed = False
    value: Any = book.snapshot()
    try:
        from prefect.variables import Variable

        await Variable.aset(name, value, overwrite=True)
    except Exception as error:
        logger.warning("Could not keep learnt job durations in Prefect Variable %r: %s", name, error)


@asynccontextmanager
async def kept_in(name: str | None, book: DurationBook = BOOK) -> AsyncIterator[DurationBook]:
    """Around a wait: reads Prefect Variable ``name`` into ``book`` first (once per process) and writes back
    what was learnt at the end, however the wait ends. ``name`` None: learning stays in the process."""
    await load_book(name, book)
    try:
        yield book
    finally:
        await save_book(name, book)
