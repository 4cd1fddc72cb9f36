"""How often to ask ``/v1/job/check``: where the first check goes, and the checks after it, as data.

Each check costs 2 credits. The peers poll on a fixed tick (PDF.co's n8n node, https://github.com/pdfdotco/n8n-nodes-pdfco,
every 3 s; its MCP server, https://pypi.org/project/pdfco-mcp/, every 1 s); PDF.co's own KB
(https://apidocs.pdf.co/kb/Background%20Job%20(job-check)/how-are-credits-spent-for-async-jobs)
advises 10-15 s between checks for large files and a cap of about 25 s. We start quick (most jobs take a few
seconds), grow by half each time, and stop growing at 30 s: a 30-minute wait then costs about 65 checks
(130 credits) instead of 600 (n8n) or 1,800 (MCP).

``Plan`` is one wait's schedule, measured from the job's submit:

- **learnt** (``learn.Estimate`` of the operation's recent jobs): the first check once the quickest recent
  jobs ended a tolerance ago (``max(initial_seconds, learned_share x their time)``), no later than
  ``learned_share`` after the slowest did; then checks ``learned_share`` (15%) of the time since the submit
  apart, so that a job is learnt of at most that late and the checks grow with the wait;
- **cold** (nothing learnt yet): the backoff above, first check ``initial_seconds`` after the submit (not at
  once: a check right after the submit always reads ``working``), and no gap longer than ``cold_share``
  (25%) of the time since the submit once the backoff has grown past ``1.5 x initial_seconds`` (3 s: a job of
  12 s or less is then learnt of within 3 s);
- **callbacks** (the block has a ``callback_url``): the waits sleep on the job's end event; the checks above
  are replaced by a safety-net check every ``safety_net_seconds`` (5 minutes; the first one sooner when the
  operation's durations are known: twice the expected end, or 30 s after it), so a lost callback costs time,
  never the result.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypedDict

from prefect.context import TaskRunContext

from prefect_pdfco._retry import backoff_delay
from prefect_pdfco._validate import check_number
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.jobs import events as _events
from prefect_pdfco.jobs import learn as _learn
from prefect_pdfco.ui.logs import run_logger

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials
    from prefect_pdfco.jobs.learn import Estimate

__all__ = ["DEFAULT_POLL_POLICY", "Plan", "PollPolicy", "attempt_of_task", "before_attempt", "retry_delay_after"]


class _Curve(TypedDict):
    """A policy's delays in the words of ``backoff_delay``, the one formula for every backoff of the package."""

    initial: float
    multiplier: float
    maximum: float
    jitter: float


def _no_jitter() -> float:
    return 0.0


@dataclass(frozen=True)
class PollPolicy:
    """Delays between job checks.

    Attributes:
        initial_seconds: Delay before the first check (``wait_for_job``) or the first retry (``check_job``).
        multiplier: Growth per check.
        max_seconds: Cap on one delay.
        jitter: Fraction of a delay drawn at random, so jobs submitted together are not checked together.
        learned_share: Once the learnt first check found the job working, the checks are at most this share of
            the time since the submit apart (and so learn of the end at most that late).
        cold_share: With nothing learnt, no gap longer than this share of the time since the submit (a gap of
            ``1.5 x initial_seconds`` is always allowed).
        safety_net_seconds: With callbacks, the longest sleep on the job's end event before a check anyway.
        learn: Learn from finished jobs and place the first check at their expected end; False: cold always.
    """

    initial_seconds: float = 2.0
    multiplier: float = 1.5
    max_seconds: float = 30.0
    jitter: float = 0.2
    learned_share: float = 0.15
    cold_share: float = 0.25
    safety_net_seconds: float = 300.0
    learn: bool = True

    def __post_init__(self) -> None:
        check_number(self.initial_seconds, "initial_seconds", caller="PollPolicy")
        check_number(self.max_seconds, "max_seconds", caller="PollPolicy")
        check_number(self.safety_net_seconds, "safety_net_seconds", caller="PollPolicy")
        if check_number(self.multiplier, "multiplier", caller="PollPolicy") < 1:
            raise InvalidParametersError("PollPolicy", [f"multiplier: must be 1 or more, got {self.multiplier:g}"])
        if check_number(self.jitter, "jitter", caller="PollPolicy", allow_zero=True) >= 1:
            raise InvalidParametersError("PollPolicy", [f"jitter: must be under 1, got {self.jitter:g}"])
        for name in ("learned_share", "cold_share"):
            if check_number(getattr(self, name), name, caller="PollPolicy") >= 1:
                raise InvalidParametersError("PollPolicy", [f"{name}: must be under 1, got {getattr(self, name):g}"])
        if not isinstance(self.learn, bool):
            raise InvalidParametersError("PollPolicy", [f"learn: expected True or False, got {self.learn!r}"])

    def delay(self, check_number: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay after check number ``check_number`` (1-based); never above the cap."""
        return backoff_delay(check_number, **self._curve(), rand=rand)

    def schedule(self, total_seconds: float) -> list[float]:
        """Un-jittered delays whose sum first reaches ``total_seconds``.

        ``len(schedule(t))`` is the number of retries a ``check_job`` needs to wait about ``t`` seconds.
        """
        delays: list[float] = []
        while sum(delays) < total_seconds:
            delays.append(backoff_delay(len(delays) + 1, **self._curve(), rand=_no_jitter))
        return delays

    def _curve(self) -> _Curve:
        return {
            "initial": self.initial_seconds,
            "multiplier": self.multiplier,
            "maximum": self.max_seconds,
            "jitter": self.jitter,
        }

    def retry_delays(self, total_seconds: float) -> list[float]:
        """The growing part of ``schedule``, for Prefect's ``retry_delay_seconds``.

        Prefect takes at most 50 delays and repeats the last one, so the list stops at the first capped delay.
        """
        delays = self.schedule(total_seconds)
        growing = [delay for delay in delays if delay < self.max_seconds]
        return [*growing, self.max_seconds] if len(growing) < len(delays) else growing


@dataclass(frozen=True)
class Plan:
    """One wait's schedule: delays measured from the job's submit (see the module docstring).

    Attributes:
        policy: The policy.
        estimate: What the operation's recent jobs took; None for the cold schedule.
    """

    policy: PollPolicy
    estimate: Estimate | None = None

    def delay(self, since_submit: float, checks: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the next check, ``since_submit`` seconds after the submit, ``checks`` made.

        0 means check now (e.g. a wait that starts long after the submit).
        """
        policy = self.policy
        if self.estimate is None:
            if checks == 0:
                return max(0.0, policy.delay(1, rand) - since_submit)
            bound = max(1.5 * policy.initial_seconds, policy.cold_share * since_submit)
            return min(policy.delay(checks + 1, rand), bound)
        tolerance = max(policy.initial_seconds, policy.learned_share * self.estimate.low)
        at = self.estimate.first_check(tolerance, policy.learned_share)
        if checks == 0 or since_submit < self.estimate.low:  # no check yet where the jobs end
            # The jitter comes out of the window after the quickest jobs ended, not out of the whole delay: a
            # check before that window is a wasted one.
            return max(0.0, at - (at - self.estimate.low) * policy.jitter * rand() - since_submit)
        gap = min(policy.max_seconds, max(policy.initial_seconds / 2, policy.learned_share * since_submit))
        return gap * (1.0 - policy.jitter * rand())

    def safety_net(self, since_submit: float, checks: int) -> float:
        """With callbacks: the longest sleep on the job's end event before a check anyway.

        ``safety_net_seconds``; but before the first check, when the operation's durations are known, no longer
        than twice the expected end or ``CALLBACK_GRACE_SECONDS`` after it: a lost callback then costs one
        check and about the job's time, not minutes.
        """
        net = self.policy.safety_net_seconds
        if self.estimate is None or checks:
            return net
        tolerance = max(self.policy.initial_seconds, self.policy.learned_share * self.estimate.low)
        expected = self.estimate.first_check(tolerance, self.policy.learned_share)
        return max(0.0, min(net, max(2 * expected, expected + CALLBACK_GRACE_SECONDS) - since_submit))


DEFAULT_POLL_POLICY = PollPolicy()
#: PDF.co's callback, the receiver's confirming check and the event's way to the waiting process take seconds:
#: a job whose end event is this much later than its expected end gets a check (its callback may be lost).
CALLBACK_GRACE_SECONDS = 30.0


# --- check_job's attempts: Prefect sleeps between them; an attempt only chooses what it waits for first ---


def attempt_of_task() -> tuple[int, int, float]:
    """(this attempt's number, the attempts allowed, seconds since the first attempt started)."""
    ctx = TaskRunContext.get()
    if ctx is None:  # called through .fn(): one attempt, and it is the last
        return 1, 1, 0.0
    start = ctx.task_run.start_time
    waited = (datetime.now(timezone.utc) - start).total_seconds() if start else 0.0
    return ctx.task_run.run_count, ctx.task.retries + 1, waited


def retry_delay_after(attempt: int) -> float | None:
    """The delay Prefect will wait after attempt ``attempt`` (before its jitter), None outside a task run.

    ``retry_delay_after(0)`` is the first delay: ``check_job``'s first attempt sleeps it before its check.
    """
    ctx = TaskRunContext.get()
    delays = ctx.task.retry_delay_seconds if ctx is not None else None
    if isinstance(delays, (int, float)):
        return float(delays)
    if isinstance(delays, Sequence) and delays:
        # Prefect picks delays[retries so far], repeating the last one.
        return float(delays[min(max(0, attempt - 1), len(delays) - 1)])
    return None


async def before_attempt(
    credentials: PdfcoCredentials,
    job_id: str,
    entry: _learn.Submitted | None,
    attempt: int,
    waited: float,
    learn_variable: str | None = None,
) -> bool:
    """What an attempt of ``check_job`` waits for before its check; True when that check must be the last.

    Prefect's retry delays are fixed when the task is made, so only the waiting *inside* an attempt can follow
    the job: the first attempt sleeps until the job's expected end (learnt) or the first retry delay (cold)
    instead of checking right after the submit, which always reads ``working``. With callbacks every attempt
    sleeps on the job's end event, at most ``safety_net_seconds`` and no longer than the retry delays add up
    to; the attempt that reaches that budget makes the last (forced) check.
    """
    policy = DEFAULT_POLL_POLICY
    if getattr(credentials, "callback_url", None):
        budget = retry_budget()
        if waited >= budget:
            return True
        try:
            await _events.wait_for_end_event(credentials, job_id, min(policy.safety_net_seconds, budget - waited))
        except Exception as error:  # no event stream: the retries poll, as without callbacks
            run_logger().warning("Job %s: cannot wait for its end event (%s); checking on retries", job_id, error)
        return False
    if attempt == 1:
        await _learn.load_book(learn_variable)
        estimate = _learn.BOOK.estimate(entry.key) if entry is not None else None
        since = max(0.0, time.monotonic() - entry.at) if entry is not None else 0.0
        if estimate is not None:
            await asyncio.sleep(Plan(policy, estimate).delay(since, 0))
        else:
            await asyncio.sleep(max(0.0, (retry_delay_after(0) or 0.0) - since))
    return False


def retry_budget() -> float:
    """What the delays between this task's attempts add up to (Prefect repeats the last one)."""
    ctx = TaskRunContext.get()
    if ctx is None:
        return 0.0
    return sum(retry_delay_after(attempt) or 0.0 for attempt in range(1, ctx.task.retries + 1))
