"""Result files onto disk (safe names, atomic landing, parts, staging) or into memory, and local files up to PDF.co's
temporary storage. See docs/design/links.md.
"""

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
#: The Content-Type PDF.co's upload docs pair with each extension: the presigned URL signs it, so the PUT must send
#: exactly the type that was requested.
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
    """A single harmless file name: no separators, control or format characters (the right-to-left override), leading
    dots or Windows device names; at most ``MAX_FILENAME_BYTES`` keeping the extension; else ``download``."""
    text = "".join(c for c in unicodedata.normalize("NFC", name or "") if unicodedata.category(c) not in ("Cc", "Cf"))
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip().rstrip(". ")
    text = "_" + text if _RESERVED.match(text) else text
    if len(text.encode()) > MAX_FILENAME_BYTES:
        stem, dot, suffix = text.rpartition(".")
        stem, tail = (stem, f".{suffix}") if dot and stem and len(suffix) <= 16 else (text, "")
        text = stem.encode()[: MAX_FILENAME_BYTES - len(tail.encode())].decode(errors="ignore").rstrip(" .") + tail
    return "download" if not text or set(text) <= {"_", "."} else text


def filename_from_url(url: str) -> str:
    """The sanitised last path segment of ``url``, split off before decoding (so ``%2F`` cannot add a directory)."""
    with contextlib.suppress(ValueError):
        return sanitize_filename(unquote(urlsplit(url.strip()).path.rsplit("/", 1)[-1]))
    return sanitize_filename(None)


def unique_name(name: str, taken: set[str], index: int | None = None) -> str:
    """``name``, or when the batch took it already (case-insensitively: one file on macOS and Windows)
    ``name-<index>``, else ``name-2``, ``-3``... before the extension. The name chosen is added to ``taken``."""
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    base = stem if index is None else f"{stem}-{index}"
    counted = (f"{base}-{number}{suffix}" for number in itertools.count(2))
    chosen = next(n for n in itertools.chain([name, f"{base}{suffix}"], counted) if n.lower() not in taken)
    taken.add(chosen.lower())
    return chosen


def path_inside(directory: Path, name: str) -> Path:
    """``directory / name`` after a lexical check that it is directly inside (``os.replace`` follows no link)."""
    base = Path(os.path.abspath(directory))
    if (target := Path(os.path.abspath(base / name))).parent != base or name in ("", ".", ".."):
        raise InvalidParametersError("download", [f"filename: refusing to write {name!r} outside {base}"])
    return target


def _checked_url(url: object) -> str:
    return _parsed_url(url)[0]


def _parsed_url(url: object) -> tuple[str, httpx.URL]:
    with contextlib.suppress(httpx.InvalidURL):  # an octal-looking host, a bad port...
        if (text := str(url).strip()).lower().startswith(("https://", "http://")) and (parsed := httpx.URL(text)).host:
            return text, parsed
    raise InvalidParametersError("download", [f"url: expected an http(s) link, got {safe_url(str(url))!r}"])


def result_link(result: JobResult | str) -> tuple[str, datetime | None, str | None]:
    """The one link of a result (or a link as given), its ``output_link_valid_till`` and its job id.

    Raises:
        ResultNotReadyError: The job did not succeed, or has several files (download its parts); before any request.
    """
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
    """Lands one result file in a local directory (created if missing): a temporary file there, renamed once complete.

    Args:
        links: The keyless client, retry policy and clock.
        url: The result link.
        directory: Where it lands. A file of its name is replaced, unless this call or batch landed it.
        job_id: The job, for the result and messages.
        valid_till: PDF.co's ``outputLinkValidTill``.
        **landing: ``filename``, ``index``, ``taken``, ``fingerprint``, ``verify_etag``, ``durable`` (``Landing``).

    Returns:
        Where the file landed, its size, and the digests asked for.

    Raises:
        InvalidParametersError: Not an http(s) link.
        ResultExpiredError: The link expired (refused without a request when that was known beforehand).
        ResultNotReadyError: The host answered 404 (the job is not done, or the file is gone).
        ChecksumMismatchError: ``verify_etag`` and the MD5 differs; nothing is kept.
        DestinationError: The directory cannot take the file; the link still works.
        FileTransferError, PdfcoConnectionError, ServerError, RateLimitError: Refused, or failing past the retries.
    """
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
    """Lands a result's one file (see ``result_link``) as ``download`` does; with ``parts``, each of its files (see
    ``result_links``) one after the other under distinct names (``filename`` is for one file only)."""
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
    """Lands a result as ``land`` does in a private temporary directory for the time of the block, e.g. to hand the
    files to a storage block (under ``Path(file.path).name``). The directory goes on exit, error and SIGTERM; a
    SIGKILL's is swept by the next stage."""
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
    """The whole content of a link and the Content-Type its host declared; ``ResultTooLargeError`` beyond
    ``max_bytes`` (by Content-Length before reading, else while reading). Other errors as for ``download``."""
    incoming = _transfer.Incoming(url := _checked_url(url), limit=max_bytes)
    _transfer.check_fresh(url, valid_till, links.clock)
    await _transfer.get(links, incoming, valid_till)
    return bytes(incoming.data), incoming.content_type


async def result_links(links: Links, result: JobResult | str) -> tuple[list[str], datetime | None, str | None]:
    """The links of every file of a result (its ``urls``, else the links in the JSON list an async split answers as
    its one ``.json`` link, else its one link), their ``output_link_valid_till`` and the job id."""
    if isinstance(result, JobResult) and result.urls and result.status is JobStatus.SUCCESS:
        return [_checked_url(link) for link in result.urls], result.output_link_valid_till, result.job_id
    url, valid_till, job_id = result_link(result)
    if httpx.URL(_checked_url(url)).path.lower().endswith(".json"):
        # Else an ordinary JSON result (too large to be a list of links, or not one): a file of its own.
        with contextlib.suppress(ResultTooLargeError, UnexpectedResponseError, InvalidParametersError):
            content, _ = await fetch(links, url, max_bytes=LINK_LIST_MAX_BYTES, valid_till=valid_till)
            if isinstance(found := decode_json(content, url), list) and found:
                return [_checked_url(link) for link in found], valid_till, job_id
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
    """JSON from a result's bytes; ``UnexpectedResponseError`` when it is not JSON."""
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnexpectedResponseError(f"the result is not JSON ({error})", endpoint=safe_url(url)) from error


class Api(Protocol):
    """What ``upload`` needs of ``PdfcoClient``: the API call for the presigned URL."""

    async def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


def content_type_for(name: str) -> str:
    """The Content-Type to request and send for a file called ``name``."""
    return CONTENT_TYPES.get(PurePosixPath(name.lower()).suffix, "application/octet-stream")


def check_local_file(path: object, *, limit: int = MAX_UPLOAD_BYTES) -> tuple[Path, int]:
    """The file's path and size; ``LocalFileNotFoundError`` unless a regular file, ``FileTooLargeError`` over
    ``limit``, ``InvalidParametersError`` for a ``path`` that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParametersError("upload", [f"path: expected a local file path, got {type(path).__name__}"])
    try:
        info = (local := Path(os.fspath(path)).expanduser()).stat()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise LocalFileNotFoundError(str(path)) from error
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileNotFoundError(str(path), "is not a regular file")
    if info.st_size > limit:
        text = f"{info.st_size:,} bytes is over PDF.co's upload limit of {limit:,} bytes; nothing was sent"
        raise FileTooLargeError(str(path), text, size=info.st_size, limit=limit)
    return local, info.st_size


async def upload(
    links: Links, api: Api, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False
) -> str:
    """Uploads a local file (at most 2 GB) into PDF.co's temporary storage: the presigned URL from the API (the one call
    with the key), then a streamed PUT through the keyless link client.

    Args:
        links: The keyless client, retry policy and clock for the PUT.
        api: The API client (``PdfcoClient``).
        path: The local file.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.
        verify_etag: Compare the MD5 of what was sent with the ETag the host answers (~1.4 s of one core per GiB).

    Returns:
        The file's URL on PDF.co's storage (deleted by PDF.co after an hour).

    Raises:
        InvalidParametersError, LocalFileNotFoundError, FileTooLargeError: Before any request.
        UnexpectedResponseError: PDF.co's answer has no presigned URL.
        ChecksumMismatchError: ``verify_etag`` and the host stored other bytes than were sent.
        FileTransferError, PdfcoConnectionError, ServerError, RateLimitError: The host refused, or kept failing.
    """
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
