"""Result files onto disk or into memory, and local files up to PDF.co's storage. See docs/design/links.md."""

from __future__ import annotations

import codecs
import contextlib
import errno
import itertools
import json
import logging
import os
import re
import stat
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypedDict
from urllib.parse import unquote, urlsplit

import anyio.to_thread
import httpx
from typing_extensions import Unpack

from prefect_pdfco import _tempfiles, _transfer
from prefect_pdfco._exceptions import (
    DestinationError,
    FileTooLargeError,
    InvalidParametersError,
    LocalFileNotFoundError,
    PdfcoError,
    ResultNotReadyError,
    ResultTooLargeError,
    UnexpectedResponseError,
    escape_control,
)
from prefect_pdfco._transfer import Links
from prefect_pdfco._util import safe_url
from prefect_pdfco.models import DownloadedFile, JobResult, JobStatus

LINK_LIST_MAX_BYTES = 16 * 1024 * 1024  # a split's JSON list of part links holds about 2 KB per part
MAX_FILENAME_BYTES = 200  # most file systems cap a name at 255 bytes: room is left for a suffix
MAX_UPLOAD_BYTES = 2 * 1024**3  # PDF.co's limit for a presigned upload
PRESIGNED_URL_ENDPOINT = "/v1/file/upload/get-presigned-url"
#: The Content-Type PDF.co pairs with each extension; the presigned URL signs it, so the PUT must send that type.
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    **dict.fromkeys((".txt", ".csv", ".xml", ".json"), "text/plain"),
    **dict.fromkeys((".msg", ".eml"), "application/vnd.ms-outlook"),
}
_UNSAFE = re.compile(r'[/\\<>:"|?*]')  # separators of every platform, and what Windows refuses in a name
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_REASONS = {"EEXIST": "a file has the directory's name", "EISDIR": "a directory has the result's name"}
logger = logging.getLogger("prefect_pdfco")


class Landing(TypedDict, total=False):
    """How a file lands beyond atomically; each is off (or None) by default."""

    filename: str | None  #: the name instead of the link's last path segment (one file only); sanitised either way
    index: int | None  #: the item's index in its batch: a name the batch took already becomes ``name-<index>.ext``
    taken: set[str] | None  #: the names (lower case) this call or batch landed so far: shared, updated here
    fingerprint: bool  #: the SHA-256, while streaming (about 0.85 s of one core per GiB)
    verify_etag: bool  #: the MD5 against S3's ETag when it states one (about 1.4 s of one core per GiB)
    durable: bool  #: fsync before the rename, so even a power cut leaves no partial file (the disk's write time)


def sanitize_filename(name: str | None) -> str:
    text = "".join(c for c in unicodedata.normalize("NFC", name or "") if unicodedata.category(c) not in ("Cc", "Cf"))
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip().rstrip(". ")
    text = "_" + text if _RESERVED.match(text) else text
    if len(text.encode()) > MAX_FILENAME_BYTES:
        stem, dot, suffix = text.rpartition(".")
        stem, tail = (stem, f".{suffix}") if dot and stem and len(suffix) <= 16 else (text, "")
        text = stem.encode()[: MAX_FILENAME_BYTES - len(tail.encode())].decode(errors="ignore").rstrip(" .") + tail
    return "download" if not text or set(text) <= {"_", "."} else text


def filename_from_url(url: str) -> str:
    with contextlib.suppress(ValueError):
        return sanitize_filename(unquote(urlsplit(url.strip()).path.rsplit("/", 1)[-1]))
    return sanitize_filename(None)


def unique_name(name: str, taken: set[str], index: int | None = None) -> str:
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    base = stem if index is None else f"{stem}-{index}"
    counted = (f"{base}-{number}{suffix}" for number in itertools.count(2))
    chosen = next(n for n in itertools.chain([name, f"{base}{suffix}"], counted) if n.lower() not in taken)
    taken.add(chosen.lower())
    return chosen


def path_inside(directory: Path, name: str) -> Path:
    base = Path(os.path.abspath(directory))
    if (target := Path(os.path.abspath(base / name))).parent != base or name in ("", ".", ".."):
        raise InvalidParametersError("download", [f"filename: refusing to write {name!r} outside {base}"])
    return target


def _parsed_url(url: object) -> tuple[str, httpx.URL]:
    with contextlib.suppress(httpx.InvalidURL):  # an octal-looking host, a bad port...
        if (text := str(url).strip()).lower().startswith(("https://", "http://")) and (parsed := httpx.URL(text)).host:
            return text, parsed
    raise InvalidParametersError("download", [f"url: expected an http(s) link, got {safe_url(str(url))!r}"])


def result_link(result: JobResult | str) -> tuple[str, datetime | None, str | None]:
    """The one link of a result (or a link as given), its ``output_link_valid_till`` and its job id."""
    if isinstance(result, str):
        return result, None, None
    if result.status is not JobStatus.SUCCESS or not result.url:
        several = " (it has several: download its parts)" if result.urls else ""
        raise ResultNotReadyError(f"job {escape_control(result.job_id)} is {result.status}: no result link{several}")
    return result.url, result.output_link_valid_till, result.job_id


def _destination_error(error: OSError, where: Path, url: str, expiry: datetime | None, job: str | None) -> PdfcoError:
    name = errno.errorcode.get(error.errno or 0, "")
    detail = f"{_REASONS.get(name, error.strerror)} ({name}: {error.strerror})" if name else str(error)
    until = f"until {expiry:%Y-%m-%dT%H:%M:%SZ}" if expiry else "until it expires"
    text = (
        f"could not write the result{f' of job {escape_control(job)}' if job else ''} to {escape_control(str(where))}: "
        f"{escape_control(detail)}. The result is still at {safe_url(url)} {until}: fix the destination and download "
        "it again (the job need not run again)"
    )
    safe = safe_url(url)
    return DestinationError(text, destination=str(where), url=safe, job_id=job, valid_till=expiry, errno=error.errno)


async def download(
    links: Links,
    url: str,
    directory: Path | str,
    *,
    job_id: str | None = None,
    valid_till: datetime | None = None,
    **landing: Unpack[Landing],
) -> DownloadedFile:
    """Lands one result file in ``directory`` (created if missing) through a temporary file renamed once complete."""
    (url, target), directory, taken = _parsed_url(url), Path(directory), landing.get("taken")
    filename = landing.get("filename")
    name = sanitize_filename(filename) if filename is not None else filename_from_url(url)
    final = path_inside(directory, unique_name(name, taken, landing.get("index")) if taken is not None else name)
    expiry = _transfer.check_fresh(url, valid_till, links.clock)
    fingerprint, verify_etag = landing.get("fingerprint", False), landing.get("verify_etag", False)
    incoming = _transfer.Incoming(url, target=target, fingerprint=fingerprint, verify_etag=verify_etag)
    try:
        file, part = _tempfiles.open_part(directory)  # a few metadata calls: inline costs less than a thread hop
        verified = None
        try:
            with _tempfiles.track(part), file:
                incoming.file = file
                await _transfer.get(links, incoming, valid_till)
                verified = await anyio.to_thread.run_sync(incoming.land, part, final, landing.get("durable", False))
        finally:
            if verified is None:  # not renamed into place: sync, a cancelled task must not be interrupted again
                _tempfiles.unlink(part)
    except OSError as error:
        raise _destination_error(error, directory, url, expiry, job_id) from error
    sha256 = incoming.sha256.hexdigest() if incoming.sha256 is not None else None
    port = f":{target.port}" if target.port else ""  # safe_url's form, from the parse made already (it costs)
    return DownloadedFile(
        path=str(final),
        size=incoming.received,
        url=f"{target.scheme}://{target.host}{port}{target.path}",
        job_id=job_id,
        sha256=sha256,
        content_type=incoming.content_type,
        etag_verified=bool(verified),
    )


async def land(
    links: Links, result: JobResult | str, directory: Path | str, *, parts: bool = False, **landing: Unpack[Landing]
) -> list[DownloadedFile]:
    """Lands a result's one file, or with ``parts`` each of its files under distinct names, as ``download`` does."""
    if not parts:
        url, valid_till, job_id = result_link(result)
        return [await download(links, url, directory, job_id=job_id, valid_till=valid_till, **landing)]
    landing.pop("filename", None)
    if landing.get("taken") is None:
        landing["taken"] = set()
    urls, valid_till, job_id = await result_links(links, result)
    return [await download(links, url, directory, job_id=job_id, valid_till=valid_till, **landing) for url in urls]


@contextlib.asynccontextmanager
async def stage(
    links: Links, result: JobResult | str, *, parts: bool = False, **landing: Unpack[Landing]
) -> AsyncIterator[list[DownloadedFile]]:
    """Lands a result as ``land`` does in a private temporary directory that lasts as long as the block."""
    await anyio.to_thread.run_sync(_tempfiles.sweep_private_dirs)
    private = await anyio.to_thread.run_sync(_tempfiles.new_private_dir)
    try:
        with _tempfiles.track(private, is_dir=True):
            yield await land(links, result, private, parts=parts, **landing)
    finally:
        _tempfiles.unlink(private, is_dir=True)


async def fetch(
    links: Links, url: str, *, max_bytes: int, valid_till: datetime | None = None
) -> tuple[bytes, str | None]:
    """The whole content of a link (up to ``max_bytes``) and the Content-Type its host declared."""
    incoming = _transfer.Incoming(url := _parsed_url(url)[0], limit=max_bytes)
    _transfer.check_fresh(url, valid_till, links.clock)
    await _transfer.get(links, incoming, valid_till)
    return bytes(incoming.data), incoming.content_type


async def result_links(links: Links, result: JobResult | str) -> tuple[list[str], datetime | None, str | None]:
    """The links of every file of a result: its ``urls``, else the JSON list of links an async split answers as its one
    ``.json`` link (else an ordinary JSON result: a file of its own), else its one link."""
    if isinstance(result, JobResult) and result.urls and result.status is JobStatus.SUCCESS:
        return [_parsed_url(link)[0] for link in result.urls], result.output_link_valid_till, result.job_id
    url, valid_till, job_id = result_link(result)
    if _parsed_url(url)[1].path.lower().endswith(".json"):
        with contextlib.suppress(ResultTooLargeError, UnexpectedResponseError, InvalidParametersError):
            content, _ = await fetch(links, url, max_bytes=LINK_LIST_MAX_BYTES, valid_till=valid_till)
            if isinstance(found := decode_json(content, url), list) and found:
                return [_parsed_url(link)[0] for link in found], valid_till, job_id
    return [url], valid_till, job_id


def decode_text(content: bytes, content_type: str | None, encoding: str | None = None) -> str:
    """Text from bytes: ``encoding``, else the declared charset, else UTF-8; a BOM dropped, bad bytes as U+FFFD."""
    charset = encoding or httpx.Response(200, headers={"content-type": content_type or ""}).charset_encoding
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    return content.decode("utf-8-sig" if codec == "utf-8" else codec, errors="replace")  # PDF.co's text may have a BOM


def decode_json(content: bytes, url: str) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnexpectedResponseError(f"the result is not JSON ({error})", endpoint=safe_url(url)) from error


class Api(Protocol):
    """What ``upload`` needs of ``PdfcoClient``: the API call for the presigned URL."""

    async def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


def content_type_for(name: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(name.lower()).suffix, "application/octet-stream")


def check_local_file(path: object) -> tuple[Path, int]:
    """The file's path and size, once it is known to be a regular file of at most ``MAX_UPLOAD_BYTES``."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParametersError("upload", [f"path: expected a local file path, got {type(path).__name__}"])
    try:
        info = (local := Path(os.fspath(path)).expanduser()).stat()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise LocalFileNotFoundError(str(path)) from error
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileNotFoundError(str(path), "is not a regular file")
    if info.st_size > MAX_UPLOAD_BYTES:
        text = f"{info.st_size:,} bytes is over PDF.co's upload limit of {MAX_UPLOAD_BYTES:,} bytes; nothing was sent"
        raise FileTooLargeError(str(path), text, size=info.st_size, limit=MAX_UPLOAD_BYTES)
    return local, info.st_size


async def upload(
    links: Links, api: Api, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False
) -> str:
    """Uploads a local file into PDF.co's temporary storage (presigned URL, then a keyless PUT); returns its URL."""
    if name is not None and not isinstance(name, str):
        raise InvalidParametersError("upload", [f"name: expected a file name (str) or None, got {type(name).__name__}"])
    local, size = check_local_file(path)
    upload_name = sanitize_filename(name or local.name)
    kind = content_type_for(upload_name)
    body = await api.request("GET", PRESIGNED_URL_ENDPOINT, params={"name": upload_name, "contenttype": kind})
    presigned, url = body.get("presignedUrl"), body.get("url")
    if not isinstance(presigned, str) or not isinstance(url, str):
        answer = {key: value for key, value in body.items() if key not in ("presignedUrl", "url")}
        text = "the answer has no presignedUrl and url"
        raise UnexpectedResponseError(text, endpoint=PRESIGNED_URL_ENDPOINT, body=answer)
    await _transfer.put(links, presigned, local, size, kind, verify_etag=verify_etag)
    logger.info("Uploaded %s (%d bytes, %s) to %s", upload_name, size, kind, safe_url(url))
    return url
