"""The one job check (``check_once``) and the batch poller behind ``wait_for_jobs``.

``check_once`` is judged on a table of PDF.co answers against respx routes, inside a flow run so that the jobs
ledger (what the UI's table and events report) is there to read. The poller runs against the emulator over
loopback, with a transport that counts the checks in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
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
    PollPolicy,
    ServerError,
)
from prefect_pdfco._retry import NO_RETRY
from prefect_pdfco.jobs import wait as _wait
from prefect_pdfco.jobs.wait import CONCURRENT_CHECKS, JobWatch, check_once, poll_many
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
