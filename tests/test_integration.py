"""The core against the emulator over loopback: real HTTP, real jobs, real credits, real faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prefect import flow
from prefect.client.schemas.objects import State
from pypdf import PdfReader

from prefect_pdfco import (
    AuthenticationError,
    InsufficientCreditsError,
    JobAborted,
    JobFailed,
    JobNotFound,
    JobResult,
    JobStatus,
    JobStillWorking,
    JobTimeout,
    PdfcoClient,
    PdfcoConnectionError,
    PdfcoCredentials,
    RateLimitError,
    RetryPolicy,
    check_job,
    submit_job,
    wait_for_job,
)
from prefect_pdfco.testing import PdfcoEmulator

HTML = {"html": "<h1>Invoice INV-7</h1><p>Total 12.50</p>", "name": "invoice.pdf"}
fast_check = check_job.with_options(retries=20, retry_delay_seconds=0.05, retry_jitter_factor=None)


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.2) as emu:
        yield emu


@pytest.fixture
def credentials(emulator: PdfcoEmulator) -> PdfcoCredentials:
    return emulator.credentials()


def pdf_pages(url: str) -> int:
    import io

    response = httpx.get(url)
    response.raise_for_status()
    return len(PdfReader(io.BytesIO(response.content)).pages)


@pytest.mark.usefixtures("prefect_harness")
def test_submit_then_check_in_a_sync_flow_returns_the_success_result(
    emulator: PdfcoEmulator, credentials: PdfcoCredentials
) -> None:
    # The job works for a minute of the emulator's clock, which moves only when check_job is about to retry: the
    # first check always sees "working", whatever the machine's load, and no test waits for real time to pass.
    emulator.set_job_duration(60)
    retried_while: list[str | None] = []

    def advance_the_clock_then_retry(task: object, task_run: object, state: State[object]) -> bool:
        if not isinstance(state.data, JobStillWorking):
            return False
        retried_while.append(state.data.status)
        emulator.advance_clock(60)
        return True

    check = fast_check.with_options(retry_condition_fn=advance_the_clock_then_retry)

    @flow
    def html_to_pdf() -> JobResult:
        job = submit_job(credentials, "/v1/pdf/convert/from/html", HTML)
        return check(credentials, job.job_id)

    result = html_to_pdf()
    assert result.status is JobStatus.SUCCESS and result.url
    assert result.output_link_valid_till is not None and not result.link_expired()
    assert pdf_pages(result.url) == 1
    assert retried_while[0] == "working"  # it really went through "working" first
    stats = emulator.stats()
    assert stats["jobs_submitted"] == 1
    assert stats["job_checks"] == len(retried_while) + 1 >= 2
    assert stats["result_link_requests_with_api_key"] == 0


@pytest.mark.usefixtures("prefect_harness")
async def test_submit_then_wait_in_an_async_flow(emulator: PdfcoEmulator, credentials: PdfcoCredentials) -> None:
    @flow
    async def html_to_pdf() -> JobResult:
        job = await submit_job(credentials, "/v1/pdf/convert/from/html", HTML)
        return await wait_for_job(credentials, job.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)

    result = await html_to_pdf()
    assert result.status is JobStatus.SUCCESS
    assert emulator.stats()["jobs_submitted"] == 1


@pytest.mark.parametrize(("outcome", "error"), [("failed", JobFailed), ("aborted", JobAborted)])
async def test_jobs_that_end_badly(
    emulator: PdfcoEmulator, credentials: PdfcoCredentials, outcome: str, error: type[Exception]
) -> None:
    emulator.inject_job_outcome(outcome, message="the emulator said no")  # type: ignore[arg-type]
    submission = await submit_job.fn(credentials, "/v1/pdf/convert/from/html", HTML)
    with pytest.raises(error) as info:
        await wait_for_job.fn(credentials, submission.job_id, initial_poll_seconds=0.05)
    assert info.value.job_id == submission.job_id  # type: ignore[attr-defined]


async def test_unknown_and_endless_jobs(emulator: PdfcoEmulator, credentials: PdfcoCredentials) -> None:
    with pytest.raises(JobNotFound):
        await wait_for_job.fn(credentials, "NO-SUCH-JOB", max_wait_seconds=0.2, initial_poll_seconds=0.05)
    emulator.inject_job_outcome("never")
    submission = await submit_job.fn(credentials, "/v1/pdf/convert/from/html", HTML)
    with pytest.raises(JobTimeout) as info:
        await wait_for_job.fn(credentials, submission.job_id, max_wait_seconds=0.3, initial_poll_seconds=0.05)
    assert info.value.job_id == submission.job_id


async def test_http_errors_are_mapped() -> None:
    with PdfcoEmulator(credits=0) as broke, PdfcoEmulator(rate_limit=1) as limited:
        with pytest.raises(AuthenticationError):
            await PdfcoCredentials(api_key="wrong", base_url=broke.base_url).check_connection()
        with pytest.raises(InsufficientCreditsError):
            await submit_job.fn(broke.credentials(), "/v1/pdf/convert/from/html", HTML)
        no_retry = RetryPolicy(max_attempts=1, rate_limit_budget_seconds=0)
        async with PdfcoClient(limited.api_key, base_url=limited.base_url, retry_policy=no_retry) as client:
            with pytest.raises(RateLimitError):
                for _ in range(5):
                    await client.credit_balance()


async def test_transient_server_errors_while_polling_do_not_fail_the_job(
    emulator: PdfcoEmulator, credentials: PdfcoCredentials
) -> None:
    submission = await submit_job.fn(credentials, "/v1/pdf/convert/from/html", HTML)
    emulator.inject("/v1/job/check", status=503, body="<html>upstream down</html>", times=2)
    result = await wait_for_job.fn(credentials, submission.job_id, initial_poll_seconds=0.05)
    assert result.status is JobStatus.SUCCESS
    assert emulator.stats()["jobs_submitted"] == 1


async def test_a_submit_that_timed_out_is_not_resent(emulator: PdfcoEmulator) -> None:
    emulator.inject("/v1/pdf/convert/from/html", delay=1.0)
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url, timeout_seconds=0.3) as client:
        with pytest.raises(PdfcoConnectionError) as info:
            await client.submit("/v1/pdf/convert/from/html", HTML)
    assert info.value.may_have_reached_server is True
    assert emulator.stats()["requests"].get("/v1/pdf/convert/from/html") == 1


def test_check_connection_reports_the_balance(emulator: PdfcoEmulator) -> None:
    assert emulator.credentials().check_connection() == emulator.stats()["remaining_credits"]


@pytest.mark.usefixtures("prefect_harness")
async def test_a_global_concurrency_limit_rate_limits_across_processes(emulator: PdfcoEmulator) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    async with get_client() as client:
        await client.create_global_concurrency_limit(
            # Decay so slow that the slots taken are still taken when we look.
            GlobalConcurrencyLimitCreate(name="pdfco-test-rate", limit=10, slot_decay_per_second=0.001)
        )
        credentials = emulator.credentials()
        credentials.rate_limit_name = "pdfco-test-rate"
        for _ in range(3):
            await credentials.check_connection()
        limit = await client.read_global_concurrency_limit_by_name("pdfco-test-rate")
    assert emulator.stats()["requests"]["/v1/account/credit/balance"] == 3
    assert limit.active_slots == 3  # one slot per request
