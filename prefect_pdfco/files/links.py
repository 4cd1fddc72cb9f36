"""The steps behind the download tasks: their arguments, which links a result has, and fetching one into memory.

Arguments are checked before anything else happens: a wrong type raises ``InvalidParametersError`` naming the
argument, never an ``AttributeError`` from deep inside. Every link is checked against the ``LinkPolicy`` before
it is fetched (see ``_netguard``). Landing a link in a destination is ``landing``'s.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypedDict

import httpx
from pydantic import BaseModel, ConfigDict

from prefect_pdfco._netguard import DEFAULT_LINK_POLICY, LinkPolicy
from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.exceptions import (
    InvalidParametersError,
    ResultNotReadyError,
    ResultTooLargeError,
    UnexpectedResponseError,
)
from prefect_pdfco.files.storage import (
    MemorySink,
    resolve_destination,
)
from prefect_pdfco.files.transfer import Transfer, transfer
from prefect_pdfco.models import JobResult, JobStatus

__all__ = [
    "LINK_LIST_MAX_BYTES",
    "NO_CHECKS",
    "Checks",
    "DownloadedFile",
    "Parts",
    "ResultRef",
    "check_download_args",
    "check_result_ref",
    "check_type",
    "decode_text",
    "fetch_bytes",
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
        sha256: The hex SHA-256 of its content, computed while it streamed: None unless ``fingerprint=True``.
        url: The link it came from, in safe form (scheme, host and path: never the signed query string).
        content_type: The Content-Type the file host declared, when it did.
        etag_verified: True when ``verify_etag=True`` found the content's MD5 equal to the one S3's ETag states.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    sha256: str | None = None
    url: str
    content_type: str | None = None
    etag_verified: bool = False


@dataclass(frozen=True)
class Checks:
    """What a download computes and guarantees beyond an atomic landing: digests (see ``transfer.Digests``, none
    by default) and ``durable`` (fsynced before the rename into a directory; off by default)."""

    fingerprint: bool = False
    verify_etag: bool = False
    durable: bool = False

    def digests(self) -> DigestOptions:
        """The digest options, as ``transfer`` takes them."""
        return {"fingerprint": self.fingerprint, "verify_etag": self.verify_etag}


class DigestOptions(TypedDict):
    """``transfer``'s digest options (see ``Checks.digests``)."""

    fingerprint: bool
    verify_etag: bool


NO_CHECKS = Checks()


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
    fingerprint: object = False,
    verify_etag: object = False,
    durable: object = False,
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
    check_type(fingerprint, "fingerprint", (bool,), "True or False", caller=caller)
    check_type(verify_etag, "verify_etag", (bool,), "True or False", caller=caller)
    check_type(durable, "durable", (bool,), "True or False", caller=caller)
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


async def fetch_bytes(
    http: httpx.AsyncClient,
    url: str,
    *,
    valid_till: datetime | None,
    retry_policy: RetryPolicy,
    max_bytes: int,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    checks: Checks = NO_CHECKS,
) -> tuple[bytes, Transfer]:
    """The whole content of a link, refused beyond ``max_bytes`` (see ``ResultTooLargeError``)."""
    policy.check_url(url, final=False)
    sink = MemorySink(max_bytes, url)
    done = await transfer(http, url, sink, valid_till=valid_till, retry_policy=retry_policy, **checks.digests())
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
    """The links of a result's files; ``content`` holds the single file when probing fetched it already
    (``verified``: its MD5 matched the ETag)."""

    links: list[str]
    valid_till: datetime | None
    content: bytes | None = None
    content_type: str | None = None
    verified: bool = False


async def part_links(
    http: httpx.AsyncClient,
    result: ResultRef,
    *,
    retry_policy: RetryPolicy,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    checks: Checks = NO_CHECKS,
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
            http,
            url,
            valid_till=valid_till,
            retry_policy=retry_policy,
            max_bytes=LINK_LIST_MAX_BYTES,
            policy=policy,
            checks=Checks(verify_etag=checks.verify_etag),  # the SHA-256, if wanted, is taken when it lands
        )
    except ResultTooLargeError:
        return Parts([url], valid_till)  # too big to be a list of links: an ordinary (large) JSON result
    links = _link_list(content)
    if links is None:
        return Parts([url], valid_till, content=content, content_type=done.content_type, verified=done.etag_verified)
    return Parts(links, valid_till)


def parse_json(content: bytes, url: str) -> Any:
    """JSON from a result's bytes.

    Raises:
        UnexpectedResponseError: The content is not JSON.
    """
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnexpectedResponseError(f"the result is not JSON ({error})", endpoint=safe_url(url)) from error
