"""Where the checks go and how the waits end, on a virtual clock: no Prefect, no network.

PDF.co is a ``Script`` of job states in virtual time (working until ``ends_at``, then its end status), answered
either by ``FakeClient`` (the ``check`` the waits call, nothing else) or by the real ``PdfcoClient`` over an
``httpx.MockTransport``. Every check is recorded with its time, so the tests count credits and measure gaps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from prefect_pdfco._exceptions import (
    AuthenticationError,
    InvalidParametersError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
)
from prefect_pdfco._learning import Pacer
from prefect_pdfco._waiting import (
    DurationBook,
    Estimate,
    Plan,
    Submitted,
    Waiter,
    check_count,
    observe_end,
    outcome,
    retry_delays,
    wait_many,
    wait_one,
)
from prefect_pdfco.models import MIN_CHECK_GAP_SECONDS, JobResult, JobStatus, PollPolicy
from tests.core._clock import VirtualClock

STEADY = PollPolicy(jitter=0.0)  # initial 2 s, x1.5, cap 30 s; shares 15% (learnt) and 25% (cold)
ENDPOINT = "/v1/pdf/convert/from/html"
KEY = "pdf/convert/from/html"
API = "https://api.pdf.co"


def never() -> float:
    return 0.0


# --- PDF.co in virtual time ----------------------------------------------------------------------------------


@dataclass
class Job:
    ends_at: float | None  # None: never ends
    status: str = "success"
    duration_ms: float | None = None
    failures: list[str] = field(default_factory=list)  # "503", "connect" or "429": the next checks fail so


@dataclass
class Check:
    job_id: str
    at: float
    force: bool


class Script:
    """PDF.co's job check over scripted jobs; an id it does not hold is unknown (``working`` unless forced)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self.checks: list[Check] = []

    def add(self, job_id: str, ends_in: float | None, **options: Any) -> str:
        self.jobs[job_id] = Job(None if ends_in is None else self.clock.monotonic() + ends_in, **options)
        return job_id

    def answer(self, job_id: str, force: bool) -> dict[str, Any] | str:
        now = self.clock.monotonic()
        self.checks.append(Check(job_id, now, force))
        job = self.jobs.get(job_id)
        if job is not None and job.failures:
            return job.failures.pop(0)
        if job is None:
            status = "unknown" if force else "working"
        elif job.ends_at is None or now < job.ends_at:
            status = "working"
        else:
            status = job.status
        body: dict[str, Any] = {"status": status, "remainingCredits": 1000}
        if status == "success":
            body.update(jobId=job_id, url="https://pdf-temp-files.s3.amazonaws.com/r.pdf")
            if job is not None and job.duration_ms is not None:
                body["jobDuration"] = job.duration_ms
        if status == "failed":
            body["message"] = "Damaged document"
        return body

    def times(self, job_id: str, since: float = 0.0) -> list[float]:
        """When each check of ``job_id`` was made, in seconds after ``since``."""
        return [check.at - since for check in self.checks if check.job_id == job_id]


class FakeClient:
    """The client as the waits see it: ``check`` and ``clock``, optionally paced."""

    def __init__(self, script: Script, *, pacer: Pacer | None = None, cap: float | None = None) -> None:
        self.script, self.clock, self.pacer, self.cap = script, script.clock, pacer, cap

    async def check(self, job_id: str, *, force: bool = False, deadline: float | None = None) -> JobResult:
        if self.pacer is not None:
            self.pacer.record(await self.pacer.acquire(self.cap, deadline=deadline), rate_limited=False)
        body = self.script.answer(job_id, force)
        if body == "503":
            raise ServerError("<html>down</html>", status_code=503, endpoint="/v1/job/check")
        if body == "connect":
            raise PdfcoConnectionError("connection refused", endpoint="/v1/job/check", may_have_reached_server=False)
        if body == "429":
            raise RateLimitError("Too many requests", status_code=429, endpoint="/v1/job/check")
        assert isinstance(body, dict)
        return JobResult.model_validate({"jobId": job_id, **body})


def pdfco_transport(script: Script) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/job/check"
        sent = json.loads(request.content)
        body = script.answer(sent["jobid"], bool(sent.get("force")))
        if body == "503":
            return httpx.Response(503, text="<html>down</html>")
        if body == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if body == "429":
            return httpx.Response(429, json={"error": True, "message": "Too many requests"})
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


@asynccontextmanager
async def client_for(kind: str, script: Script, *, cap: float | None = None) -> AsyncIterator[Any]:
    """``fake``: FakeClient; ``pdfco``: the real PdfcoClient over a MockTransport, no retries, its own pacer."""
    pacer = Pacer(clock=script.clock)
    if kind == "fake":
        yield FakeClient(script, pacer=pacer, cap=cap)
        return
    from prefect_pdfco._client import PdfcoClient
    from prefect_pdfco.models import RetryPolicy

    retry = RetryPolicy(max_attempts=1, rate_limit_budget_seconds=0)
    async with PdfcoClient(
        "test-key", base_url=API, transport=pdfco_transport(script), clock=script.clock, pacer=pacer,
        retry_policy=retry, requests_per_second=cap,
    ) as client:  # fmt: skip
        yield client


CLIENTS = pytest.mark.parametrize("kind", ["fake", "pdfco"])


@pytest.fixture
def script(clock: VirtualClock) -> Script:
    return Script(clock)


@pytest.fixture
def book() -> DurationBook:
    return DurationBook()


def submit(script: Script, book: DurationBook, job_id: str, ends_in: float | None, **options: Any) -> Submitted:
    """A job submitted now by this process: scripted, and noted in ``book`` as ``PdfcoClient.submit`` does."""
    script.add(job_id, ends_in, **options)
    return book.note_submitted(job_id, ENDPOINT, at=script.clock.monotonic())


def submit_many(script: Script, book: DurationBook, prefix: str, count: int, ends_in: float) -> list[str]:
    ids = [f"{prefix}{index}" for index in range(count)]
    for job_id in ids:
        submit(script, book, job_id, ends_in)
    return ids


class Recorder:
    """A ``WaitObserver`` that keeps what it hears."""

    def __init__(self) -> None:
        self.checks: list[tuple[str, JobStatus | None]] = []
        self.ends: list[tuple[str, str, int, float]] = []

    def checked(self, job_id: str, result: JobResult | None) -> None:
        self.checks.append((job_id, result.status if result is not None else None))

    async def ended(self, job_id: str, outcome: JobResult | JobError, checks: int, waited: float) -> None:
        self.ends.append((job_id, type(outcome).__name__, checks, waited))


# --- learning and the plan, as plain units -------------------------------------------------------------------


def test_an_estimate_is_the_spread_of_recent_jobs() -> None:
    book = DurationBook(samples=24)
    assert book.estimate(KEY) is None and book.estimate(None) is None
    for seconds in (12.0, 10.0, 11.0):
        book.observe(KEY, seconds)
    assert book.estimate(KEY) == Estimate(10.0, 12.0, 3)  # few samples: min and max
    for seconds in range(100):  # only the latest 24 are kept: 76..99
        book.observe(KEY, float(seconds))
    estimate = book.estimate(KEY)
    assert estimate is not None and estimate.samples == 24
    assert 76 < estimate.low < 78 and 97 < estimate.high < 99  # 5th and 95th percentiles
    for nonsense in (math.nan, math.inf, -1.0):
        book.observe(KEY, nonsense)
    assert book.estimate(KEY) == estimate and book.changed
    book.clear()
    assert book.estimate(KEY) is None and not book.changed


def test_submits_are_keyed_by_endpoint_and_the_registry_is_bounded() -> None:
    book = DurationBook(submits=3)
    entry = book.note_submitted("J0", "/v1/pdf/merge/", at=5.0)
    assert (entry.key, entry.at, entry.last_working) == ("pdf/merge", 5.0, None)
    assert book.note_submitted("J1", "v1/pdf/convert/from/html", at=6.0).key == KEY
    for index in range(2, 6):
        book.note_submitted(f"J{index}", ENDPOINT, at=float(index))
    assert [book.submitted(f"J{index}") is not None for index in range(6)] == [False] * 3 + [True] * 3


def test_a_duration_is_pdfcos_job_duration_within_what_the_checks_saw_else_a_guess() -> None:
    book = DurationBook()
    entry = Submitted(KEY, at=100.0, last_working=108.0)
    # jobDuration inside (last working check, success check]: taken as is
    assert observe_end(entry, ended_by=112.0, job_duration_ms=9_500, book=book) == 9.5
    # outside it (another clock, or queue time left out): clamped to what the checks saw
    assert observe_end(entry, ended_by=112.0, job_duration_ms=60_000, book=book) == 12.0
    assert observe_end(entry, ended_by=112.0, job_duration_ms=1_000, book=book) == 8.0
    # no jobDuration: the middle of (8, 12]
    assert observe_end(entry, ended_by=112.0, job_duration_ms=None, book=book) == 10.0
    # found done by the first check: counted a share earlier than the check, so learning drifts down, not up
    first = Submitted(KEY, at=100.0)
    assert observe_end(first, ended_by=120.0, job_duration_ms=None, share=0.15, book=book) == pytest.approx(17.0)
    estimate = book.estimate(KEY)  # the 5th and 95th percentiles of 8, 9.5, 10, 12 and 17
    assert estimate is not None and (estimate.low, estimate.high, estimate.samples) == pytest.approx((8.3, 16.0, 5))


def test_the_cold_plan_checks_after_the_first_delay_and_keeps_gaps_within_a_quarter() -> None:
    plan = Plan(STEADY)
    assert plan.delay(0.0, 0, never) == 2.0  # no check right after the submit
    assert plan.delay(0.5, 0, never) == 1.5  # measured from the submit
    assert plan.delay(5.0, 0, never) == 0.0  # a wait that starts late checks at once
    since, checks = plan.delay(0.0, 0, never), 1
    while since < 1800:
        gap = plan.delay(since, checks, never)
        assert 0 < gap <= max(1.5 * STEADY.initial_seconds, STEADY.cold_share * since)
        assert gap <= STEADY.delay(checks + 1, never)  # never slower than the backoff
        since, checks = since + gap, checks + 1
    assert checks <= 71  # a 30-minute wait (the plain backoff makes 65)


def test_the_learnt_plan_checks_first_where_jobs_end_then_within_fifteen_percent_of_the_wait() -> None:
    plan = Plan(STEADY, Estimate(low=40.0, high=50.0, samples=10))
    assert plan.delay(0.0, 0, never) == 46.0  # quickest (40 s) + 15% of it
    assert plan.delay(10.0, 0, never) == 36.0
    since = 46.0
    for checks in range(1, 30):
        gap = plan.delay(since, checks, never)
        assert gap == min(STEADY.max_seconds, STEADY.learned_share * since)
        since += gap
    # a short job: the tolerance is at least initial_seconds, but never beyond 15% after the slowest job
    assert Plan(STEADY, Estimate(1.0, 1.2, 3)).delay(0.0, 0, never) == pytest.approx(1.38)
    assert Plan(STEADY, Estimate(1.0, 5.0, 3)).delay(0.0, 0, never) == 3.0
    # a job checked cold before its operation's durations were learnt (a batch): next check where jobs end
    assert plan.delay(5.0, 2, never) == 41.0
    # the first check's jitter comes out of the window after the quickest jobs ended, never before it
    jittery = Plan(PollPolicy(jitter=0.5), Estimate(low=40.0, high=50.0, samples=10))
    assert jittery.delay(0.0, 0, lambda: 1.0) == 43.0 and jittery.delay(0.0, 0, never) == 46.0


def test_with_callbacks_the_first_safety_net_check_comes_soon_after_the_expected_end() -> None:
    assert Plan(STEADY).safety_net(0.0, 0) == 300.0  # nothing learnt: every 5 minutes
    learnt = Plan(STEADY, Estimate(low=40.0, high=50.0, samples=10))
    assert learnt.safety_net(0.0, 0) == 92.0  # twice the expected end (46 s)
    assert learnt.safety_net(10.0, 0) == 82.0
    assert Plan(STEADY, Estimate(1.0, 1.2, 3)).safety_net(0.0, 0) == pytest.approx(31.38)  # or 30 s after it
    assert Plan(STEADY, Estimate(400.0, 500.0, 3)).safety_net(0.0, 0) == 300.0  # never beyond the net
    assert learnt.safety_net(100.0, 1) == 300.0  # after a check: the plain net


def test_a_snapshot_fits_a_prefect_variable_and_merges_back_ignoring_malformed_entries() -> None:
    book = DurationBook()
    for index in range(300):
        for seconds in range(30):
            book.observe(f"pdf/operation-number-{index}", seconds + 0.123)
    snapshot = book.snapshot()
    assert len(json.dumps(snapshot)) <= 5000  # Prefect's limit on a Variable's value
    assert "pdf/operation-number-299" in snapshot and "pdf/operation-number-0" not in snapshot  # recent first
    assert snapshot["pdf/operation-number-299"][-1] == 29.1 and len(snapshot["pdf/operation-number-299"]) == 12
    fresh = DurationBook()
    fresh.observe("pdf/merge", 7.0)
    stored: dict[object, object] = {"bad": "x", "worse": [1.0, "2", -3, math.inf, True], 7: [1.0]}
    stored.update(snapshot)
    stored["pdf/merge"] = [3.0]
    fresh.merge(stored)
    fresh.merge(["not", "a", "mapping"])
    assert fresh.estimate("worse") == Estimate(1.0, 1.0, 1)
    assert fresh.estimate("pdf/merge") == Estimate(3.0, 7.0, 2)
    assert fresh.estimate("pdf/operation-number-299") is not None and fresh.estimate("bad") is None
    small = DurationBook(samples=2)
    for seconds in (7.0, 8.0):
        small.observe(KEY, seconds)
    small.merge({KEY: [1.0, 2.0]})
    assert small.estimate(KEY) == Estimate(7.0, 8.0, 2)  # stored durations go before this process's: older


@pytest.mark.parametrize(
    ("status", "forced", "expected"),
    [
        ("working", False, None),
        ("success", False, JobResult),
        ("failed", False, JobFailed),
        ("aborted", False, JobAborted),
        ("unknown", True, JobNotFound),
        ("working", True, JobTimeout),
    ],
)
def test_outcome_gives_each_status_its_verdict(status: str, forced: bool, expected: type | None) -> None:
    result = JobResult.model_validate({"jobId": "J1", "status": status, "message": "why"})
    try:
        verdict: object = outcome(result, forced=forced, waited_seconds=12.4)
    except JobError as error:
        verdict = error
        assert error.job_id == "J1" and error.status == status
    assert verdict is None if expected is None else isinstance(verdict, expected)
    if isinstance(verdict, JobTimeout):
        assert verdict.waited_seconds == 12.4 and "12 s" in str(verdict)


# --- check_job's retries: constant time, at most 50 delays, none under a second ------------------------------


def test_the_retry_schedule_grows_by_the_policy_to_its_cap_and_covers_the_wait() -> None:
    assert retry_delays(STEADY, 1800) == pytest.approx([2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30])
    assert check_count(STEADY, 1800) == 65  # 94.3 s in the growing part, then 57 x 30 s
    assert retry_delays(STEADY, 10) == [2, 3, 4.5, 6.75] and check_count(STEADY, 10) == 4
    assert check_count(STEADY, 0.5) == 1


@pytest.mark.parametrize(
    "policy",
    [
        STEADY,
        PollPolicy(initial_seconds=1e-6, max_seconds=1e-6),
        PollPolicy(initial_seconds=1e-300, multiplier=1.0001),
        PollPolicy(initial_seconds=0.3, multiplier=1.0, max_seconds=60),
        PollPolicy(initial_seconds=5.0, max_seconds=2.0),
    ],
)
@pytest.mark.parametrize("total", [0.1, 7.0, 1800.0, 7 * 24 * 3600.0])
def test_retry_delays_are_few_never_under_the_floor_and_add_up_to_the_wait(policy: PollPolicy, total: float) -> None:
    delays, count = retry_delays(policy, total), check_count(policy, total)
    assert 1 <= len(delays) <= 50 and min(delays) >= MIN_CHECK_GAP_SECONDS
    assert len(delays) == min(count, len(delays)) and delays == sorted(delays)
    # as Prefect applies them (the last one repeated), `count` delays reach the total and one fewer does not
    applied = sum(delays[:count]) + max(0, count - len(delays)) * delays[-1]
    last = delays[min(count, len(delays)) - 1]
    assert applied >= total - 1e-6 and applied - last < total


@pytest.mark.timeout(5)
def test_a_huge_deadline_builds_its_schedule_at_once() -> None:
    tiny = PollPolicy(initial_seconds=1e-9, max_seconds=1e-9)
    for policy in (STEADY, tiny, PollPolicy(multiplier=1.0)):
        assert check_count(policy, 1e308) > 1e300
        assert len(retry_delays(policy, 1e308)) <= 50
    with pytest.raises(InvalidParametersError, match="total_seconds"):
        check_count(STEADY, math.inf)


# --- the waits, on the virtual clock --------------------------------------------------------------------------


@CLIENTS
async def test_a_cold_wait_never_checks_right_after_the_submit_and_learns_of_the_end_within_a_quarter(
    kind: str, script: Script, book: DurationBook
) -> None:
    start = script.clock.monotonic()
    submit(script, book, "J1", 40.0, duration_ms=40_000)
    async with client_for(kind, script) as client:
        result = await wait_one(client, "J1", max_wait_seconds=600, policy=STEADY, book=book)
    checks = script.times("J1", start)
    assert result.status is JobStatus.SUCCESS and result.job_id == "J1"
    assert checks[0] == STEADY.initial_seconds  # not at once: that check always reads "working"
    assert checks[-2] < 40 <= checks[-1] <= 40 * 1.25  # learnt of the end at most a quarter of the wait late
    for before, after in itertools.pairwise(checks):
        assert after - before <= max(1.5 * STEADY.initial_seconds, 0.25 * before)
    assert book.estimate(KEY) == Estimate(40.0, 40.0, 1)  # and the book learnt PDF.co's jobDuration
    assert book.submitted("J1") is not None and book.submitted("J1").last_working == start + checks[-2]  # type: ignore[union-attr]


async def test_after_three_jobs_the_first_check_is_where_they_ended_and_is_the_only_one(
    script: Script, book: DurationBook
) -> None:
    client = FakeClient(script)
    for index in range(3):
        submit(script, book, f"W{index}", 40.0, duration_ms=40_000)
        await wait_one(client, f"W{index}", max_wait_seconds=600, policy=STEADY, book=book)
    start = script.clock.monotonic()
    submit(script, book, "J1", 40.0, duration_ms=40_000)
    await wait_one(client, "J1", max_wait_seconds=600, policy=STEADY, book=book)
    assert script.times("J1", start) == [46.0]  # 40 s + 15%: one check, 2 credits


async def test_a_job_slower_than_learnt_is_checked_within_fifteen_percent_of_its_wait(
    script: Script, book: DurationBook
) -> None:
    book.observe(KEY, 10.0)
    start = script.clock.monotonic()
    submit(script, book, "J1", 100.0)
    await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=STEADY, book=book)
    checks = script.times("J1", start)
    assert checks[0] == 11.5  # 15% after the slowest job learnt (10 s), which is sooner than 10 s + 2 s
    for before, after in itertools.pairwise(checks):
        assert after - before == pytest.approx(max(MIN_CHECK_GAP_SECONDS, 0.15 * before))
    assert checks[-2] < 100 <= checks[-1] <= 115
    estimate = book.estimate(KEY)  # the wait taught the book: no jobDuration, so the middle of the last gap
    assert estimate is not None and checks[-2] < estimate.high <= checks[-1]


async def test_a_late_wait_checks_at_once_and_an_id_from_elsewhere_counts_from_the_wait(
    script: Script, book: DurationBook
) -> None:
    client = FakeClient(script)
    start = script.clock.monotonic()
    submit(script, book, "J1", 5.0)
    await script.clock.sleep(60)
    await wait_one(client, "J1", max_wait_seconds=600, policy=STEADY, book=book)
    assert script.times("J1", start) == [60.0]
    other = script.add("J2", 5.0)  # submitted elsewhere: nothing noted here
    await wait_one(client, other, max_wait_seconds=600, policy=STEADY, book=book)
    assert script.times("J2", start + 60) == [2.0, 5.0]
    # a JobSubmission from another process: the wait notes it with its own start, and uses what is learnt
    book.observe(KEY, 40.0)
    now = script.clock.monotonic()
    script.add("J3", 40.0)
    book.note_submitted("J3", ENDPOINT, at=now)
    await wait_one(client, "J3", max_wait_seconds=600, policy=STEADY, book=book)
    assert script.times("J3", now) == [46.0]


async def test_a_job_submitted_after_its_wait_began_is_checked_from_its_own_submit(
    script: Script, book: DurationBook
) -> None:
    book.observe(KEY, 40.0)
    waiter = Waiter(FakeClient(script), STEADY, 600, book=book)  # as a batch does
    await script.clock.sleep(30)
    start = script.clock.monotonic()
    submit(script, book, "J1", 40.0)
    await waiter.follow("J1")
    assert script.times("J1", start) == [46.0]


async def test_a_policy_that_does_not_learn_polls_cold_from_the_submit_and_teaches_nothing(
    script: Script, book: DurationBook
) -> None:
    book.observe(KEY, 40.0)
    start = script.clock.monotonic()
    submit(script, book, "J1", 5.0)
    await script.clock.sleep(1.0)
    cold = PollPolicy(jitter=0.0, learn=False)
    await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=cold, book=book)
    assert script.times("J1", start) == [2.0, 5.0]  # the cold first delay, counted from the submit
    assert book.estimate(KEY) == Estimate(40.0, 40.0, 1)


@CLIENTS
async def test_the_deadline_ends_with_one_forced_check_that_tells_not_found_from_timeout(
    kind: str, script: Script, book: DurationBook
) -> None:
    start = script.clock.monotonic()
    submit(script, book, "SLOW", None)
    recorder = Recorder()
    async with client_for(kind, script) as client:
        with pytest.raises(JobTimeout) as timeout:
            await wait_one(client, "SLOW", max_wait_seconds=60, policy=STEADY, book=book, observer=recorder)
        with pytest.raises(JobNotFound) as not_found:
            await wait_one(client, "NO-SUCH-JOB", max_wait_seconds=60, policy=STEADY, book=book)
    slow = [check for check in script.checks if check.job_id == "SLOW"]
    assert [check.force for check in slow] == [False] * (len(slow) - 1) + [True]  # only the last is forced
    assert slow[-1].at - start == 60.0  # at the deadline, not before and not long after
    assert timeout.value.job_id == "SLOW" and timeout.value.waited_seconds == 60.0
    assert "wait_for_job later to resume" in str(timeout.value)
    assert not_found.value.job_id == "NO-SUCH-JOB" and script.checks[-1].force
    assert recorder.checks == [("SLOW", JobStatus.WORKING)] * len(slow)
    assert recorder.ends == [("SLOW", "JobTimeout", len(slow), 60.0)]


@CLIENTS
@pytest.mark.parametrize("failure", ["503", "connect", "429"])
async def test_a_check_that_could_not_be_made_counts_as_working_and_on_the_last_check_as_a_timeout(
    kind: str, failure: str, script: Script, book: DurationBook
) -> None:
    start = script.clock.monotonic()
    submit(script, book, "J1", 10.0, failures=[failure, failure])
    recorder = Recorder()
    async with client_for(kind, script) as client:
        result = await wait_one(client, "J1", max_wait_seconds=600, policy=STEADY, book=book, observer=recorder)
        assert result.status is JobStatus.SUCCESS
        assert [status for _, status in recorder.checks][:2] == [None, None]  # told to the UI as "not made"
        assert book.submitted("J1").last_working is not None  # type: ignore[union-attr]
        assert script.times("J1", start)[:3] == [2.0, 5.0, 8.0]  # the inconclusive ones were retried as planned
        submit(script, book, "J2", None, failures=[failure] * 100)
        with pytest.raises(JobTimeout) as timeout:
            await wait_one(client, "J2", max_wait_seconds=20, policy=STEADY, book=book)
    assert "the last check could not be made" in str(timeout.value)
    assert isinstance(timeout.value.__cause__, (ServerError, PdfcoConnectionError, RateLimitError))


async def test_failed_and_aborted_jobs_end_the_wait_with_pdfcos_message(script: Script, book: DurationBook) -> None:
    submit(script, book, "F", 3.0, status="failed")
    submit(script, book, "A", 3.0, status="aborted")
    recorder = Recorder()
    client = FakeClient(script)
    with pytest.raises(JobFailed, match="Damaged document"):
        await wait_one(client, "F", max_wait_seconds=600, policy=STEADY, book=book, observer=recorder)
    with pytest.raises(JobAborted):
        await wait_one(client, "A", max_wait_seconds=600, policy=STEADY, book=book, observer=recorder)
    assert [(job_id, kind) for job_id, kind, _, _ in recorder.ends] == [("F", "JobFailed"), ("A", "JobAborted")]
    assert book.estimate(KEY) is None  # only successes teach durations


@CLIENTS
async def test_never_two_checks_of_one_job_closer_than_a_second_whatever_the_policy(
    kind: str, script: Script, book: DurationBook
) -> None:
    frantic = PollPolicy(initial_seconds=1e-6, max_seconds=1e-6, jitter=0.0, learn=False)
    start = script.clock.monotonic()
    submit(script, book, "J1", 5.0)
    async with client_for(kind, script) as client:
        await wait_one(client, "J1", max_wait_seconds=600, policy=frantic, book=book)
    checks = script.times("J1", start)
    assert len(checks) <= 6  # not the hundreds a 1 µs tick would make
    assert min(after - before for before, after in itertools.pairwise(checks)) >= MIN_CHECK_GAP_SECONDS
    # also with a batch that learns: a job woken from its cold sleep still keeps the floor
    submit(script, book, "J2", 30.0)
    submit(script, book, "J3", 0.5, duration_ms=0.0)
    await wait_many(FakeClient(script), ["J2", "J3"], max_wait_seconds=600, policy=STEADY, book=book)
    j2 = script.times("J2")
    assert min(after - before for before, after in itertools.pairwise(j2)) >= MIN_CHECK_GAP_SECONDS


@CLIENTS
async def test_time_queued_behind_the_pacer_counts_against_the_deadline(
    kind: str, script: Script, book: DurationBook
) -> None:
    start = script.clock.monotonic()
    submit(script, book, "J1", None)
    submit(script, book, "J2", None)
    async with client_for(kind, script, cap=0.1) as client:  # one request every 10 s
        results = await wait_many(client, ["J1", "J2"], max_wait_seconds=8, policy=STEADY, book=book)
    assert [type(result) for result in results] == [JobTimeout, JobTimeout]
    assert script.clock.monotonic() - start <= 8 + 2  # not 10 s per queued request past it
    assert len(script.checks) == 1  # J2's turn was past the deadline: no check was made for it
    assert "rate limit" in str(results[1])


async def test_a_batch_keeps_its_order_returns_failures_and_bounds_the_checks_in_flight(
    script: Script, book: DurationBook
) -> None:
    in_flight = most = 0

    class Slow(FakeClient):
        async def check(self, job_id: str, *, force: bool = False, deadline: float | None = None) -> JobResult:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                await self.clock.sleep(0.1)  # the answer takes a moment: the checks due together overlap
                return await super().check(job_id, force=force, deadline=deadline)
            finally:
                in_flight -= 1

    ids = submit_many(script, book, "J", 20, 1.0)
    script.jobs["J7"].status = "failed"
    ended: list[int] = []

    async def on_end(index: int, result: JobResult | JobError) -> None:
        ended.append(index)

    results = await wait_many(
        Slow(script), [*ids, "NO-SUCH-JOB"], max_wait_seconds=30, policy=STEADY, book=book, on_end=on_end
    )
    assert [result.job_id for result in results] == [*ids, "NO-SUCH-JOB"]
    assert isinstance(results[7], JobFailed) and isinstance(results[-1], JobNotFound)
    assert all(isinstance(result, JobResult) for index, result in enumerate(results[:-1]) if index != 7)
    assert most == 16  # the 20 jobs due together: checked at once, never more than the bound
    assert sum(check.job_id != "NO-SUCH-JOB" for check in script.checks) == 20  # one check each
    assert sorted(ended) == list(range(21))


async def test_a_check_that_fails_for_the_account_stops_the_whole_batch(script: Script, book: DurationBook) -> None:
    class WrongKey(FakeClient):
        async def check(self, job_id: str, *, force: bool = False, deadline: float | None = None) -> JobResult:
            self.script.answer(job_id, force)
            raise AuthenticationError("Unauthorized", status_code=401, endpoint="/v1/job/check")

    ids = submit_many(script, book, "J", 6, 1.0)
    with pytest.raises(AuthenticationError):
        await wait_many(WrongKey(script), ids, max_wait_seconds=600, policy=STEADY, book=book, concurrency=1)
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert [task for task in others if "VirtualClock" not in repr(task.get_coro())] == []  # none left checking
    assert len(script.checks) < len(ids)  # the jobs still queued were never checked (nor paid for)


async def test_a_batch_wakes_its_cold_sleepers_when_its_first_job_teaches_what_the_jobs_take(
    script: Script, book: DurationBook
) -> None:
    start = script.clock.monotonic()
    submit(script, book, "B", 30.0)  # asleep on its cold gap (5 s -> 8 s) when A ends
    await script.clock.sleep(0.5)
    submit(script, book, "A", 4.0, duration_ms=4_000)  # checked at 2.5 (working) and 5.5 (done: learnt)
    results = await wait_many(FakeClient(script), ["B", "A"], max_wait_seconds=600, policy=STEADY, book=book)
    assert all(isinstance(result, JobResult) for result in results)
    assert script.times("A", start) == [2.5, 5.5]
    b = script.times("B", start)
    assert b[:3] == [2.0, 5.0, 6.5]  # woken at 5.5 and planned again from what was learnt, not at 8.0


# --- callbacks: sleep on the job's end event, with a safety net ----------------------------------------------


class Events:
    """An ``EndSignal``: the job's end event comes ``delay`` after its end, or never (``lost``)."""

    def __init__(self, script: Script, *, lost: bool = False, delay: float = 0.5) -> None:
        self.script, self.lost, self.delay = script, lost, delay
        self.timeouts: list[float] = []

    async def __call__(self, job_id: str, timeout: float) -> bool:
        self.timeouts.append(timeout)
        clock, job = self.script.clock, self.script.jobs.get(job_id)
        end = job.ends_at if job is not None and job.ends_at is not None and not self.lost else math.inf
        if end + self.delay - clock.monotonic() > timeout:
            await clock.sleep(timeout)
            return False
        await clock.sleep(max(0.0, end + self.delay - clock.monotonic()))
        return True


async def test_with_callbacks_a_wait_sleeps_on_the_end_event_and_checks_once(
    script: Script, book: DurationBook
) -> None:
    events = Events(script)
    start = script.clock.monotonic()
    submit(script, book, "J1", 40.0)
    await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=STEADY, book=book, end_signal=events)
    assert events.timeouts == [300.0] and script.times("J1", start) == [40.5]
    ids = submit_many(script, book, "B", 5, 20.0)
    await wait_many(FakeClient(script), ids, max_wait_seconds=600, policy=STEADY, book=book, end_signal=events)
    assert sum(check.job_id.startswith("B") for check in script.checks) == 5  # one check per job


async def test_a_lost_callback_costs_a_safety_net_check_every_five_minutes_and_the_deadline_stays(
    script: Script,
) -> None:
    events, book = Events(script, lost=True), DurationBook()
    submit(script, book, "J1", 400.0)
    client = FakeClient(script)
    await wait_one(client, "J1", max_wait_seconds=1000, policy=STEADY, book=book, end_signal=events)
    assert events.timeouts == [300.0, 300.0] and len(script.checks) == 2  # found by the second net check
    events.timeouts.clear()
    submit(script, DurationBook(), "J2", None)
    with pytest.raises(JobTimeout):
        await wait_one(client, "J2", max_wait_seconds=500, policy=STEADY, book=DurationBook(), end_signal=events)
    assert events.timeouts == [300.0, 200.0]  # capped by the deadline, where the last check is forced
    assert [check.force for check in script.checks[2:]] == [False, True]


async def test_a_lost_callback_of_a_known_operation_costs_one_check_soon_after_its_expected_end(
    script: Script, book: DurationBook
) -> None:
    events = Events(script, lost=True)
    book.observe(KEY, 10.0)
    submit(script, book, "J1", 10.0)
    await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=STEADY, book=book, end_signal=events)
    assert events.timeouts == [41.5] and len(script.checks) == 1  # 30 s after the expected end (11.5 s)


async def test_when_events_cannot_be_had_the_wait_polls_instead(
    script: Script, book: DurationBook, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(job_id: str, timeout: float) -> bool:
        raise RuntimeError("no event stream")

    start = script.clock.monotonic()
    submit(script, book, "J1", 10.0)
    with caplog.at_level(logging.WARNING, logger="prefect_pdfco"):
        await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=STEADY, book=book, end_signal=broken)
    assert script.times("J1", start)[0] == STEADY.initial_seconds
    assert any("polling instead" in record.getMessage() for record in caplog.records)


async def test_an_end_event_whose_check_still_reads_working_is_used_once(script: Script, book: DurationBook) -> None:
    events = Events(script, delay=-5.0)  # the event comes 5 s before PDF.co's check says so
    start = script.clock.monotonic()
    submit(script, book, "J1", 20.0)
    await wait_one(FakeClient(script), "J1", max_wait_seconds=600, policy=STEADY, book=book, end_signal=events)
    checks = script.times("J1", start)
    assert checks[0] == 15.0 and checks[-1] >= 20.0
    assert len(checks) <= 4 and events.timeouts == [300.0]  # then the plan decides, not a tight loop on the event
