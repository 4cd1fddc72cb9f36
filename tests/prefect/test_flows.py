"""run_operation and run_batch: one operation from submit to files on disk, for one document or many."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import InvalidParametersError, JobFailed, PdfcoCredentials
from prefect_pdfco.flows import BatchResult, OperationResult, run_batch, run_operation

HTML = "/v1/pdf/convert/from/html"


def test_run_operation_submits_waits_and_lands(credentials: PdfcoCredentials, tmp_path: Path) -> None:
    pdf = run_operation(credentials, "html_to_pdf", {"html": "<h1>1</h1><p style='page-break-before: always'>2</p>"})
    assert isinstance(pdf, OperationResult) and pdf.url
    parts = run_operation(credentials, "split", {"url": pdf.url, "pages": "*"}, destination=tmp_path / "parts")
    assert len(parts.files) == 2 and all(Path(file.path).is_file() for file in parts.files)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0, -1, 1e308])
def test_run_operation_checks_every_argument_before_paying(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator, seconds: float
) -> None:
    with pytest.raises(InvalidParametersError):
        run_operation(credentials, "html_to_pdf", {"html": "<p/>"}, max_wait_seconds=seconds)
    with pytest.raises(InvalidParametersError):
        run_operation(credentials, "html_to_pdf", {"html": "<p/>"}, initial_poll_seconds=seconds)
    with pytest.raises(InvalidParametersError, match="paperSize"):
        run_operation(credentials, "html_to_pdf", {"html": "<p/>", "paper_size": "A4"})
    assert pdfco_emulator.stats()["requests"] == {}


def test_a_batch_lands_every_document_under_its_own_name(credentials: PdfcoCredentials, tmp_path: Path) -> None:
    items = [{"html": f"<h1>{n}</h1>"} for n in range(3)]  # unnamed: PDF.co names each result.pdf
    batch = run_batch(credentials, "html_to_pdf", items, destination=tmp_path)
    assert isinstance(batch, BatchResult) and len(batch.succeeded) == 3
    landed = sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".pdf")
    assert len(landed) == 3 == len({file.path for item in batch.items for file in item.files})


def test_a_new_run_with_skip_done_pays_only_for_what_is_missing_or_changed(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    items = [{"html": f"<h1>{n}</h1>", "name": f"doc-{n}.pdf"} for n in range(4)]
    run_batch(credentials, "html_to_pdf", items, destination=tmp_path, skip_done=True)
    assert pdfco_emulator.stats()["jobs_submitted"] == 4
    (tmp_path / "doc-1.pdf").unlink()  # a file went missing
    items[2]["html"] = "<h1>changed</h1>"  # an input changed
    again = run_batch(credentials, "html_to_pdf", items, destination=tmp_path, skip_done=True)
    assert pdfco_emulator.stats()["jobs_submitted"] == 6
    assert [item.skipped for item in again.items] == [True, False, False, True]
    lines = (tmp_path / ".pdfco-manifest.jsonl").read_text().splitlines()
    assert all(json.loads(line)["files"] for line in lines)


def test_a_partly_failed_batch_says_so_in_its_state(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    pdfco_emulator.inject_job_outcome("failed", message="damaged input")

    @flow
    def nightly() -> BatchResult:
        return run_batch(credentials, "html_to_pdf", [{"html": f"<p>{n}</p>"} for n in range(3)], destination=tmp_path)

    batch = nightly()
    assert len(batch.failed) == 1 and isinstance(batch.failed[0].error, JobFailed)
    assert "damaged input" in str(batch.failed[0].error)

    async def state_names() -> list[str | None]:
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="pdfco-batch"))
            )
        return [run.state.name for run in runs if run.state is not None]

    import asyncio

    assert "1 of 3 failed" in asyncio.run(state_names())


def test_a_batch_refuses_bad_items_before_any_submit(
    credentials: PdfcoCredentials, pdfco_emulator: PdfcoEmulator
) -> None:
    items = [{"html": "<p>fine</p>"}, {"htm": "<p>typo</p>"}, {"html": "<p/>", "url": "/etc/passwd"}]
    with pytest.raises(InvalidParametersError) as raised:
        run_batch(credentials, "html_to_pdf", items)
    assert "items[1]" in str(raised.value) and "items[2]" in str(raised.value)
    assert pdfco_emulator.stats()["requests"] == {}
