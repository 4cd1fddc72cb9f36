"""One error tree for the file functions: destinations that cannot take a file, wrong argument types, and
messages that say what happened (expiry in UTC, whatever the local clock, and escaped control characters)."""

from __future__ import annotations

import errno
import os
import pickle
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from prefect_pdfco import (
    DestinationError,
    InvalidParametersError,
    JobResult,
    JobStatus,
    PdfcoError,
    ResultNotReadyError,
    download_result,
    fetch_result_text,
    upload_file,
)
from prefect_pdfco.files import adownload_result, adownload_result_files, afetch_result_json, aupload_file
from prefect_pdfco.files import tempfiles as _tempfiles
from prefect_pdfco.files.expiry import describe_expiry
from prefect_pdfco.files.storage import FileSink

from .test_files import FAST, only_files
from .test_files_errors import HOST, Host, fresh_url, whole
from .test_files_storage import FakeS3Bucket

DATA = os.urandom(100_000)


def job_result(url: str, job_id: str = "job-42") -> JobResult:
    return JobResult(job_id=job_id, status=JobStatus.SUCCESS, url=url)


async def failing_download(destination: Any, url: str | None = None) -> tuple[DestinationError, Host]:
    link = url or fresh_url()
    host = Host(whole(DATA))
    async with host.client() as http:
        with pytest.raises(DestinationError) as info:
            await adownload_result(job_result(link), destination, http=http, retry_policy=FAST)
    return info.value, host


def assert_says_only_the_download_needs_retrying(error: DestinationError, url: str) -> None:
    assert isinstance(error, PdfcoError) and error.job_id == "job-42"
    assert error.url == url.split("?", 1)[0] and "X-Amz-Signature" not in str(error) and "s3cr3t" not in str(error)
    assert error.valid_till is not None and error.valid_till.tzinfo is not None
    expiry = error.valid_till.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"still at {error.url} until {expiry}" in str(error) and "the job need not run again" in str(error)


async def test_a_destination_that_is_a_file_is_refused_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("I am a file")
    url = fresh_url()
    error, host = await failing_download(tmp_path / "out", url)
    assert host.requests == [] and error.destination == str(tmp_path / "out")
    assert error.errno == errno.EEXIST and "a file has the directory's name" in str(error)
    assert_says_only_the_download_needs_retrying(error, url)
    pickled = pickle.loads(pickle.dumps(error))
    assert pickled.__dict__ == error.__dict__ and str(pickled) == str(error)


async def test_a_full_disk_mid_download_is_a_destination_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(self: FileSink, chunks: Sequence[bytes], digest: object = None) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSink, "write", full)
    url = fresh_url()
    error, host = await failing_download(tmp_path, url)
    assert len(host.requests) == 1  # not retried: another attempt would fill the same disk
    assert error.errno == errno.ENOSPC and "the disk is full (ENOSPC" in str(error)
    assert isinstance(error.__cause__, OSError)
    assert_says_only_the_download_needs_retrying(error, url)
    assert only_files(tmp_path) == []


async def test_a_read_only_directory_and_a_directory_in_the_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(directory: Path) -> tuple[int, Path]:
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    with monkeypatch.context() as patch:  # root ignores file modes, so the refusal is faked
        patch.setattr(_tempfiles, "new_part_file", refused)
        error, host = await failing_download(tmp_path / "ro")
    assert error.errno == errno.EACCES and "permission denied" in str(error) and host.requests == []

    (tmp_path / "taken" / "result.pdf").mkdir(parents=True)  # a directory has the result's name
    error, _ = await failing_download(tmp_path / "taken")
    assert error.errno == errno.EISDIR and "a directory has the result's name" in str(error)
    assert only_files(tmp_path / "taken") == ["result.pdf"]


async def test_a_storage_block_that_refuses_the_file(tmp_path: Path) -> None:
    class Broken(FakeS3Bucket):
        def upload_from_path(self, from_path: str, to_path: str | None = None, **kwargs: Any) -> str:
            raise RuntimeError("AccessDenied: no PutObject for this role")

    url = fresh_url()
    error, _ = await failing_download(Broken(), url)
    assert "to the Broken block: it refused the file" in str(error) and "AccessDenied" in str(error)
    assert isinstance(error.__cause__, RuntimeError) and error.errno is None
    assert_says_only_the_download_needs_retrying(error, url)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda tmp: download_result.fn(12345, tmp), "result"),
        (lambda tmp: download_result.fn(None, tmp), "result"),
        (lambda tmp: download_result.fn(fresh_url(), None), "destination"),
        (lambda tmp: download_result.fn(fresh_url(), tmp, filename=7), "filename"),
        (lambda tmp: download_result.fn(fresh_url(), tmp, credentials="my-block"), "credentials"),
        (lambda tmp: adownload_result_files(b"https://x/y.pdf", tmp), "result"),
        (lambda tmp: fetch_result_text.fn(fresh_url(), max_bytes=0), "max_bytes"),
        (lambda tmp: fetch_result_text.fn(fresh_url(), max_bytes="10"), "max_bytes"),
        (lambda tmp: afetch_result_json(fresh_url(), retry_policy=3), "retry_policy"),
        (lambda tmp: adownload_result(fresh_url(), tmp, http="client"), "http"),
        (lambda tmp: upload_file.fn(None, tmp / "a.pdf"), "credentials"),
        (lambda tmp: aupload_file(None, tmp / "a.pdf"), "client"),
    ],
)
async def test_wrong_argument_types_name_the_argument(call: Any, argument: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidParametersError) as info:
        await call(tmp_path)
    assert isinstance(info.value, ValueError) and f"{argument}: " in str(info.value)
    assert only_files(tmp_path) == []


async def test_upload_paths_of_the_wrong_type_are_refused_before_any_request(tmp_path: Path) -> None:
    from prefect_pdfco.testing import PdfcoEmulator

    with PdfcoEmulator() as emu:
        async with emu.credentials().get_client() as client:
            for path, name in ((123, None), (tmp_path, 5)):
                with pytest.raises(InvalidParametersError, match=r"path: |name: "):
                    await aupload_file(client, path, name=name)  # type: ignore[arg-type]
        with pytest.raises(InvalidParametersError, match="path: "):
            await upload_file.fn(emu.credentials(), None)  # type: ignore[arg-type]
        assert emu.stats()["requests"] == {}


async def test_control_characters_in_ids_are_escaped_in_messages(tmp_path: Path) -> None:
    working = JobResult(job_id="job\n[ERROR] forged line", status=JobStatus.WORKING)
    with pytest.raises(ResultNotReadyError) as info:
        await adownload_result(working, tmp_path)
    assert "\n" not in str(info.value) and "job\\n[ERROR] forged line" in str(info.value)
    (tmp_path / "file").write_text("x")
    host = Host()
    async with host.client() as http:
        with pytest.raises(DestinationError) as destination:
            await adownload_result(job_result(fresh_url(), "a\rb"), tmp_path / "file", http=http)
    assert "\r" not in str(destination.value) and "a\\rb" in str(destination.value)


def test_expiry_is_shown_in_utc_and_never_as_just_now_when_the_clock_is_behind() -> None:
    expiry = datetime(2026, 3, 1, 4, 20, 44, tzinfo=timezone.utc)
    later = describe_expiry(expiry, expiry + timedelta(minutes=7, seconds=3))
    assert later == "the result link expired at 2026-03-01T04:20:44Z (7 min ago)"
    behind = describe_expiry(expiry, expiry - timedelta(hours=2))  # the host says expired; our clock disagrees
    assert "2026-03-01T04:20:44Z, by the file host's clock" in behind and "ago" not in behind
    assert "02:20:44Z" in behind and "check that it is synchronised" in behind
    in_berlin = expiry.astimezone(timezone(timedelta(hours=1)))
    assert "04:20:44Z (60 min ago)" in describe_expiry(in_berlin, expiry + timedelta(hours=1))


async def test_a_link_expired_by_the_hosts_clock_while_ours_is_behind(tmp_path: Path) -> None:
    # Signed a minute from now for an hour: our clock says valid, S3 (ahead of us) says expired.
    signed = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y%m%dT%H%M%SZ")
    url = f"{HOST}/job/r.pdf?X-Amz-Expires=3600&X-Amz-Signature=s3cr3t&X-Amz-Date={signed}"
    xml = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    from .test_files_errors import error as s3_answer

    host = Host(s3_answer(403, xml))
    async with host.client() as http:
        with pytest.raises(PdfcoError) as info:
            await adownload_result(url, tmp_path, http=http, retry_policy=FAST)
    message = str(info.value)
    assert "by the file host's clock" in message and " ago" not in message and message.count("Z") >= 2
