"""The job tasks under the real Prefect engine (one session harness), against respx routes for PDF.co."""

from __future__ import annotations

import asyncio
import json
import logging
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from prefect import flow
from prefect.cache_policies import NO_CACHE

from prefect_pdfco import (
    AuthenticationError,
    JobAborted,
    JobFailed,
    JobNotFound,
    JobResult,
    JobStatus,
    JobSubmission,
    JobTimeout,
    PdfcoCredentials,
    ServerError,
    check_job,
    submit_job,
    wait_for_job,
)
from prefect_pdfco.jobs import CHECK_JOB_RETRIES, CHECK_JOB_RETRY_DELAYS
from prefect_pdfco.jobs import events as _events
from prefect_pdfco.jobs import learn as _learn
from prefect_pdfco.jobs import schedule as _schedule
from prefect_pdfco.jobs import tasks as _job_tasks

from .conftest import API, API_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")

RESULT_URL = "https://pdf-temp-files.s3.us-west-2.amazonaws.com/J1/result.pdf?X-Amz-Expires=3600&X-Amz-Signature=s3cr3t"
SUCCESS = {
    "status": "success",
    "message": "Success",
    "jobId": "J1",
    "url": RESULT_URL,
    "credits": 2,
    "remainingCredits": 900,
    "pageCount": 2,
}
WORKING = {"status": "working", "remainingCredits": 950}
SUBMITTED = {"jobId": "J1", "url": RESULT_URL, "error": False, "status": 200, "remainingCredits": 990}

fast_check = check_job.with_options(retries=4, retry_delay_seconds=0.01, retry_jitter_factor=None)


def statuses(*bodies: dict[str, object]) -> list[httpx.Response]:
    return [httpx.Response(200, json=body) for body in bodies]


def forced(request: httpx.Request) -> bool:
    return bool(json.loads(request.content).get("force"))


def by_force(normal: dict[str, object], when_forced: dict[str, object]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=when_forced if forced(request) else normal)

    return answer


@pytest.fixture
def check_route(pdfco: respx.MockRouter) -> respx.Route:
    return pdfco.post(f"{API}/v1/job/check")


def test_default_retry_schedule_is_capped_and_about_thirty_minutes() -> None:
    assert CHECK_JOB_RETRIES == 65
    assert len(CHECK_JOB_RETRY_DELAYS) <= 50 and max(CHECK_JOB_RETRY_DELAYS) == 30.0
    total = sum(CHECK_JOB_RETRY_DELAYS[min(i, len(CHECK_JOB_RETRY_DELAYS) - 1)] for i in range(CHECK_JOB_RETRIES))
    assert 1800 <= total <= 1830
    assert check_job.retry_condition_fn is not None
    assert check_job.cache_policy is NO_CACHE


def test_check_job_retries_while_working_in_a_sync_flow(
    credentials: PdfcoCredentials, check_route: respx.Route
) -> None:
    check_route.mock(side_effect=statuses(WORKING, WORKING, SUCCESS))

    @flow
    def sync_flow() -> JobResult:
        return fast_check(credentials, "J1")

    result = sync_flow()
    assert result.status is JobStatus.SUCCESS and result.url == RESULT_URL and result.page_count == 2
    assert check_route.call_count == 3
    assert not any(forced(call.request) for call in check_route.calls)


def test_a_still_working_check_reads_as_waiting_with_its_number_and_next_delay(
    credentials: PdfcoCredentials, check_route: respx.Route, caplog: pytest.LogCaptureFixture
) -> None:
    check_route.mock(side_effect=statuses(WORKING, WORKING, SUCCESS))
    checker = check_job.with_options(retries=2, retry_delay_seconds=[0.01, 0.4], retry_jitter_factor=None)

    @flow
    def sync_flow() -> JobResult:
        return checker(credentials, "J1")

    with caplog.at_level(logging.INFO):
        assert sync_flow().status is JobStatus.SUCCESS
    texts = "\n".join(record.getMessage() for record in caplog.records)
    assert "waiting: PDF.co job J1 still working (check 1 of 3; next in ~0s)" in texts
    assert "waiting: PDF.co job J1 still working (check 2 of 3; next in ~0s)" in texts


async def test_check_job_retries_while_working_in_an_async_flow(
    credentials: PdfcoCredentials, check_route: respx.Route
) -> None:
    check_route.mock(side_effect=statuses(WORKING, SUCCESS))

    @flow
    async def async_flow() -> JobResult:
        return await fast_check(credentials, "J1")

    result = await async_flow()
    assert result.status is JobStatus.SUCCESS
    assert check_route.call_count == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [({"status": "failed", "message": "Damaged PDF"}, JobFailed), ({"status": "aborted"}, JobAborted)],
)
def test_failed_and_aborted_stop_at_once(
    credentials: PdfcoCredentials, check_route: respx.Route, body: dict[str, object], error: type[Exception]
) -> None:
    check_route.mock(side_effect=statuses(WORKING, body, SUCCESS))

    @flow
    def sync_flow() -> JobResult:
        return fast_check(credentials, "J1")

    with pytest.raises(error) as info:
        sync_flow()
    assert check_route.call_count == 2
    assert info.value.job_id == "J1"  # type: ignore[attr-defined]
    if body.get("message"):
        assert "Damaged PDF" in str(info.value)


def test_the_last_attempt_forces_and_finds_unknown_jobs(
    credentials: PdfcoCredentials, check_route: respx.Route
) -> None:
    check_route.mock(side_effect=by_force(WORKING, {"status": "unknown"}))

    @flow
    def sync_flow() -> JobResult:
        return fast_check(credentials, "TYPO")

    with pytest.raises(JobNotFound) as info:
        sync_flow()
    assert info.value.job_id == "TYPO"
    calls = [forced(call.request) for call in check_route.calls]
    assert calls == [False, False, False, False, True]


async def test_timeout_keeps_the_job_id(credentials: PdfcoCredentials, check_route: respx.Route) -> None:
    check_route.mock(side_effect=by_force(WORKING, WORKING))

    @flow
    async def async_flow() -> JobResult:
        return await check_job.with_options(retries=2, retry_delay_seconds=0.2)(credentials, "SLOW")

    with pytest.raises(JobTimeout) as info:
        await async_flow()
    assert info.value.job_id == "SLOW"
    assert info.value.waited_seconds >= 0.3
    assert "wait_for_job" in str(info.value)
    assert check_route.call_count == 3


def test_transient_5xx_while_polling_does_not_fail_the_job(
    credentials: PdfcoCredentials, check_route: respx.Route
) -> None:
    # One 503 is absorbed by the client's own retry; four in a row make the attempt inconclusive, and Prefect
    # checks again instead of failing the job.
    unavailable = httpx.Response(503, text="<html>Service Unavailable</html>")
    check_route.mock(
        side_effect=[
            unavailable,
            httpx.Response(200, json=WORKING),
            *[unavailable] * 4,
            httpx.Response(200, json=SUCCESS),
        ]
    )

    @flow
    def sync_flow() -> JobResult:
        return fast_check(credentials, "J1")

    assert sync_flow().status is JobStatus.SUCCESS
    assert check_route.call_count == 7


def test_submit_job_sends_async_and_returns_the_submission(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(return_value=httpx.Response(200, json=SUBMITTED))

    @flow
    def sync_flow() -> JobSubmission:
        return submit_job(credentials, "/v1/pdf/merge", {"url": "https://x/a.pdf,https://x/b.pdf"})

    submission = sync_flow()
    assert submission.job_id == "J1" and submission.endpoint == "/v1/pdf/merge"
    assert json.loads(route.calls.last.request.content)["async"] is True


async def test_submit_job_is_not_resent_after_a_5xx(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(
        side_effect=[
            httpx.Response(500, json={"error": True, "status": 500, "message": "Internal error"}),
            httpx.Response(200, json=SUBMITTED),
        ]
    )

    @flow
    async def async_flow() -> JobSubmission:
        return await submit_job(credentials, "/v1/pdf/merge", {"url": "https://x/a.pdf"})

    with pytest.raises(ServerError):
        await async_flow()
    assert route.call_count == 1


def test_a_flow_retried_after_a_crash_reattaches_to_its_job(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter, check_route: respx.Route
) -> None:
    submit_route = pdfco.post(f"{API}/v1/pdf/merge").mock(return_value=httpx.Response(200, json=SUBMITTED))
    check_route.mock(return_value=httpx.Response(200, json=SUCCESS))
    attempts: list[str] = []

    @flow(retries=1, retry_delay_seconds=0)
    def crashing_flow() -> JobResult:
        job = submit_job(credentials, "/v1/pdf/merge", {"url": "https://x/a.pdf,https://x/b.pdf"})
        attempts.append(job.job_id)
        if len(attempts) == 1:
            raise RuntimeError("worker died right after the submit")
        return fast_check(credentials, job.job_id)

    result = crashing_flow()
    assert result.status is JobStatus.SUCCESS
    assert attempts == ["J1", "J1"]
    assert submit_route.call_count == 1


def test_identical_submits_in_one_run_are_distinct_jobs(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(
        side_effect=[httpx.Response(200, json={**SUBMITTED, "jobId": f"J{i}"}) for i in range(2)]
    )

    @flow
    def twice() -> list[str]:
        return [submit_job(credentials, "/v1/pdf/merge", {"url": "u"}).job_id for _ in range(2)]

    assert twice() == ["J0", "J1"]
    assert route.call_count == 2


@pytest.mark.parametrize("use_async", [False, True], ids=["sync-flow", "async-flow"])
async def test_wait_for_job_polls_until_success(
    credentials: PdfcoCredentials, check_route: respx.Route, use_async: bool
) -> None:
    check_route.mock(side_effect=statuses(WORKING, WORKING, SUCCESS))
    wait = wait_for_job.with_options()

    if use_async:

        @flow
        async def async_flow() -> JobResult:
            return await wait(credentials, "J1", initial_poll_seconds=0.01, max_poll_seconds=0.02)

        result = await async_flow()
    else:

        @flow
        def sync_flow() -> JobResult:
            return wait(credentials, "J1", initial_poll_seconds=0.01, max_poll_seconds=0.02)

        result = sync_flow()
    assert result.status is JobStatus.SUCCESS
    assert check_route.call_count == 3


async def test_wait_for_job_forces_one_check_before_giving_up(
    credentials: PdfcoCredentials, check_route: respx.Route
) -> None:
    check_route.mock(side_effect=by_force(WORKING, {"status": "unknown"}))
    with pytest.raises(JobNotFound):
        await wait_for_job.fn(credentials, "TYPO", max_wait_seconds=0.3, initial_poll_seconds=0.05)
    assert forced(check_route.calls.last.request)
    assert not any(forced(call.request) for call in check_route.calls[:-1])

    check_route.mock(side_effect=by_force(WORKING, WORKING))
    with pytest.raises(JobTimeout) as info:
        await wait_for_job.fn(credentials, "SLOW", max_wait_seconds=0.3, initial_poll_seconds=0.05)
    assert info.value.job_id == "SLOW" and info.value.waited_seconds >= 0.3


async def test_wait_for_job_logs_only_changes(
    credentials: PdfcoCredentials, check_route: respx.Route, caplog: pytest.LogCaptureFixture
) -> None:
    check_route.mock(side_effect=statuses(WORKING, WORKING, WORKING, WORKING, SUCCESS))
    with caplog.at_level(logging.INFO, logger="prefect_pdfco"):
        await wait_for_job.fn(credentials, "J1", initial_poll_seconds=0.01, max_poll_seconds=0.01)
    lines = [r.getMessage() for r in caplog.records if r.name == "prefect_pdfco"]
    assert lines[:2] == ["Job J1 is working", "Job J1 is success"]
    assert lines[2].startswith("Job J1 succeeded: 5 check(s) (10 credits), ")
    assert len(lines) == 3


PASSWORD = "hunter" + "2"  # built, so that tracebacks quoting the source do not show it


def test_the_api_key_appears_in_no_log_record_or_error(
    pdfco: respx.MockRouter, check_route: respx.Route, caplog: pytest.LogCaptureFixture
) -> None:
    credentials = PdfcoCredentials(api_key=API_KEY, base_url=API)
    pdfco.post(f"{API}/v1/pdf/security/remove").mock(
        return_value=httpx.Response(401, json={"error": True, "status": 401, "message": "Unauthorized"})
    )
    check_route.mock(side_effect=statuses(WORKING, SUCCESS))

    @flow
    def leaky() -> None:
        fast_check(credentials, "J1")
        submit_job(credentials, "/v1/pdf/security/remove", {"url": "https://x/a.pdf", "password": PASSWORD})

    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        leaky()
    texts = [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    texts += [str(info.value), repr(info.value), repr(credentials), str(credentials.model_dump())]
    leaks = [t[max(0, t.find(API_KEY) - 300) : t.find(API_KEY) + 50] for t in texts if API_KEY in t]
    assert texts and leaks == []
    assert [t for t in texts if "hunter2" in t] == []
    assert [t for t in texts if "s3cr3t" in t] == []


def test_cache_keys_tell_passwords_apart_without_revealing_them() -> None:
    import hashlib

    from pydantic import SecretStr

    from prefect_pdfco.jobs.keys import fingerprint_key, fingerprint_secrets

    key = fingerprint_key(SecretStr(API_KEY))
    first = fingerprint_secrets({"url": "u", "password": "hunter2", "pages": [1, 2]}, key=key)
    second = fingerprint_secrets({"url": "u", "password": SecretStr("hunter3")}, key=key)
    assert first["url"] == "u" and first["pages"] == [1, 2]
    assert first["password"] != second["password"]
    assert fingerprint_secrets(SecretStr("hunter2"), key=key) == first["password"]
    text = str(first) + str(second)
    assert "hunter" not in text and hashlib.sha256(b"hunter2").hexdigest() not in text


class RecordedSleeps:
    """``asyncio.sleep`` and ``time.monotonic`` of the waiting code (schedule, learn, tasks): sleeps are recorded
    and move a virtual clock; Prefect's own retry delays are left alone (kept tiny by the tests)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []
        shim_asyncio = types.SimpleNamespace(**{**vars(asyncio), "sleep": self.sleep})
        shim_time = types.SimpleNamespace(monotonic=lambda: self.now)
        monkeypatch.setattr(_schedule, "asyncio", shim_asyncio)
        for module in (_schedule, _learn, _job_tasks):
            monkeypatch.setattr(module, "time", shim_time)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordedSleeps]:
    _learn.BOOK.clear()
    _learn.forget_submits()
    yield RecordedSleeps(monkeypatch)
    _learn.BOOK.clear()


async def test_check_jobs_first_attempt_waits_its_first_delay_instead_of_checking_at_the_submit(
    credentials: PdfcoCredentials, check_route: respx.Route, recorded: RecordedSleeps
) -> None:
    check_route.mock(side_effect=statuses(SUCCESS))
    checker = check_job.with_options(retries=2, retry_delay_seconds=[7.0, 0.01], retry_jitter_factor=None)

    @flow
    async def async_flow() -> JobResult:
        return await checker(credentials, "J1")

    assert (await async_flow()).status is JobStatus.SUCCESS
    assert recorded.sleeps == [7.0] and check_route.call_count == 1


async def test_check_jobs_first_attempt_waits_until_the_learnt_end_and_teaches_the_next(
    credentials: PdfcoCredentials, check_route: respx.Route, recorded: RecordedSleeps
) -> None:
    check_route.mock(side_effect=statuses(SUCCESS))
    for _ in range(3):
        _learn.BOOK.observe("pdf/merge", 10.0)
    _learn.note_submitted("J1", "/v1/pdf/merge", at=recorded.now - 1.0)  # submitted 1 s before the check task

    @flow
    async def async_flow() -> JobResult:
        return await fast_check(credentials, "J1")

    assert (await async_flow()).status is JobStatus.SUCCESS
    # 10 s + 15% after the submit, less the 1 s gone, less up to a fifth of the window after 10 s (jitter)
    assert len(recorded.sleeps) == 1 and 10.2 <= recorded.sleeps[0] <= 10.5
    assert check_route.call_count == 1
    estimate = _learn.BOOK.estimate("pdf/merge")
    assert estimate is not None and estimate.samples == 4


async def test_check_job_with_callbacks_sleeps_on_the_end_event_within_its_retry_budget(
    credentials: PdfcoCredentials,
    check_route: respx.Route,
    recorded: RecordedSleeps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timeouts: list[float] = []

    async def end_event(credentials: PdfcoCredentials, job_id: str, timeout: float) -> bool:
        timeouts.append(timeout)
        return True

    monkeypatch.setattr(_events, "wait_for_end_event", end_event)
    check_route.mock(side_effect=by_force(SUCCESS, {"status": "unknown"}))
    hooked = credentials.model_copy(update={"callback_url": "https://hooks.example.com/pdfco"})
    checker = check_job.with_options(retries=3, retry_delay_seconds=100, retry_jitter_factor=None)
    no_retries = check_job.with_options(retries=0)

    @flow
    async def async_flow() -> tuple[JobResult, Exception | None]:
        result = await checker(hooked, "J1")
        try:
            await no_retries(hooked, "J2")  # no retry budget: one check at once, the forced last one
        except JobNotFound as error:
            return result, error
        return result, None

    result, error = await async_flow()
    assert result.status is JobStatus.SUCCESS and isinstance(error, JobNotFound)
    assert len(timeouts) == 1 and 290 < timeouts[0] <= 300  # 5 minutes at most, within the 300 s of delays
    assert [forced(call.request) for call in check_route.calls] == [False, True]
    assert recorded.sleeps == []  # no polling sleep: the event is the wait


async def test_check_job_takes_the_submission_itself_and_names_its_run_after_the_job_id(
    credentials: PdfcoCredentials, check_route: respx.Route, recorded: RecordedSleeps
) -> None:
    from prefect.client.orchestration import get_client

    check_route.mock(side_effect=statuses(SUCCESS))
    submission = JobSubmission(job_id="J1", endpoint="/v1/pdf/merge")

    @flow
    async def async_flow() -> Any:
        return await fast_check(credentials, submission, return_state=True)

    state = await async_flow()
    assert (await state.result()).status is JobStatus.SUCCESS
    async with get_client() as client:
        task_run = await client.read_task_run(state.state_details.task_run_id)
    assert task_run.name == "check-job-J1"
    assert _learn.BOOK.estimate("pdf/merge") is not None  # its endpoint taught the book
