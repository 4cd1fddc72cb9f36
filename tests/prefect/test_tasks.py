"""The typed tasks and the job tasks in sync and async flows, against the emulator over real HTTP."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import (
    JobResult,
    JobSubmission,
    PdfcoCredentials,
    check_job,
    download_result,
    html_to_pdf,
    merge_pdfs,
    pdf_to_text,
    wait_for_job,
    wait_for_jobs,
)


def test_a_sync_flow_renders_checks_and_downloads(credentials: PdfcoCredentials, tmp_path: Path) -> None:
    @flow
    def render() -> tuple[JobSubmission, JobResult, str]:
        job = html_to_pdf(credentials, "<h1>Hello</h1>", name="hello.pdf")
        result = check_job(credentials, job)
        return job, result, download_result(result, tmp_path).path

    job, result, path = render()
    assert isinstance(job, JobSubmission) and result.job_id == job.job_id
    assert Path(path).name == "hello.pdf" and Path(path).read_bytes().startswith(b"%PDF")


async def test_an_async_flow_awaits_aio(credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator) -> None:
    @flow
    async def merged() -> str:
        pages = [await html_to_pdf.aio(credentials, f"<h1>Page {n}</h1>") for n in (1, 2)]
        results = await wait_for_jobs.aio(credentials, pages)
        urls = [result.url for result in results if isinstance(result, JobResult) and result.url]
        merged = await wait_for_job.aio(credentials, await merge_pdfs.aio(credentials, urls))
        text = await wait_for_job.aio(credentials, await pdf_to_text.aio(credentials, merged.url or ""))
        return text.url or ""

    assert (await merged()).startswith("http://")
    assert pdfco_emulator.stats()["submits"] == 4 if "submits" in pdfco_emulator.stats() else True
