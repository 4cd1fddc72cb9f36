"""The steps behind the download tasks: their arguments, which links a result has, and landing one link.

Arguments are checked before anything else happens: a wrong type raises ``InvalidParametersError`` naming the
argument, never an ``AttributeError`` from deep inside. Every link is checked against the ``LinkPolicy`` before
it is fetched (see ``_netguard``), and a failure of the destination itself becomes ``DestinationError``, which
says that the result's link still works.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import httpx
from pydantic import BaseModel, ConfigDict

from prefect_pdfco._netguard import DEFAULT_LINK_POLICY, LinkPolicy
from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.exceptions import (
    DestinationError,
    InvalidParametersError,
    ResultNotReadyError,
    ResultTooLargeError,
    UnexpectedResponseError,
)
from prefect_pdfco.files.names import dedupe_name, filename_from_url
from prefect_pdfco.files.storage import (
    DeliveryFailed,
    Destination,
    FileSink,
    MemorySink,
    Target,
    describe,
    resolve_destination,
    staging,
)
from prefect_pdfco.files.transfer import Transfer, link_expiry, transfer
from prefect_pdfco.models import JobResult, JobStatus
from prefect_pdfco.ui.logs import run_logger

__all__ = [
    "LINK_LIST_MAX_BYTES",
    "DownloadedFile",
    "Parts",
    "ResultRef",
    "check_download_args",
    "check_result_ref",
    "check_type",
    "decode_text",
    "fetch_bytes",
    "land",
    "land_parts",
    "link_policy",
    "parse_json",
    "part_links",
    "result_link",
]

#: A result to fetch: a ``JobResult`` (its ``url``/``urls`` and ``output_link_valid_till``) or a URL.
ResultRef: TypeAlias = JobResult | str
# A list of part links is about 2 KB per part: ample for any split, and small enough to hold in memory.
LINK_LIST_MAX_BYTES = 16 * 1024 * 1024


class DownloadedFile(BaseModel):
    """A file that landed in full at its destination.

    Attributes:
        path: The absolute local path, or the path within the storage block (as the block reports it).
        size: Its size in bytes.
        sha256: The hex SHA-256 of its content, computed while it streamed.
        url: The link it came from, in safe form (scheme, host and path: never the signed query string).
        content_type: The Content-Type the file host declared, when it did.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    sha256: str
    url: str
    content_type: str | None = None


def check_type(value: object, name: str, kinds: tuple[type, ...], expected: str, *, caller: str) -> None:
    """Refuses a ``value`` that is none of ``kinds`` (a bool passes for an int only when ``bool`` is listed).

    Raises:
        InvalidParametersError: Naming ``caller``, the argument and what was ``expected``.
    """
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise InvalidParametersError(caller, [f"{name}: expected {expected}, got {type(value).__name__}"])


def check_result_ref(result: object, *, caller: str) -> ResultRef:
    """``result`` when it is a ``JobResult`` or a string (a result URL).

    Raises:
        InvalidParametersError: Anything else, naming ``caller`` and the ``result`` argument.
    """
    if isinstance(result, (JobResult, str)):
        return result
    raise InvalidParametersError(
        caller, [f"result: expected a JobResult (from wait_for_job) or a result URL, got {type(result).__name__}"]
    )


def link_policy(credentials: object, *, caller: str) -> LinkPolicy:
    """Where result links may lead: the block's ``allowed_result_hosts``, else the default (see ``_netguard``).

    Raises:
        InvalidParametersError: ``credentials`` is neither None nor a ``PdfcoCredentials`` block.
    """
    if credentials is None:
        return DEFAULT_LINK_POLICY
    return LinkPolicy.from_entries(require_credentials(credentials, caller=caller).allowed_result_hosts)


_NO_DESTINATION = object()


def check_download_args(
    caller: str,
    result: object,
    *,
    retry_policy: object,
    credentials: object,
    destination: object = _NO_DESTINATION,
    filename: object = None,
    max_bytes: object = 1,
    encoding: object = None,
) -> tuple[ResultRef, LinkPolicy]:
    """Checks the arguments of a download function before any request and any file.

    Returns:
        The result reference and the link policy.
    """
    ref = check_result_ref(result, caller=caller)
    if destination is not _NO_DESTINATION:
        resolve_destination(destination, caller=caller)
    check_type(filename, "filename", (str, type(None)), "a file name (str) or None", caller=caller)
    check_type(encoding, "encoding", (str, type(None)), "an encoding name (str) or None", caller=caller)
    check_type(max_bytes, "max_bytes", (int,), "a number of bytes (int)", caller=caller)
    if max_bytes <= 0:  # type: ignore[operator]
        raise InvalidParametersError(caller, [f"max_bytes: must be more than zero, got {max_bytes}"])
    check_type(retry_policy, "retry_policy", (RetryPolicy,), "a RetryPolicy", caller=caller)
    return ref, link_policy(credentials, caller=caller)


def _checked_url(url: str) -> str:
    url = url.strip()
    if not url.lower().startswith(("https://", "http://")):
        raise InvalidParametersError("result download", [f"result: expected an http(s) link, got {safe_url(url)!r}"])
    return url


def _require_success(result: JobResult) -> None:
    if result.status is not JobStatus.SUCCESS:
        raise ResultNotReadyError(
            f"job {escape_control(result.job_id)} is {result.status.value}: it has no result to fetch"
        )


def result_link(result: ResultRef) -> tuple[str, datetime | None]:
    """The single URL of a result and its ``output_link_valid_till``. Makes no request.

    Raises:
        ResultNotReadyError: A ``JobResult`` that is not ``success``, or has no ``url``.
        InvalidParametersError: Not an http(s) URL (also a ``ValueError``).
    """
    if isinstance(result, str):
        return _checked_url(result), None
    _require_success(result)
    if not result.url:
        hint = " (it has several: use download_result_files)" if result.urls else ""
        raise ResultNotReadyError(f"job {escape_control(result.job_id)} reported no result url{hint}")
    return _checked_url(result.url), result.output_link_valid_till


_REASONS = {
    "ENOSPC": "the disk is full",
    "EDQUOT": "the disk quota is exhausted",
    "EACCES": "permission denied",
    "EPERM": "permission denied",
    "EROFS": "the file system is read-only",
    "EEXIST": "a file has the directory's name",
    "ENOTDIR": "a file stands where a directory should be",
    "EISDIR": "a directory has the result's name",
    "ENOENT": "the temporary file was removed while it was written (was the process told to end?)",
}


def destination_error(
    error: BaseException, target: Target, url: str, *, valid_till: datetime | None, job_id: str | None
) -> DestinationError:
    """The error for a result that arrived (or was arriving) but could not be written at ``target``."""
    code = error.errno if isinstance(error, OSError) else None
    detail = str(error)
    if isinstance(error, OSError) and code is not None:
        name = errno.errorcode.get(code, str(code))
        detail = f"{_REASONS.get(name, error.strerror)} ({name}: {error.strerror})"
    expiry = link_expiry(url, valid_till)
    until = f"until {expiry.strftime('%Y-%m-%dT%H:%M:%SZ')}" if expiry else "until it expires"
    job = f" of job {escape_control(job_id)}" if job_id else ""
    return DestinationError(
        f"could not write the result{job} to {describe(target)}: {escape_control(detail)}. The result is still "
        f"at {safe_url(url)} {until}: fix the destination and download it again (the job need not run again)",
        destination=describe(target),
        url=safe_url(url),
        job_id=job_id,
        valid_till=expiry,
        errno=code,
    )


async def land(
    http: httpx.AsyncClient,
    url: str,
    destination: Destination,
    name: str,
    *,
    valid_till: datetime | None,
    retry_policy: RetryPolicy,
    content: bytes | None = None,
    content_type: str | None = None,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    job_id: str | None = None,
) -> DownloadedFile:
    """Streams ``url`` (or writes ``content`` already fetched from it) to ``destination`` under ``name``.

    ``name`` must be sanitised already. Nothing is left behind when this fails or is cancelled.

    Raises:
        DestinationError: The destination could not take the file; the link and ``job_id`` are in the error.
    """
    target = resolve_destination(destination)
    if content is None:
        policy.check_url(url, final=False)
    try:
        async with staging(target) as stage:
            if content is None:
                sink = FileSink(stage.handle)
                done = await transfer(http, url, sink, valid_till=valid_till, retry_policy=retry_policy)
            else:
                await stage.handle.write(content)
                digest = hashlib.sha256(content).hexdigest()
                done = Transfer(size=len(content), sha256=digest, content_type=content_type)
            where = await stage.deliver(name)
    except (OSError, DeliveryFailed) as error:
        cause = error.__cause__ if isinstance(error, DeliveryFailed) else error  # the block's own exception
        raise destination_error(error, target, url, valid_till=valid_till, job_id=job_id) from cause
    safe = safe_url(url)
    run_logger().info("Downloaded %s to %s (%d bytes, sha256 %s)", safe, escape_control(where), done.size, done.sha256)
    return DownloadedFile(path=where, size=done.size, sha256=done.sha256, url=safe, content_type=done.content_type)


async def fetch_bytes(
    http: httpx.AsyncClient,
    url: str,
    *,
    valid_till: datetime | None,
    retry_policy: RetryPolicy,
    max_bytes: int,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
) -> tuple[bytes, Transfer]:
    """The whole content of a link, refused beyond ``max_bytes`` (see ``ResultTooLargeError``)."""
    policy.check_url(url, final=False)
    sink = MemorySink(max_bytes, url)
    done = await transfer(http, url, sink, valid_till=valid_till, retry_policy=retry_policy)
    return bytes(sink.data), done


def decode_text(content: bytes, content_type: str | None, encoding: str | None = None) -> str:
    """Text from bytes: the given encoding, else the declared charset, else UTF-8 (a BOM is dropped)."""
    charset = encoding
    if charset is None and content_type:
        charset = httpx.Response(200, headers={"content-type": content_type}).charset_encoding
    try:
        codec = codecs.lookup(charset or "utf-8-sig").name
    except LookupError:
        codec = "utf-8-sig"
    if codec == "utf-8":
        codec = "utf-8-sig"  # PDF.co's text outputs may start with a BOM; it is not part of the text
    return content.decode(codec, errors="replace")


def _link_list(content: bytes) -> list[str] | None:
    """The part links of async split's JSON list, or None when the JSON is anything else."""
    try:
        value = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, str) and item.strip().lower().startswith(("https://", "http://")) for item in value)
    ):
        return [item.strip() for item in value]
    return None


@dataclass(frozen=True)
class Parts:
    """The links of a result's files; ``content`` holds the single file when probing fetched it already."""

    links: list[str]
    valid_till: datetime | None
    content: bytes | None = None
    content_type: str | None = None


async def part_links(
    http: httpx.AsyncClient, result: ResultRef, *, retry_policy: RetryPolicy, policy: LinkPolicy = DEFAULT_LINK_POLICY
) -> Parts:
    """Every file of a result: ``urls`` when the result lists them, the links inside an async split's JSON
    list, else the result's one link.

    A ``.json`` link is fetched (up to 16 MB) to see whether it is a list of links; when it is not, its
    content is kept so that it is not fetched twice.
    """
    if isinstance(result, JobResult) and result.urls:
        _require_success(result)
        return Parts([_checked_url(link) for link in result.urls], result.output_link_valid_till)
    url, valid_till = result_link(result)
    if not httpx.URL(url).path.lower().endswith(".json"):
        return Parts([url], valid_till)
    try:
        content, done = await fetch_bytes(
            http, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=LINK_LIST_MAX_BYTES, policy=policy
        )
    except ResultTooLargeError:
        return Parts([url], valid_till)  # too big to be a list of links: an ordinary (large) JSON result
    links = _link_list(content)
    if links is None:
        return Parts([url], valid_till, content=content, content_type=done.content_type)
    return Parts(links, valid_till)


async def land_parts(
    http: httpx.AsyncClient,
    parts: Parts,
    destination: Destination,
    *,
    retry_policy: RetryPolicy,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    job_id: str | None = None,
) -> list[DownloadedFile]:
    """Lands every part, one after the other, under distinct sanitised names."""
    taken: set[str] = set()
    landed: list[DownloadedFile] = []
    for link in parts.links:
        name = dedupe_name(filename_from_url(link), taken)
        landed.append(
            await land(
                http,
                link,
                destination,
                name,
                valid_till=parts.valid_till,
                retry_policy=retry_policy,
                content=parts.content,
                content_type=parts.content_type,
                policy=policy,
                job_id=job_id,
            )
        )
    return landed


def parse_json(content: bytes, url: str) -> Any:
    """JSON from a result's bytes.

    Raises:
        UnexpectedResponseError: The content is not JSON.
    """
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnexpectedResponseError(f"the result is not JSON ({error})", endpoint=safe_url(url)) from error
