"""The one job check (``check_once``), the batch poller behind ``wait_for_jobs``, and when the waits check.

``check_once`` is judged on a table of PDF.co answers against respx routes, inside a flow run so that the jobs
ledger (what the UI's table and events report) is there to read. The poller runs against the emulator over
loopback, with a transport that counts the checks in flight. When the waits check (learnt, cold, callbacks) is
driven by a virtual clock shared with the emulator's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import types
from collections.abc import Iterator
from typing import NamedTuple

import httpx
import pytest
import respx
from prefect import flow

from prefect_pdfco import (
    AuthenticationError,
    JobAborted,
    JobFailed,
    JobNotFound,
    JobResult,
    JobStatus,
    JobTimeout,
    PdfcoClient,
    PdfcoCredentials,
    PollPolicy,
    ServerError,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco._retry import NO_RETRY
from prefect_pdfco.jobs import events as _events
from prefect_pdfco.jobs import learn as _learn
from prefect_pdfco.jobs import schedule as _schedule
from prefect_pdfco.jobs import wait as _wait
from prefect_pdfco.jobs.wait import CONCURRENT_CHECKS, JobWatch, check_once, poll_many, poll_until_done
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.ui import artifacts as _artifacts
from prefect_pdfco.ui import ledger as _ledger_module

from .conftest import API, API_KEY

HTML = {"html": "<p>one of many</p>"}
QUICK = PollPolicy(initial_seconds=0.01, max_seconds=0.01, jitter=0.0)

WORKING = {"status": "working", "remainingCredits": 950}
# Under PDF.co's older billing model the check that first reports success also bills the remaining pages.
SUCCESS = {"status": "success", "url": f"{API}/r.pdf", "pageCount": 3, "credits": 5, "remainingCredits": 940}

DOWN = None  # PDF.co's gateway answers 503 with an HTML page: the check could not be made


class Case(NamedTuple):
    """One check: what PDF.co answers (a job-check body, or DOWN), how it is asked, and what must come of it."""

    answer: dict[str, object] | None
    last: bool
    force: bool
    outcome: type[JobResult] | type[Exception] | None
    sends_force: bool
    ledger_status: str
    work_credits: int = 0


CASES = {
    "WORKING": Case(WORKING, False, False, None, False, "working"),
    "SUCCESS": Case(SUCCESS, False, False, JobResult, False, "success", work_credits=3),
    "FAILED": Case({"status": "failed", "message": "Damaged"}, False, False, JobFailed, False, "failed"),
    "ABORTED": Case({"status": "aborted"}, False, False, JobAborted, False, "aborted"),
    "UNKNOWN": Case({"status": "unknown"}, True, False, JobNotFound, True, "not-found"),
    "SLOW": Case(WORKING, True, False, JobTimeout, True, "timed-out"),
    "FORCED": Case(WORKING, False, True, None, True, "working"),
    # A check that could not be made: still working, unless it was the last one (a timeout, never a failure).
    "DOWN": Case(DOWN, False, False, None, False, "submitted"),
    "DOWN-LAST": Case(DOWN, True, False, JobTimeout, True, "timed-out"),
}


@pytest.mark.usefixtures("prefect_harness")
async def test_check_once_gives_each_answer_its_outcome_and_counts_every_check(pdfco: respx.MockRouter) -> None:
    sent_force: dict[str, bool] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent_force[body["jobid"]] = bool(body.get("force"))
        answer = CASES[body["jobid"]].answer
        return httpx.Response(503, text="<html>down</html>") if answer is DOWN else httpx.Response(200, json=answer)

    pdfco.post(f"{API}/v1/job/check").mock(side_effect=answer)
    outcomes: dict[str, JobResult | Exception | None] = {}
    watches = {job_id: JobWatch(job_id) for job_id in CASES}
    ledger: list[_ledger_module.JobRecord] = []

    @flow
    async def check_each() -> None:
        async with PdfcoClient(API_KEY, base_url=API, retry_policy=NO_RETRY) as client:
            for job_id, case in CASES.items():
                try:
                    outcome = await check_once(client, watches[job_id], last=case.last, waited=12.0, force=case.force)
                except Exception as error:
                    outcome = error
                outcomes[job_id] = outcome
        ledger.extend(_ledger_module.jobs_of_current_flow_run())

    await check_each()
    records = {record.job_id: record for record in ledger}
    for job_id, case in CASES.items():
        outcome = outcomes[job_id]
        assert (outcome is None) if case.outcome is None else isinstance(outcome, case.outcome), job_id
        assert sent_force[job_id] is case.sends_force, job_id
        assert watches[job_id].checks == 1, job_id
        record = records[job_id]
        assert (record.checks, record.check_credits, record.job_credits) == (1, 2, case.work_credits), job_id
        assert record.status == case.ledger_status, job_id
    assert watches["SUCCESS"].status is JobStatus.SUCCESS and watches["WORKING"].status is JobStatus.WORKING
    assert isinstance(watches["DOWN"].inconclusive, ServerError) and watches["DOWN"].status is None
    timeout = outcomes["DOWN-LAST"]
    assert isinstance(timeout, JobTimeout) and isinstance(timeout.__cause__, ServerError)
    assert timeout.waited_seconds == 12.0 and timeout.job_id == "DOWN-LAST"
    assert isinstance(outcomes["FAILED"], JobFailed) and outcomes["FAILED"].message == "Damaged"
    assert records["SUCCESS"].pages == 3 and records["SUCCESS"].remaining_credits == 940


async def test_check_once_logs_changes_of_state_and_the_end_with_the_checks_of_the_whole_wait(
    pdfco: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    pdfco.post(f"{API}/v1/job/check").mock(
        side_effect=[httpx.Response(200, json=body) for body in (WORKING, WORKING, SUCCESS)]
    )
    watch = JobWatch("J1", checks=2, logs_changes=True)  # two checks were made before (e.g. earlier attempts)
    async with PdfcoClient(API_KEY, base_url=API, retry_policy=NO_RETRY) as client:
        with caplog.at_level(logging.INFO, logger="prefect_pdfco"):
            assert await check_once(client, watch, last=False, waited=1.0) is None
            assert await check_once(client, watch, last=False, waited=2.0) is None
            result = await check_once(client, watch, last=False, waited=3.0)
    assert isinstance(result, JobResult) and result.status is JobStatus.SUCCESS
    lines = [record.getMessage() for record in caplog.records if record.name == "prefect_pdfco"]
    assert lines == ["Job J1 is working", "Job J1 is success", "Job J1 succeeded: 5 check(s) (10 credits), 3.0 s"]


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0) as emu:
        yield emu


class CountChecksInFlight(httpx.AsyncBaseTransport):
    """Holds each job check until ``target`` checks are in flight at once, and counts the most seen.

    If checks never overlap that much, the first one waits out a guard and lets everything through, so the
    test fails on its count instead of hanging.
    """

    GUARD_SECONDS = 10.0

    def __init__(self, target: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.target = target
        self.in_flight = self.most = 0
        self.crowded = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v1/job/check":
            return await self.inner.handle_async_request(request)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.target:
            self.crowded.set()
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.crowded.wait(), self.GUARD_SECONDS)
            self.crowded.set()
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _submit(emulator: PdfcoEmulator, count: int) -> list[str]:
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        return [(await client.submit("/v1/pdf/convert/from/html", HTML)).job_id for _ in range(count)]


async def test_wait_for_jobs_checks_the_jobs_that_are_due_at_once_within_a_bound_and_keeps_their_order(
    emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_ids = await _submit(emulator, 20)
    published: list[float] = []

    async def record_progress(self: _artifacts.Progress, fraction: float) -> None:
        published.append(fraction)

    monkeypatch.setattr(_artifacts.Progress, "set", record_progress)
    monkeypatch.setattr(_wait, "PROGRESS_INTERVAL_SECONDS", 3600.0)
    transport = CountChecksInFlight(target=CONCURRENT_CHECKS)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url, transport=transport) as client:
        results = await poll_many(client, job_ids, max_wait_seconds=600, policy=QUICK)

    assert transport.most == CONCURRENT_CHECKS  # 20 jobs due together: checked at once, never more than the bound
    assert [result.job_id for result in results] == job_ids
    assert all(isinstance(result, JobResult) and result.status is JobStatus.SUCCESS for result in results)
    assert emulator.stats()["job_checks"] == 20  # one check each: nothing checked twice
    assert published == [1.0]  # 20 jobs ended within one interval: one update of the progress artifact


async def test_batch_progress_is_published_at_most_once_per_interval(
    emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_ids = await _submit(emulator, 5)
    published: list[float] = []

    async def record_progress(self: _artifacts.Progress, fraction: float) -> None:
        published.append(fraction)

    monkeypatch.setattr(_artifacts.Progress, "set", record_progress)
    monkeypatch.setattr(_wait, "PROGRESS_INTERVAL_SECONDS", 0.0)  # every job's end is an interval apart
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        await poll_many(client, job_ids, max_wait_seconds=600, policy=QUICK, concurrency=1)
    assert published == [0.2, 0.4, 0.6, 0.8, 1.0]


async def test_a_check_that_fails_for_the_account_stops_the_whole_batch(emulator: PdfcoEmulator) -> None:
    job_ids = await _submit(emulator, 6)
    async with PdfcoClient("wrong-key", base_url=emulator.base_url) as client:
        with pytest.raises(AuthenticationError):
            await poll_many(client, job_ids, max_wait_seconds=600, policy=QUICK, concurrency=1)
    # No check is left running (and paying) after the failure, and the jobs still queued were never checked.
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
    assert emulator.stats()["unauthorized"] < len(job_ids)


async def test_jobs_still_working_at_the_deadline_end_with_one_forced_check_each(emulator: PdfcoEmulator) -> None:
    emulator.inject_job_outcome("never", times=3)
    job_ids = await _submit(emulator, 3)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        results = await poll_many(client, [*job_ids, "NO-SUCH-JOB"], max_wait_seconds=0.2, policy=QUICK)
    # Only a forced check tells an unknown id (PDF.co says "working" otherwise): the deadline made one for each.
    assert [type(result).__name__ for result in results] == ["JobTimeout"] * 3 + ["JobNotFound"]
    assert [result.job_id for result in results] == [*job_ids, "NO-SUCH-JOB"]


# --- When the waits check: learnt, cold, and on callbacks. Driven by a virtual clock: the waits' sleeps move it
# --- (and the emulator's) forward at once, so a 10-minute wait takes milliseconds and no wall time is read.

STEADY = PollPolicy(jitter=0.0)  # the default schedule without its random part
CALLBACKS = "https://hooks.example.com/pdfco"


class VirtualTime:
    """The clock of the waits (``time.monotonic`` and ``asyncio.sleep`` of wait, schedule and learn)."""

    def __init__(self, emulator: PdfcoEmulator) -> None:
        self.now = 1_000.0
        self.emulator = emulator
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.advance(seconds)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        if seconds > 0:
            self.emulator.advance_clock(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def virtual(emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[VirtualTime]:
    clock = VirtualTime(emulator)
    shim_asyncio = types.SimpleNamespace(**{**vars(asyncio), "sleep": clock.sleep})
    shim_time = types.SimpleNamespace(monotonic=clock.monotonic)
    for module in (_wait, _schedule, _learn):
        monkeypatch.setattr(module, "time", shim_time)
    for module in (_wait, _schedule):
        monkeypatch.setattr(module, "asyncio", shim_asyncio)
    _learn.BOOK.clear()
    _learn.forget_submits()
    yield clock
    _learn.BOOK.clear()


async def _job(client: PdfcoClient, emulator: PdfcoEmulator) -> str:
    """Submits a job and lets the emulator's real work on it finish, so that only its clock says when it ends."""
    job_id = (await client.submit("/v1/pdf/convert/from/html", HTML)).job_id
    await _processed(emulator, job_id)
    return job_id


async def _processed(emulator: PdfcoEmulator, job_id: str) -> None:
    for _ in range(1000):  # a bound, not a timing: the work takes milliseconds
        job = emulator._live.get_job(job_id)
        if job is not None and job.finished_at is not None:
            return
        await asyncio.sleep(0.01)


def _check_times(sleeps: list[float]) -> list[float]:
    """When each check was made, in seconds after the submit (each sleep of a polling wait precedes one)."""
    return list(itertools.accumulate(sleeps))


async def test_a_cold_wait_never_checks_right_after_the_submit_and_learns_of_the_end_within_a_quarter(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    emulator.set_job_duration(40)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        result = await poll_until_done(client, await _job(client, emulator), max_wait_seconds=600, policy=STEADY)
    checks = _check_times(virtual.sleeps)
    assert result.status is JobStatus.SUCCESS
    assert checks[0] == STEADY.initial_seconds  # not at once: that check always reads "working"
    assert emulator.stats()["job_checks"] == len(checks)
    assert checks[-2] < 40 <= checks[-1] <= 40 * 1.25  # learnt of the end at most a quarter of the wait late
    for before, after in itertools.pairwise(checks):
        assert after - before <= max(2 * STEADY.initial_seconds, 0.25 * before)


async def test_after_three_jobs_the_first_check_is_where_they_ended_and_is_the_only_one(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    emulator.set_job_duration(40)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        for _ in range(3):
            await poll_until_done(client, await _job(client, emulator), max_wait_seconds=600, policy=STEADY)
        checks_before, virtual.sleeps[:] = emulator.stats()["job_checks"], []
        await poll_until_done(client, await _job(client, emulator), max_wait_seconds=600, policy=STEADY)
    assert virtual.sleeps == [46.0]  # 40 s (learnt from the emulator's jobDuration) + 15%
    assert emulator.stats()["job_checks"] == checks_before + 1


async def test_a_job_slower_than_learnt_is_checked_within_fifteen_percent_of_its_wait(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    _learn.BOOK.observe(_learn.duration_key("/v1/pdf/convert/from/html"), 10.0)
    emulator.set_job_duration(100)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        await poll_until_done(client, await _job(client, emulator), max_wait_seconds=600, policy=STEADY)
    checks = _check_times(virtual.sleeps)
    assert checks[0] == 11.5  # 15% after the slowest job learnt (10 s), which is sooner than 10 s + 2 s
    for before, after in itertools.pairwise(checks):
        assert after - before == pytest.approx(0.15 * before)
    assert checks[-2] < 100 <= checks[-1] <= 115
    # and the wait taught the book: the next first check goes where this job ended
    estimate = _learn.BOOK.estimate("pdf/convert/from/html")
    assert estimate is not None and estimate.high == 100.0


async def test_a_wait_that_starts_long_after_the_submit_checks_at_once_and_an_unknown_id_counts_from_now(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    emulator.set_job_duration(5)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        job_id = await _job(client, emulator)
        await virtual.advance(60)
        await poll_until_done(client, job_id, max_wait_seconds=600, policy=STEADY)
        assert virtual.sleeps == [0.0] and emulator.stats()["job_checks"] == 1
        _learn.BOOK.clear()
        other = await _job(client, emulator)
        _learn.forget_submits()  # as for a job id kept from an earlier run
        virtual.sleeps[:] = []
        await poll_until_done(client, other, max_wait_seconds=600, policy=STEADY)
    assert virtual.sleeps[0] == STEADY.initial_seconds


class FakeEvents:
    """``events.wait_for_end_event`` as the waits see it: the job's end event comes ``delay`` after its end,
    or never (``lost``); the time waited is the virtual clock's."""

    def __init__(self, virtual: VirtualTime, emulator: PdfcoEmulator, *, lost: bool = False) -> None:
        self.virtual, self.emulator, self.lost = virtual, emulator, lost
        self.timeouts: list[float] = []
        self.ends: dict[str, float] = {}

    async def __call__(self, credentials: object, job_id: str, timeout: float) -> bool:
        assert getattr(credentials, "callback_url", None) == CALLBACKS
        self.timeouts.append(timeout)
        end = self.ends.get(job_id, math.inf)
        if self.lost or end - self.virtual.now > timeout:
            await self.virtual.advance(timeout)
            return False
        await self.virtual.advance(max(0.0, end - self.virtual.now) + 0.5)
        return True


@pytest.fixture
def callback_credentials(emulator: PdfcoEmulator) -> PdfcoCredentials:
    return emulator.credentials().model_copy(update={"callback_url": CALLBACKS})


@pytest.fixture
def events(emulator: PdfcoEmulator, virtual: VirtualTime, monkeypatch: pytest.MonkeyPatch) -> FakeEvents:
    """End events that come half a second after each job's end, in place of Prefect's event stream."""
    fake = FakeEvents(virtual, emulator)
    monkeypatch.setattr(_events, "wait_for_end_event", fake)
    return fake


async def test_with_callbacks_a_wait_sleeps_on_the_end_event_and_checks_once(
    emulator: PdfcoEmulator,
    virtual: VirtualTime,
    callback_credentials: PdfcoCredentials,
    events: FakeEvents,
) -> None:
    emulator.set_job_duration(40)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        job_id = await _job(client, emulator)
    events.ends[job_id] = virtual.now + 40
    # through the public task: the block's callback_url is what switches the wait to events
    result = await wait_for_job.fn(callback_credentials, job_id, max_wait_seconds=600)
    assert result.status is JobStatus.SUCCESS
    assert events.timeouts == [300.0] and virtual.sleeps == []  # no polling at all
    assert emulator.stats()["job_checks"] == 1


async def test_with_callbacks_a_batch_checks_each_job_once(
    emulator: PdfcoEmulator,
    virtual: VirtualTime,
    callback_credentials: PdfcoCredentials,
    events: FakeEvents,
) -> None:
    emulator.set_job_duration(20)
    job_ids = await _submit(emulator, 5)
    for job_id in job_ids:
        await _processed(emulator, job_id)
    events.ends = {job_id: virtual.now + 20 for job_id in job_ids}
    results = await wait_for_jobs.fn(callback_credentials, job_ids, max_wait_seconds=600)
    assert all(isinstance(result, JobResult) for result in results)
    assert emulator.stats()["job_checks"] == 5


async def test_a_lost_callback_costs_a_safety_net_check_every_five_minutes_and_the_deadline_stays(
    emulator: PdfcoEmulator,
    callback_credentials: PdfcoCredentials,
    events: FakeEvents,
) -> None:
    events.lost = True
    emulator.set_job_duration(400)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        result = await poll_until_done(
            client, await _job(client, emulator), max_wait_seconds=1000, policy=STEADY, credentials=callback_credentials
        )
        assert result.status is JobStatus.SUCCESS  # found by the second safety-net check
        assert events.timeouts == [300.0, 300.0] and emulator.stats()["job_checks"] == 2
        emulator.inject_job_outcome("never", times=1)
        events.timeouts[:] = []
        with pytest.raises(JobTimeout):
            job_id = await _job(client, emulator)
            await poll_until_done(client, job_id, max_wait_seconds=500, policy=STEADY, credentials=callback_credentials)
    assert events.timeouts == [300.0, 200.0]  # capped by the deadline, where the last check is forced
    assert emulator.stats()["job_checks"] == 4


async def test_when_events_cannot_be_had_the_wait_polls_instead(
    emulator: PdfcoEmulator,
    virtual: VirtualTime,
    callback_credentials: PdfcoCredentials,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(credentials: object, job_id: str, timeout: float) -> bool:
        raise RuntimeError("no event stream")

    monkeypatch.setattr(_events, "wait_for_end_event", broken)
    emulator.set_job_duration(10)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        with caplog.at_level(logging.WARNING, logger="prefect_pdfco"):
            job_id = await _job(client, emulator)
            result = await poll_until_done(
                client, job_id, max_wait_seconds=600, policy=STEADY, credentials=callback_credentials
            )
    assert result.status is JobStatus.SUCCESS and virtual.sleeps[0] == STEADY.initial_seconds
    assert any("polling instead" in record.getMessage() for record in caplog.records)


async def test_a_lost_callback_of_a_known_operation_costs_one_check_soon_after_its_expected_end(
    emulator: PdfcoEmulator,
    callback_credentials: PdfcoCredentials,
    events: FakeEvents,
) -> None:
    events.lost = True
    _learn.BOOK.observe(_learn.duration_key("/v1/pdf/convert/from/html"), 10.0)
    emulator.set_job_duration(10)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        job_id = await _job(client, emulator)
        await poll_until_done(client, job_id, max_wait_seconds=600, policy=STEADY, credentials=callback_credentials)
    assert events.timeouts == [41.5]  # 30 s after the expected end (11.5 s), not the 5-minute safety net
    assert emulator.stats()["job_checks"] == 1


async def test_a_policy_that_does_not_learn_polls_cold_from_the_submit_and_teaches_nothing(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    key = _learn.duration_key("/v1/pdf/convert/from/html")
    _learn.BOOK.observe(key, 40.0)
    emulator.set_job_duration(5)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        job_id = await _job(client, emulator)
        await virtual.advance(1.0)
        await poll_until_done(client, job_id, max_wait_seconds=600, policy=PollPolicy(jitter=0.0, learn=False))
    assert virtual.sleeps[0] == 1.0  # the cold first delay (2 s), counted from the submit 1 s earlier
    assert _learn.BOOK.estimate(key) == _learn.Estimate(40.0, 40.0, 1)


async def test_a_submission_from_another_process_tells_the_wait_what_its_operation_takes(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    _learn.BOOK.observe(_learn.duration_key("/v1/pdf/convert/from/html"), 40.0)  # e.g. from a Prefect Variable
    emulator.set_job_duration(40)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        submission = await client.submit("/v1/pdf/convert/from/html", HTML)
        await _processed(emulator, submission.job_id)
    _learn.forget_submits()  # the submit happened elsewhere (another worker, an earlier run)
    credentials = emulator.credentials()
    result = await wait_for_job.fn(credentials, submission, max_wait_seconds=600)
    assert result.job_id == submission.job_id
    # counted from the wait's start (the submit time is unknown here): 40 s + 15%, less at most 1/5 of 6 s
    assert len(virtual.sleeps) == 1 and 44.8 <= virtual.sleeps[0] <= 46.0
    assert emulator.stats()["job_checks"] == 1
    results = await wait_for_jobs.fn(credentials, [submission], max_wait_seconds=600)
    assert [result.job_id for result in results] == [submission.job_id]


async def test_a_job_submitted_after_its_wait_began_is_checked_from_its_own_submit(
    emulator: PdfcoEmulator, virtual: VirtualTime
) -> None:
    _learn.BOOK.observe(_learn.duration_key("/v1/pdf/convert/from/html"), 40.0)
    emulator.set_job_duration(40)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        wait = _wait._Wait(client, STEADY, 600)  # as run_batch does: one wait, jobs followed as their submits return
        await virtual.advance(30)
        job_id = await _job(client, emulator)
        await wait.follow(JobWatch(job_id))
    assert virtual.sleeps == [46.0] and emulator.stats()["job_checks"] == 1


async def test_a_batch_wakes_its_cold_sleepers_when_its_first_job_teaches_what_the_jobs_take(
    emulator: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    naps: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(seconds: float) -> None:  # each sleep of the waits ends only when the test says so
        nap: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        naps.append((seconds, nap))
        await nap

    async def until(count: int) -> None:
        for _ in range(1000):  # a bound, not a timing
            if len(naps) >= count:
                return
            await asyncio.sleep(0.01)

    monkeypatch.setattr(_wait, "asyncio", types.SimpleNamespace(**{**vars(asyncio), "sleep": sleep}))
    _learn.BOOK.clear()
    _learn.forget_submits()
    try:
        async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
            first, second = await _job(client, emulator), await _job(client, emulator)
            polling = asyncio.ensure_future(poll_many(client, [first, second], max_wait_seconds=600, policy=STEADY))
            await until(2)
            (_, first_nap), (cold, second_nap) = naps
            first_nap.set_result(None)  # the first job is checked, has ended, and the batch learns from it
            await until(3)
            assert second_nap.cancelled(), "the second job's cold sleep was cut short"
            assert naps[2][0] <= cold, "and planned again from what was learnt, never later than planned"
            naps[2][1].set_result(None)
            results = await polling
    finally:
        _learn.BOOK.clear()
    assert all(result.status is JobStatus.SUCCESS for result in results if not isinstance(result, Exception))
    assert emulator.stats()["job_checks"] == 2
