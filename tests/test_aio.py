"""``task.aio(...)``: the typed async spelling of every task and of ``run_operation``, under the real engine."""

from __future__ import annotations

import inspect

import httpx
import pytest
import respx
from prefect import flow

from prefect_pdfco import JobResult, JobStatus, PdfcoCredentials, check_job, html_to_pdf, submit_job, wait_for_job
from prefect_pdfco._tasks import SyncCompatibleFlow, SyncCompatibleTask
from prefect_pdfco.flows import OperationResult, run_operation

from .conftest import API

pytestmark = pytest.mark.usefixtures("prefect_harness")

RESULT_URL = "https://pdf-temp-files.s3.us-west-2.amazonaws.com/J1/result.pdf?X-Amz-Expires=3600&X-Amz-Signature=s"
SUCCESS = {"status": "success", "jobId": "J1", "url": RESULT_URL, "credits": 2, "remainingCredits": 900}


def submitted(job_id: str) -> httpx.Response:
    return httpx.Response(200, json={"jobId": job_id, "url": RESULT_URL, "error": False, "status": 200})


async def test_aio_runs_the_tasks_in_an_async_flow(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    pdfco.post(f"{API}/v1/pdf/convert/from/html").mock(return_value=submitted("J1"))
    pdfco.post(f"{API}/v1/job/check").mock(return_value=httpx.Response(200, json=SUCCESS))

    @flow
    async def render() -> JobResult:
        job = await html_to_pdf.aio(credentials, "<p>async</p>")
        await check_job.with_options(retries=0).aio(credentials, job.job_id)
        return await wait_for_job.aio(credentials, job.job_id, initial_poll_seconds=0.01)

    result = await render()
    assert result.status is JobStatus.SUCCESS and result.url == RESULT_URL


async def test_aio_submits_are_keyed_where_made(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    """Identical submits through .aio are two jobs, and a retried flow run gets both back without paying again."""
    route = pdfco.post(f"{API}/v1/pdf/merge").mock(side_effect=[submitted("J0"), submitted("J1")])
    attempts: list[list[str]] = []

    @flow(retries=1, retry_delay_seconds=0)
    async def twice() -> list[str]:
        jobs = [await submit_job.aio(credentials, "/v1/pdf/merge", {"url": "u"}) for _ in range(2)]
        attempts.append([job.job_id for job in jobs])
        if len(attempts) == 1:
            raise RuntimeError("worker died right after the submits")
        return attempts[-1]

    assert await twice() == ["J0", "J1"]
    assert attempts == [["J0", "J1"], ["J0", "J1"]]
    assert route.call_count == 2


async def test_run_operation_aio_in_an_async_flow(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    pdfco.post(f"{API}/v1/pdf/merge").mock(return_value=submitted("J1"))
    pdfco.post(f"{API}/v1/job/check").mock(return_value=httpx.Response(200, json=SUCCESS))

    @flow
    async def merge() -> OperationResult:
        return await run_operation.aio(credentials, "merge", {"url": "https://x/a.pdf,https://x/b.pdf"})

    result = await merge()
    assert result.operation == "merge" and result.url == RESULT_URL


def test_aio_hands_back_the_coroutine_even_in_sync_code(credentials: PdfcoCredentials) -> None:
    """``.aio`` never runs anything by itself: the caller awaits it (here: closes it, so nothing is sent)."""
    for call in (check_job.aio(credentials, "J1"), run_operation.aio(credentials, "merge")):
        assert inspect.iscoroutine(call)
        call.close()


def test_with_options_keeps_the_sync_compatible_classes() -> None:
    assert isinstance(check_job.with_options(retries=1), SyncCompatibleTask)
    assert isinstance(html_to_pdf.with_options(name="render"), type(html_to_pdf))
    assert isinstance(run_operation.with_options(name="merge"), SyncCompatibleFlow)
