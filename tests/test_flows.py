"""run_operation and the issue's chain: HTML to PDF, merge, split, PDF to text and a 5 MB upload in one flow."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.filesystems import LocalFileSystem
from pypdf import PdfReader, PdfWriter

from prefect_pdfco import (
    DownloadedFile,
    PdfcoCredentials,
    UnknownOperationError,
    download_result,
    merge_pdfs,
    upload_file,
    wait_for_job,
)
from prefect_pdfco.flows import OperationResult, run_operation
from prefect_pdfco.testing import PdfcoEmulator

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.3) as emu:
        yield emu


def big_pdf(path: Path, megabytes: int = 5) -> Path:
    """A valid PDF of about ``megabytes`` MB (random bytes in an embedded file keep it incompressible)."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_attachment("noise.bin", hashlib.sha256(b"seed").digest() * (megabytes * 1024 * 1024 // 32))
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def check_landed(files: list[DownloadedFile], pages: list[int], read: callable) -> None:  # type: ignore[valid-type]
    assert [len(PdfReader(io.BytesIO(read(file))).pages) for file in files] == pages
    for file in files:
        content = read(file)
        assert len(content) == file.size
        assert file.sha256 is None  # no digest unless fingerprint=True: it costs ~0.85 s of CPU per GiB


def test_the_issue_chain_in_one_flow(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = emulator.credentials()
    local = big_pdf(tmp_path / "big.pdf")
    block = LocalFileSystem(basepath=str(tmp_path / "block"))
    out = tmp_path / "out"

    @flow
    def chain() -> dict[str, Any]:
        def run(operation: str, params: dict[str, object], destination: object = None) -> OperationResult:
            return run_operation(credentials, operation, params, destination, initial_poll_seconds=0.2)

        invoice = run("html_to_pdf", {"html": "<h1>Invoice INV-9</h1><p>Total 10</p>"})
        cover = run("/v1/pdf/convert/from/html", {"html": "<h1>Cover page</h1>"})
        uploaded = upload_file(credentials, local)
        merging = merge_pdfs(credentials, [cover.url, invoice.url, uploaded], name="merged.pdf")
        merged = wait_for_job(credentials, merging.job_id, initial_poll_seconds=0.1)
        parts = run("split_pdf", {"url": merged.url, "pages": "*"}, out)
        stored = run("split", {"url": merged.url, "pages": "1-2,3"}, block)
        text = run("pdf_to_text", {"url": invoice.url}, out)
        back = download_result(uploaded, tmp_path / "roundtrip", fingerprint=True)
        return {"parts": parts, "stored": stored, "text": text, "merged": merged, "back": back}

    results = chain()
    # The merged document: cover (1 page) + invoice (1) + the 5 MB upload (1).
    check_landed(results["parts"].files, [1, 1, 1], lambda f: Path(f.path).read_bytes())
    assert all(Path(f.path).parent == out for f in results["parts"].files)
    check_landed(results["stored"].files, [2, 1], lambda f: Path(block.basepath, f.path).read_bytes())
    back = results["back"]
    assert back.size == local.stat().st_size > 5_000_000
    assert back.sha256 == hashlib.sha256(local.read_bytes()).hexdigest()
    [text_file] = results["text"].files
    assert "INV-9" in Path(text_file.path).read_text()
    assert emulator.stats()["result_link_requests_with_api_key"] == 0


async def test_run_operation_in_an_async_flow_and_without_destination(emulator: PdfcoEmulator) -> None:
    credentials = emulator.credentials()

    @flow
    async def convert() -> OperationResult:
        return await run_operation(credentials, "/v1/pdf/convert/from/html", {"html": "<p>async</p>"})

    result = await convert()
    assert result.operation == "html_to_pdf" and result.files == [] and result.url


def test_unknown_operations_fail_before_any_request(emulator: PdfcoEmulator) -> None:
    credentials: PdfcoCredentials = emulator.credentials()
    with pytest.raises(UnknownOperationError, match="merge"):
        run_operation(credentials, "merj", {})
    assert emulator.stats()["jobs_submitted"] == 0
