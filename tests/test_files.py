"""Uploads and downloads against the emulator over loopback: presigned PUT, streaming, resume, expiry, keys."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prefect.filesystems import LocalFileSystem
from pypdf import PdfReader, PdfWriter

from prefect_pdfco import (
    JobResult,
    JobStatus,
    PdfcoClient,
    PdfcoConnectionError,
    PdfcoCredentials,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
)
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco.files import (
    adownload_result,
    adownload_result_files,
    afetch_result_json,
    afetch_result_text,
    aupload_file,
)
from prefect_pdfco.files.transfer import CHUNK_SIZE
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_pdf

#: Retries without the default half-second waits; 4 attempts like the default policy.
# No jitter: 429s then get 0.01 + 0.02 + 0.02 s of backoff budget, the same 4 attempts as other failures.
FAST = RetryPolicy(initial_delay=0.01, max_delay=0.02, jitter=0.0, rate_limit_budget_seconds=0.05)
T = TypeVar("T")
PART_NAMES = ["result-1.pdf", "result-2.pdf", "result-3.pdf"]


def big_pdf(pages: int = 3, size: int = 5 * 1024 * 1024) -> bytes:
    """A valid PDF of about ``size`` bytes: sample pages plus an attachment of random (incompressible) bytes."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_sample_pdf(pages))))
    writer.add_attachment("noise.bin", os.urandom(size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_count(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def peak_memory(call: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """The result of ``call()`` and the peak of traced allocations while it ran (all threads, emulator too)."""
    tracemalloc.start()
    try:
        result = await call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def run_job(client: PdfcoClient, endpoint: str, params: dict[str, Any]) -> JobResult:
    """Submits a job and checks it until it leaves ``working`` (the emulator's jobs take 50 ms)."""
    submission = await client.submit(endpoint, params)
    for _ in range(500):
        result = await client.check_job(submission.job_id)
        if result.status is not JobStatus.WORKING:
            assert result.status is JobStatus.SUCCESS, result.message
            return result
        await asyncio.sleep(0.02)
    raise AssertionError("the emulator's job did not finish")


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


def assert_key_never_left_the_api(emu: PdfcoEmulator) -> None:
    stats = emu.stats()
    assert stats["result_link_requests_with_api_key"] == 0
    assert stats["presigned_put_requests_with_api_key"] == 0


def only_files(directory: Path) -> list[str]:
    """Every entry of ``directory``, hidden ones included (a leftover ``.pdfco-*.part`` would show)."""
    return sorted(os.listdir(directory))


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """An emulator in its own process, so that tracemalloc sees only this side of the transfers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect_pdfco.testing", "--port", "0", "--api-key", "demo", "--job-duration", "0.05"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # "PDF.co emulator at http://127.0.0.1:<port>"
        assert "http://" in first, first
        yield first.split(" at ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_upload_5mb_presigned_then_merge_and_download_with_bounded_memory(
    emulator_process: str, tmp_path: Path
) -> None:
    content = big_pdf()
    source = tmp_path / "scan.pdf"
    source.write_bytes(content)
    (tmp_path / "warm.pdf").write_bytes(make_sample_pdf(1))
    credentials = PdfcoCredentials(api_key="demo", base_url=emulator_process)
    async with credentials.get_client() as client:
        await aupload_file(client, tmp_path / "warm.pdf")  # first-use imports and pools, outside the measure
        url, upload_peak = await peak_memory(lambda: aupload_file(client, source))
        merged = await run_job(client, "/v1/pdf/merge", {"url": f"{url},{url}", "name": "merged.pdf"})
    back, download_peak = await peak_memory(
        lambda: adownload_result(url, tmp_path / "back", retry_policy=FAST, fingerprint=True)
    )
    print(f"\n5 MB file ({len(content):,} bytes): upload peak {upload_peak:,} B, download peak {download_peak:,} B")
    # Batches of 1 MiB: one being written while the next is gathered, beside h11's read buffer (an upload: one
    # chunk read ahead of the send), whatever the file's size (benchmarks/download_throughput.py: 1 GiB).
    assert upload_peak < 3 * CHUNK_SIZE
    assert download_peak < 4 * CHUNK_SIZE

    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{emulator_process}/__emulator__/stats")).json()
    assert stats["requests"]["/v1/file/upload/get-presigned-url"] == 2
    assert "/v1/file/upload/base64" not in stats["requests"]
    assert stats["presigned_put_requests"] == 2
    assert stats["result_link_requests_with_api_key"] == 0 and stats["presigned_put_requests_with_api_key"] == 0
    assert back.size == len(content) and back.sha256 == sha256(content)
    assert Path(back.path).read_bytes() == content and back.content_type == "application/pdf"
    assert back.url == url.split("?", 1)[0] and "X-Amz" not in back.url

    landed = await adownload_result(merged, tmp_path / "out", retry_policy=FAST)
    assert Path(landed.path) == tmp_path / "out" / "merged.pdf"
    assert page_count(Path(landed.path).read_bytes()) == 6


async def test_split_parts_land_in_a_directory_and_a_local_file_system_block(
    emu: PdfcoEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "three.pdf"
    source.write_bytes(make_sample_pdf(3))
    async with emu.credentials().get_client() as client:
        split = await run_job(client, "/v1/pdf/split", {"url": await aupload_file(client, source), "pages": "*"})
    assert split.url is not None and urlsplit(split.url).path.endswith(".json")  # async split: a JSON list

    parts = await adownload_result_files(split, tmp_path / "parts", retry_policy=FAST, fingerprint=True)
    block = LocalFileSystem(basepath=str(tmp_path / "block"))
    in_block = await adownload_result_files(split, block, retry_policy=FAST, fingerprint=True)

    for landed in (parts, in_block):
        assert [Path(part.path).name for part in landed] == PART_NAMES
        for number, part in enumerate(landed, start=1):
            content = Path(part.path).read_bytes()
            assert part.size == len(content) and part.sha256 == sha256(content)
            pages = PdfReader(io.BytesIO(content)).pages
            assert len(pages) == 1 and f"Page {number}" in pages[0].extract_text()
    assert only_files(tmp_path / "parts") == PART_NAMES
    assert only_files(tmp_path / "block") == PART_NAMES
    assert [part.sha256 for part in parts] == [part.sha256 for part in in_block]
    # The JSON list itself, read as JSON.
    links = await afetch_result_json(split, retry_policy=FAST)
    assert [urlsplit(link).path.rsplit("/", 1)[-1] for link in links] == PART_NAMES
    assert_key_never_left_the_api(emu)


async def test_an_interrupted_download_resumes_with_a_range_request(emu: PdfcoEmulator, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "noise.bin"
    source.write_bytes(content)
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    emu.inject_download_drop(after_bytes=1_000_000)
    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        landed = await adownload_result(url, tmp_path / "out", http=http, retry_policy=FAST, fingerprint=True)
    assert Path(landed.path).read_bytes() == content
    assert landed.size == len(content) and landed.sha256 == sha256(content)
    assert emu.stats()["downloads_dropped"] == 1 and len(sent) == 2
    assert "range" not in sent[0].headers
    resumed_at = int(sent[1].headers["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 1_000_000  # continued from what had arrived, not from zero
    assert only_files(tmp_path / "out") == ["noise.bin"]
    assert_key_never_left_the_api(emu)


async def test_drops_beyond_the_retry_budget_leave_no_partial_file(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "noise.bin"
    source.write_bytes(os.urandom(1024 * 1024))
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
    emu.inject_download_drop(after_bytes=100_000, times=FAST.max_attempts + 2)
    with pytest.raises(PdfcoConnectionError) as info:
        await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    assert emu.stats()["downloads_dropped"] == FAST.max_attempts
    assert "X-Amz" not in str(info.value)
    assert only_files(tmp_path / "out") == []


async def test_a_job_not_done_yet_is_a_404_not_ready_and_leaves_nothing(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "one.pdf"
    source.write_bytes(make_sample_pdf(1))
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
        emu.set_job_duration(60)
        submission = await client.submit("/v1/pdf/edit/rotate", {"url": url, "angle": 90})
    assert submission.url is not None
    with pytest.raises(ResultNotReadyError) as info:
        await adownload_result(submission.url, tmp_path / "out", retry_policy=FAST)
    assert info.value.status_code == 404 and "wait_for_job" in str(info.value)
    assert only_files(tmp_path / "out") == []
    working = JobResult(job_id=submission.job_id, status=JobStatus.WORKING)
    before = emu.stats()["result_link_requests"]
    with pytest.raises(ResultNotReadyError, match="is working"):
        await adownload_result(working, tmp_path / "out")
    assert emu.stats()["result_link_requests"] == before


async def test_an_expired_link_reads_as_result_expired_naming_the_time(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "one.pdf"
    source.write_bytes(make_sample_pdf(1))
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
    query = parse_qs(urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    expiry = signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
    emu.advance_clock(3601)  # the emulator's clock only: our side still thinks the link is fresh
    with pytest.raises(ResultExpiredError) as info:
        await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    error = info.value
    assert error.status_code == 403 and error.valid_till == expiry
    assert expiry.strftime("%Y-%m-%dT%H:%M:%SZ") in str(error) and "Request has expired" in str(error)
    # Our clock is an hour behind the host's: no "0 s ago", the clocks disagree and the message says so.
    assert " ago" not in str(error) and "by the file host's clock" in str(error)
    assert "X-Amz" not in str(error) and error.url == url.split("?", 1)[0]
    assert emu.stats()["result_link_requests"] == 1  # asked once: a 403 is not retried
    assert only_files(tmp_path / "out") == []


async def test_a_past_valid_till_is_refused_without_any_request(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "one.pdf"
    source.write_bytes(make_sample_pdf(2))
    async with emu.credentials().get_client() as client:
        result = await run_job(client, "/v1/pdf/edit/rotate", {"url": await aupload_file(client, source), "angle": 90})
    assert result.output_link_valid_till is not None
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    stale = result.model_copy(update={"output_link_valid_till": past})
    before = emu.stats()["result_link_requests"]
    for attempt in (
        adownload_result(stale, tmp_path / "out"),
        adownload_result_files(stale, tmp_path / "out"),
        afetch_result_text(stale),
    ):
        with pytest.raises(ResultExpiredError) as info:
            await attempt
        assert info.value.valid_till == past and past.strftime("%Y-%m-%dT%H:%M:%SZ (5 min ago)") in str(info.value)
        assert "no request was made" in str(info.value)
    assert emu.stats()["result_link_requests"] == before
    assert not (tmp_path / "out").exists() or only_files(tmp_path / "out") == []


async def test_fetch_text_and_json_and_the_size_limit(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "two.pdf"
    source.write_bytes(make_sample_pdf(2, text="Hello {n} of {pages}"))
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
        text_result = await run_job(client, "/v1/pdf/convert/to/text-simple", {"url": url})
        info_result = await run_job(client, "/v1/pdf/info", {"url": url})
    text = await afetch_result_text(text_result, retry_policy=FAST)
    assert "Hello 1 of 2" in text and "Hello 2 of 2" in text
    info = await afetch_result_json(info_result, retry_policy=FAST)
    assert isinstance(info, dict) and "2" in str(info)
    before = emu.stats()["result_link_requests"]
    with pytest.raises(ResultTooLargeError) as too_large:
        await afetch_result_text(url, max_bytes=100, retry_policy=FAST)  # the PDF itself is over 100 bytes
    assert too_large.value.limit == 100 and "download_result" in str(too_large.value)
    assert emu.stats()["result_link_requests"] == before + 1  # refused on Content-Length, not retried
    assert_key_never_left_the_api(emu)


async def test_hostile_explicit_file_names_stay_inside_the_destination(emu: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "one.pdf"
    source.write_bytes(make_sample_pdf(1))
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source)
    destination = tmp_path / "dest" / "inner"
    names = ["../../etc/passwd", "a/b", "..\\..\\win.ini", "\x00evil", "..", ".", "", "/abs.pdf", "x" * 1000 + ".pdf"]
    landed = [await adownload_result(url, destination, filename=name, retry_policy=FAST) for name in names]
    for item in landed:
        path = Path(item.path)
        assert path.parent == destination and path.is_file() and len(path.name.encode()) <= 200
        assert path.read_bytes() == source.read_bytes()
    assert {Path(item.path).name for item in landed} >= {"_.._etc_passwd", "a_b", "evil", "download", "_abs.pdf"}
    assert next(Path(item.path).name for item in landed if item.path.endswith("x.pdf")).endswith("xxx.pdf")
    assert only_files(tmp_path / "dest") == ["inner"]
    assert not any(name.startswith(".pdfco-") for name in only_files(destination))
