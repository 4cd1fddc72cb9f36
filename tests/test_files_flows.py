"""The file tasks under the real Prefect engine: called from a sync flow and from an async flow."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow
from prefect.filesystems import LocalFileSystem
from pypdf import PdfReader

from prefect_pdfco import (
    DownloadedFile,
    JobResult,
    PdfcoCredentials,
    ResultExpiredError,
    download_result,
    download_result_files,
    fetch_result_json,
    fetch_result_text,
    submit_job,
    upload_file,
    wait_for_job,
)
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_pdf

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


def test_upload_split_and_download_in_a_sync_flow(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "three.pdf"
    source.write_bytes(make_sample_pdf(3))
    credentials = emu.credentials()
    block = LocalFileSystem(basepath=str(tmp_path / "block"))

    @flow
    def split_to_block(path: str) -> tuple[list[DownloadedFile], DownloadedFile, list[str]]:
        url = upload_file(credentials, path)
        job = submit_job(credentials, "/v1/pdf/split", {"url": url, "pages": "*"})
        result = wait_for_job(credentials, job.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)
        parts = download_result_files(result, block, fingerprint=True)
        original = download_result(url, str(tmp_path / "copy"), filename="original.pdf")
        return parts, original, fetch_result_json(result)

    parts, original, links = split_to_block(str(source))
    assert len(parts) == 3 == len(links)
    for part in parts:
        content = Path(part.path).read_bytes()
        assert Path(part.path).parent == tmp_path / "block"
        assert part.sha256 == hashlib.sha256(content).hexdigest() and len(PdfReader(io.BytesIO(content)).pages) == 1
    assert Path(original.path) == tmp_path / "copy" / "original.pdf"
    assert Path(original.path).read_bytes() == source.read_bytes()
    assert emu.stats()["result_link_requests_with_api_key"] == 0


async def test_download_and_fetch_text_in_an_async_flow(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "two.pdf"
    source.write_bytes(make_sample_pdf(2, text="Async page {n}"))
    credentials: PdfcoCredentials = emu.credentials()

    @flow
    async def to_text(path: str) -> tuple[str, DownloadedFile, JobResult]:
        url = await upload_file(credentials, path)
        job = await submit_job(credentials, "/v1/pdf/convert/to/text-simple", {"url": url, "name": "out.txt"})
        result = await wait_for_job(credentials, job.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)
        return await fetch_result_text(result), await download_result(result, tmp_path / "text"), result

    text, landed, result = await to_text(str(source))
    assert "Async page 1" in text and "Async page 2" in text
    assert Path(landed.path).read_bytes().decode("utf-8-sig") == text and landed.path.endswith("out.txt")

    @flow
    async def too_late(result: JobResult) -> DownloadedFile:
        landed: DownloadedFile = await download_result(result, tmp_path / "late")
        return landed

    assert result.output_link_valid_till is not None
    expired = result.model_copy(update={"output_link_valid_till": result.output_link_valid_till.replace(year=2000)})
    with pytest.raises(ResultExpiredError, match="2000-"):
        await too_late(expired)
    assert emu.stats()["result_link_requests_with_api_key"] == 0
