"""run_batch: many documents, one operation, two task runs; failures kept per item; re-runs never pay twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.exceptions import ParameterTypeError

from prefect_pdfco import BadRequestError, JobFailed, JobSubmission, PdfcoError
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.flows import BatchResult, run_batch
from prefect_pdfco.jobs.batch import submit_batch
from prefect_pdfco.testing import PdfcoEmulator

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.0) as emulator:
        yield emulator


def pages(count: int) -> list[dict[str, Any]]:
    return [{"html": f"<h1>Document {n}</h1>", "name": f"doc-{n}.pdf"} for n in range(count)]


def test_a_batch_lands_every_result_and_keeps_the_failures(emu: PdfcoEmulator, tmp_path: Path) -> None:
    items = pages(6)
    items[2] = {"name": "no-html.pdf"}  # refused at submit: nothing to convert
    emu.inject_job_outcome("failed", message="bad document")  # the first job that runs fails

    batch = run_batch(emu.credentials(), "html_to_pdf", items, tmp_path, max_concurrency=3)

    assert isinstance(batch, BatchResult) and [item.index for item in batch.items] == list(range(6))
    assert len(batch.succeeded) == 4 and len(batch.failed) == 2
    assert batch.failures_by_type == {"BadRequestError": 1, "JobFailed": 1}
    assert isinstance(batch.items[2].error, BadRequestError) and batch.items[2].job_id is None
    failed_job = next(item for item in batch.failed if isinstance(item.error, JobFailed))
    assert failed_job.job_id and failed_job.files == []
    for item in batch.succeeded:
        assert item.result is not None and item.job_id == item.result.job_id
        assert [Path(file.path).name for file in item.files] == [f"doc-{item.index}.pdf"]
        assert Path(item.files[0].path).read_bytes().startswith(b"%PDF")
    assert "4 of 6 succeeded; 2 failed (1 BadRequestError, 1 JobFailed)" in batch.summary()
    assert emu.stats()["jobs_submitted"] == 5


def test_multi_file_outputs_land_one_file_per_part_from_an_async_flow(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = emu.credentials()

    @flow
    async def split_both() -> BatchResult:
        made = await run_batch.aio(credentials, "html_to_pdf", [*pages(2), {"html": "<p>a</p><p>b</p>"}])
        urls = [item.result.url for item in made.items if item.result is not None]
        return await run_batch.aio(credentials, "split", [{"url": url, "pages": "1"} for url in urls], tmp_path)

    batch = asyncio.run(split_both())
    assert not batch.failed and len(batch.items) == 3
    assert all(len(item.files) >= 1 and Path(item.files[0].path).is_file() for item in batch.items)


def test_the_same_batch_in_one_flow_run_is_submitted_once(emu: PdfcoEmulator) -> None:
    credentials = emu.credentials()
    items = pages(4)

    @flow
    async def twice() -> tuple[list[Any], list[Any]]:
        args = (credentials, "html_to_pdf", "/v1/pdf/convert/from/html", items)
        first = await submit_batch.aio(*args, submit_key="batch")
        again = await submit_batch.aio(*args, submit_key="batch")  # as a re-run of the flow run would call it
        return first, again

    first, again = asyncio.run(twice())
    assert all(isinstance(sent, JobSubmission) for sent in first)
    assert [sent.job_id for sent in again] == [sent.job_id for sent in first]
    assert emu.stats()["jobs_submitted"] == 4


def test_fail_fast_and_raise_on_failure_raise_the_typed_error(emu: PdfcoEmulator) -> None:
    credentials = emu.credentials()
    with pytest.raises(BadRequestError):
        run_batch(credentials, "html_to_pdf", [{"name": "x.pdf"}], fail_fast=True)
    emu.inject_job_outcome("failed", message="bad document")
    with pytest.raises(JobFailed):
        run_batch(credentials, "html_to_pdf", pages(2), raise_on_failure=True)


def test_arguments_are_checked_before_any_request(emu: PdfcoEmulator) -> None:
    with pytest.raises(InvalidParametersError, match="max_concurrency"):
        run_batch(emu.credentials(), "html_to_pdf", pages(1), max_concurrency=0)
    with pytest.raises(ParameterTypeError, match="items"):  # Prefect checks the flow's parameter types first
        run_batch(emu.credentials(), "html_to_pdf", ["<p/>"])  # type: ignore[list-item]
    with pytest.raises(PdfcoError):
        run_batch(emu.credentials(), "no_such_operation", pages(1))
    assert emu.stats()["jobs_submitted"] == 0
