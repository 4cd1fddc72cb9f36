"""Digests are a choice: none by default, SHA-256 with ``fingerprint=True``, S3's MD5 ETag with ``verify_etag=True``;
and so is the fsync before the rename (``durable=True``; off by default).

A scripted file host (see test_files_errors) answers chosen ETags; the emulator answers the real MD5 of what it
stores, as S3 does for a single-part object.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from prefect_pdfco import ChecksumMismatchError, FileTransferError, InvalidParametersError
from prefect_pdfco.files import adownload_result, adownload_result_files, adownload_results, aupload_file
from prefect_pdfco.files import storage as storage_module
from prefect_pdfco.files import transfer as transfer_module
from prefect_pdfco.files.transfer import CHUNK_SIZE
from prefect_pdfco.files.upload import put_file
from prefect_pdfco.testing import PdfcoEmulator

from .test_files import FAST, emu, only_files
from .test_files_errors import Host, body, broken, fresh_url, ranged

# More than two batches, not a whole number of them: the digests span batches and a partial last one.
DATA = os.urandom(2 * CHUNK_SIZE + 12_345)
__all__ = ["emu"]  # the emulator fixture, from test_files
MD5 = hashlib.md5(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()


def answer(etag: str) -> Any:
    return lambda request: body(200, DATA, ETag=etag, **{"Content-Type": "application/pdf"})


@pytest.fixture
def no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any digest the transfer module starts fails the test."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a digest was computed")

    # The transfer module's own name for hashlib only: the package hashes other things (owner tags, keys).
    monkeypatch.setattr(transfer_module, "hashlib", SimpleNamespace(sha256=refused, md5=refused))
    monkeypatch.setattr(transfer_module.Digests, "update", refused)


@pytest.mark.usefixtures("no_hashing")
async def test_the_default_computes_no_digest(tmp_path: Path) -> None:
    host = Host(answer(f'"{MD5}"'))
    async with host.client() as http:
        landed = await adownload_result(fresh_url(), tmp_path, http=http, retry_policy=FAST)
    assert Path(landed.path).read_bytes() == DATA and landed.size == len(DATA)
    assert landed.sha256 is None and landed.etag_verified is False


async def test_fingerprint_gives_the_sha256_across_a_resumed_transfer(tmp_path: Path) -> None:
    cut = CHUNK_SIZE + 70_000  # one batch written, part of the next received when the connection breaks
    host = Host(broken(DATA, cut, etag=f'"{MD5}"'), ranged(DATA, etag=f'"{MD5}"'))
    async with host.client() as http:
        landed = await adownload_result(fresh_url(), tmp_path, http=http, retry_policy=FAST, fingerprint=True)
    assert host.ranges == [None, f"bytes={cut}-"]  # resumed right after what arrived, not at a batch boundary
    assert landed.sha256 == SHA256 and Path(landed.path).read_bytes() == DATA
    assert landed.etag_verified is False  # not asked for


async def test_verify_etag_passes_a_right_md5_and_refuses_a_wrong_one_leaving_nothing(tmp_path: Path) -> None:
    wrong = "0" * 32
    host = Host(answer(f'"{MD5}"'), answer(f'"{wrong}"'))
    async with host.client() as http:
        landed = await adownload_result(fresh_url(), tmp_path / "ok", http=http, retry_policy=FAST, verify_etag=True)
        assert landed.etag_verified is True and landed.sha256 is None
        with pytest.raises(ChecksumMismatchError) as caught:
            await adownload_result(fresh_url(), tmp_path / "bad", http=http, retry_policy=FAST, verify_etag=True)
    assert isinstance(caught.value, FileTransferError)
    assert MD5 in str(caught.value) and wrong in str(caught.value) and "s3cr3t" not in str(caught.value)
    assert only_files(tmp_path / "bad") == []  # no partial file, no temporary file
    assert len(host.requests) == 2  # a mismatch is not retried on its own


async def test_verify_etag_lands_a_multipart_object_unverified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = Host(answer('"9b2cf535f27731c974343645a3985328-3"'))
    async with host.client() as http:
        landed = await adownload_result(fresh_url(), tmp_path, http=http, retry_policy=FAST, verify_etag=True)
    assert Path(landed.path).read_bytes() == DATA and landed.etag_verified is False
    assert "verify_etag cannot check it" in caplog.text


async def test_both_checks_on_the_emulator_and_through_the_batch_and_parts_functions(
    emu: PdfcoEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "noise.bin"
    source.write_bytes(DATA)
    async with emu.credentials().get_client() as client:
        url = await aupload_file(client, source, verify_etag=True)  # the emulator answers the MD5 it stored
    [landed] = await adownload_results([url], tmp_path / "many", fingerprint=True, verify_etag=True)
    assert not isinstance(landed, Exception)
    assert landed.sha256 == SHA256 and landed.etag_verified is True
    [part] = await adownload_result_files(url, tmp_path / "parts", verify_etag=True)
    assert part.etag_verified is True and part.sha256 is None


async def test_an_upload_whose_stored_bytes_differ_is_refused_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(DATA)

    def stored(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"ETag": f'"{"1" * 32}"'})

    host = Host(stored, stored)
    async with host.client() as http:
        await put_file(fresh_url(), tmp_path / "a.pdf", len(DATA), "application/pdf", http=http, retry_policy=FAST)
        with pytest.raises(ChecksumMismatchError, match="uploaded bytes"):
            await put_file(fresh_url(), tmp_path / "a.pdf", len(DATA), "application/pdf", http=http, verify_etag=True)
    assert [len(request.content) for request in host.requests] == [len(DATA)] * 2


@pytest.mark.parametrize("option", ["fingerprint", "verify_etag", "durable"])
async def test_the_options_take_only_booleans(tmp_path: Path, option: str) -> None:
    with pytest.raises(InvalidParametersError, match=option):
        await adownload_result(fresh_url(), tmp_path, **{option: "yes"})
    assert only_files(tmp_path) == []


async def test_durable_fsyncs_before_the_rename_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(storage_module.os, "fsync", counting)
    host = Host(answer(f'"{MD5}"'), answer(f'"{MD5}"'))
    async with host.client() as http:
        await adownload_result(fresh_url("a.pdf"), tmp_path, http=http, retry_policy=FAST)
        assert synced == []
        landed = await adownload_result(fresh_url("b.pdf"), tmp_path, http=http, retry_policy=FAST, durable=True)
    assert len(synced) == 1 and Path(landed.path).read_bytes() == DATA
    assert only_files(tmp_path) == ["a.pdf", "b.pdf"]
