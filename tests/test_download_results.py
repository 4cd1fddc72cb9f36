"""download_results: a batch's files land in one task run, from sync and async flows; one failure stays in its place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow

from prefect_pdfco import (
    FileTransferError,
    InvalidParametersError,
    JobFailed,
    PdfcoError,
    download_results,
    html_to_pdf,
    wait_for_jobs,
)
from prefect_pdfco.files import DownloadedFile, adownload_results
from prefect_pdfco.testing import PdfcoEmulator

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.0) as emulator:
        yield emulator


def test_the_readme_batch_pattern_lands_every_file_and_keeps_a_failure_in_its_place(
    emu: PdfcoEmulator, tmp_path: Path
) -> None:
    credentials = emu.credentials()
    missing = f"{emu.link_base_url}/pdf-temp-files/no-such-file/gone.pdf"

    @flow
    async def pages(count: int) -> list[DownloadedFile | PdfcoError]:
        jobs = await asyncio.gather(
            *(html_to_pdf.aio(credentials, f"<h1>{n}</h1>", name=f"page-{n}.pdf") for n in range(count))
        )
        results = await wait_for_jobs.aio(credentials, [job.job_id for job in jobs])
        return await download_results.aio([*results[:1], missing, *results[1:]], tmp_path, credentials=credentials)

    emu.inject_job_outcome("failed", message="bad page")
    landed = asyncio.run(pages(4))

    assert isinstance(landed[1], FileTransferError)  # the emulator's file host answers as S3: AccessDenied
    assert sum(isinstance(item, JobFailed) for item in landed) == 1  # wait_for_jobs' error, handed back
    files = [item for item in landed if isinstance(item, DownloadedFile)]
    assert len(files) == 3 and all(Path(file.path).name.startswith("page-") for file in files)
    assert all(Path(file.path).read_bytes().startswith(b"%PDF") for file in files)


def test_from_a_sync_flow_and_with_bad_arguments(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = emu.credentials()

    @flow
    def one_page() -> list[DownloadedFile | PdfcoError]:
        job = html_to_pdf(credentials, "<h1>x</h1>", name="x.pdf")
        results = wait_for_jobs(credentials, [job.job_id])
        return download_results(results, tmp_path, max_concurrency=1)

    landed = one_page()
    assert isinstance(landed[0], DownloadedFile) and Path(landed[0].path).name == "x.pdf"
    with pytest.raises(InvalidParametersError, match="max_concurrency"):
        asyncio.run(adownload_results([], tmp_path, max_concurrency=0))
    with pytest.raises(InvalidParametersError, match="results"):
        asyncio.run(adownload_results("https://example.com/a.pdf", tmp_path))
