"""run_batch: one operation over many documents in one task run, each job followed from its submit; no double pay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.exceptions import ParameterTypeError

from prefect_pdfco import BadRequestError, JobFailed, PdfcoConnectionError, PdfcoError, SubmitOutcomeUnknown
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.flows import BatchResult, run_batch
from prefect_pdfco.jobs import batch as _batch
from prefect_pdfco.jobs.batch import BatchItem, batch_items
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


HTML = "/v1/pdf/convert/from/html"


def twice(
    credentials: PdfcoCredentials,
    items: list[dict[str, Any]],
    *,
    first_concurrency: int = _batch.DEFAULT_MAX_CONCURRENCY,
) -> tuple[list[BatchItem], list[BatchItem]]:
    """The batch task called twice in one flow run, as a re-run of the flow run would call it."""

    @flow
    async def run() -> tuple[list[BatchItem], list[BatchItem]]:
        args = (credentials, "html_to_pdf", HTML, items)
        first = await batch_items.aio(*args, max_wait_seconds=60, max_concurrency=first_concurrency, submit_key="batch")
        again = await batch_items.aio(*args, max_wait_seconds=60, max_concurrency=2, submit_key="batch")
        return first, again

    return asyncio.run(run())


def test_a_batch_that_succeeded_is_handed_back_by_a_rerun_without_a_request(emu: PdfcoEmulator) -> None:
    first, again = twice(emu.credentials(), pages(4))  # max_concurrency differs: how it runs is not its name

    assert all(item.ok for item in first)
    assert again == first
    assert emu.stats()["jobs_submitted"] == 4 and emu.stats()["job_checks"] == 4


def test_a_rerun_of_a_batch_with_failures_reattaches_and_never_sends_an_unknown_submit_again(
    emu: PdfcoEmulator,
) -> None:
    emu.inject(HTML, drop=True, takes_effect=True)  # the first submit: PDF.co makes the job, the answer is lost
    items = [*pages(3), {"name": "no-html.pdf"}]  # refused: may be sent again

    # One submit at a time, in order, so the lost answer is a document's and never the refusal's (CI once saw that)
    first, again = twice(emu.credentials(), items, first_concurrency=1)

    assert sum(isinstance(item.error, PdfcoConnectionError) for item in first) == 1
    assert isinstance(first[3].error, BadRequestError) and isinstance(again[3].error, BadRequestError)
    lost = next(item.index for item in first if isinstance(item.error, PdfcoConnectionError))
    assert isinstance(again[lost].error, SubmitOutcomeUnknown)  # reported, never paid for twice
    assert [item.job_id for item in again if item.index != lost] == [
        item.job_id for item in first if item.index != lost
    ]
    assert [type(item.error) for item in again if item.index != lost] == [
        type(item.error) for item in first if item.index != lost
    ]
    assert emu.stats()["jobs_submitted"] == 3


def test_each_job_is_followed_as_soon_as_its_submit_returns(
    emu: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last submit is held until the first job is being followed: a batch that waited for every submit
    before following any job would never get there."""
    followed: list[str] = []
    first_followed: list[asyncio.Event] = []

    class Wait(_batch._Wait):
        async def follow(self, watch: Any, *args: Any, **kwargs: Any) -> Any:
            followed.append(watch.job_id)
            first_followed[0].set()
            return await super().follow(watch, *args, **kwargs)

    real_submit = _batch.submit_and_record

    async def submit(*args: Any, item_key: str, **kwargs: Any) -> Any:
        if not first_followed:
            first_followed.append(asyncio.Event())
        if item_key == "batch-2":
            await asyncio.wait_for(first_followed[0].wait(), timeout=60)
        return await real_submit(*args, item_key=item_key, **kwargs)

    monkeypatch.setattr(_batch, "_Wait", Wait)
    monkeypatch.setattr(_batch, "submit_and_record", submit)
    batch = run_batch(emu.credentials(), "html_to_pdf", pages(3), max_concurrency=1)

    assert not batch.failed and len(followed) == 3
    assert followed[0] == batch.items[0].job_id


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
