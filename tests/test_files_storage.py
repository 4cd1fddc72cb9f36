"""Where downloads land: Prefect storage blocks of each kind, clean-up on failure and on cancellation."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import httpx
import pytest
from prefect.filesystems import LocalFileSystem, RemoteFileSystem

from prefect_pdfco import InvalidParametersError, ResultNotReadyError
from prefect_pdfco.files import adownload_result, adownload_result_files

from .test_files import FAST, only_files
from .test_files_errors import Host, body, error, fresh_url, s3_xml, whole

DATA = os.urandom(150_000)
DIGEST = hashlib.sha256(DATA).hexdigest()


class FakeS3Bucket:
    """Looks like prefect-aws's S3Bucket: a sync ``upload_from_path`` returning the object key."""

    def __init__(self, folder: str = "results") -> None:
        self.folder = folder
        self.objects: dict[str, bytes] = {}
        self.threads: list[str] = []

    def upload_from_path(self, from_path: str, to_path: str | None = None, **kwargs: Any) -> str:
        self.threads.append(threading.current_thread().name)
        key = f"{self.folder}/{to_path}"
        self.objects[key] = Path(from_path).read_bytes()
        return key

    def write_path(self, path: str, content: bytes) -> str:  # pragma: no cover - must not be chosen
        raise AssertionError("upload_from_path streams from disk and must win over write_path")


class AsyncBucket:
    """An object-storage block with an async twin, ``aupload_from_path``, which must be preferred."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def upload_from_path(self, from_path: str, to_path: str) -> str:  # pragma: no cover - the twin wins
        raise AssertionError("the async twin should have been awaited")

    async def aupload_from_path(self, from_path: str, to_path: str) -> str:
        self.objects[to_path] = Path(from_path).read_bytes()
        return f"bucket/{to_path}"


class BytesOnly:
    """A block with only ``write_path(path, content)``: it gets the bytes in one piece."""

    def __init__(self) -> None:
        self.written: dict[str, bytes] = {}

    def write_path(self, path: str, content: bytes) -> None:
        self.written[path] = content


async def land(destination: Any, *, name: str = "result.pdf") -> tuple[Any, Host]:
    host = Host(whole(DATA))
    async with host.client() as http:
        landed = await adownload_result(fresh_url(name), destination, http=http, retry_policy=FAST, fingerprint=True)
    assert landed.size == len(DATA) and landed.sha256 == DIGEST
    return landed, host


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points ``tempfile`` at a directory of our own, to see what staging leaves behind there."""
    staging = tmp_path / "system-tmp"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))
    return staging


async def test_an_object_storage_block_gets_the_file_from_disk(private_tmp: Path) -> None:
    bucket = FakeS3Bucket()
    landed, _ = await land(bucket, name="a%2Fb.pdf")
    assert landed.path == "results/a_b.pdf" and bucket.objects == {"results/a_b.pdf": DATA}
    assert bucket.threads and bucket.threads[0] != threading.current_thread().name  # not on the event loop
    assert only_files(private_tmp) == []  # the staged copy is gone

    twin = AsyncBucket()
    landed, _ = await land(twin)
    assert landed.path == "bucket/result.pdf" and twin.objects == {"result.pdf": DATA}


async def test_a_remote_file_system_block_streams_through_fsspec(private_tmp: Path) -> None:
    block = RemoteFileSystem(basepath="memory://pdfco-tests/out")
    landed, _ = await land(block)
    assert landed.path == "memory://pdfco-tests/out/result.pdf"
    assert fsspec.filesystem("memory").cat("/pdfco-tests/out/result.pdf") == DATA
    assert only_files(private_tmp) == []


async def test_a_write_path_only_block_and_a_local_file_system_block(tmp_path: Path) -> None:
    plain = BytesOnly()
    landed, _ = await land(plain)
    assert landed.path == "result.pdf" and plain.written == {"result.pdf": DATA}

    local = LocalFileSystem(basepath=str(tmp_path / "base"))
    landed, _ = await land(local)
    assert landed.path == str(tmp_path / "base" / "result.pdf")
    assert Path(landed.path).read_bytes() == DATA and only_files(tmp_path / "base") == ["result.pdf"]


async def test_other_destinations_are_refused_before_any_request() -> None:
    host = Host()
    async with host.client() as http:
        with pytest.raises(InvalidParametersError, match=r"destination: .*write_path"):
            await adownload_result(fresh_url(), object(), http=http, retry_policy=FAST)
    assert host.requests == []


async def test_a_failed_download_leaves_nothing_in_a_block_or_the_staging_area(private_tmp: Path) -> None:
    bucket = FakeS3Bucket()
    host = Host(error(404, s3_xml("NoSuchKey", "The specified key does not exist.")))
    async with host.client() as http:
        with pytest.raises(ResultNotReadyError):
            await adownload_result_files(fresh_url(), bucket, http=http, retry_policy=FAST)
    assert bucket.objects == {} and only_files(private_tmp) == []


class Slow(httpx.AsyncByteStream):
    """Sends a first chunk, then waits for ever (until cancelled)."""

    def __init__(self, started: asyncio.Event) -> None:
        self.started = started

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield DATA[:50_000]
        self.started.set()
        await asyncio.sleep(3600)
        yield DATA[50_000:]  # pragma: no cover


async def test_a_cancelled_download_leaves_no_partial_file(tmp_path: Path) -> None:
    started = asyncio.Event()
    host = Host(lambda request: httpx.Response(200, headers={"Content-Length": str(len(DATA))}, stream=Slow(started)))
    async with host.client() as http:
        task = asyncio.create_task(adownload_result(fresh_url(), tmp_path / "out", http=http, retry_policy=FAST))
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.sleep(0.05)  # the first chunk is written to the staged file
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert only_files(tmp_path / "out") == []


async def test_a_file_already_there_is_replaced_whole(tmp_path: Path) -> None:
    (tmp_path / "result.pdf").write_bytes(b"old")
    host = Host(whole(DATA), lambda request: body(200, b"new"))
    async with host.client() as http:
        first = await adownload_result(fresh_url(), tmp_path, http=http, retry_policy=FAST)
        second = await adownload_result(fresh_url(), tmp_path, http=http, retry_policy=FAST)
    assert first.path == second.path and Path(second.path).read_bytes() == b"new"
    assert only_files(tmp_path) == ["result.pdf"]
