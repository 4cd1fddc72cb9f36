"""Result links onto disk or into memory: streamed GETs with retries and Range resume, expiry, safe names and atomic
landing. See docs/design/links.md.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import errno
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypedDict, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import anyio.to_thread
import httpx
from typing_extensions import Unpack

from prefect_pdfco import _tempfiles
from prefect_pdfco._exceptions import (
    ChecksumMismatchError,
    DestinationError,
    FileTransferError,
    InvalidParametersError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    UnexpectedResponseError,
    escape_control,
)
from prefect_pdfco._linkguard import MAX_REDIRECTS, scrub_urls
from prefect_pdfco._util import SYSTEM_CLOCK, Clock, safe_url
from prefect_pdfco.models import DownloadedFile, JobResult, JobStatus, RetryPolicy

T = TypeVar("T")
Feed = Callable[[Sequence[bytes]], None] | None
#: Bytes gathered before each write: one worker-thread hop per MiB, about two MiB held whatever the file's size.
CHUNK_SIZE = 1024 * 1024
LINK_LIST_MAX_BYTES = 16 * 1024 * 1024  # a split's JSON list of part links holds about 2 KB per part
MAX_FILENAME_BYTES = 200  # most file systems cap a name at 255 bytes: room is left for a suffix
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_MD5_ETAG = re.compile(r'^(?:W/)?"?([0-9a-f]{32})"?$', re.IGNORECASE)  # a multipart upload's ETag ends in "-<n>"
_UNSAFE = re.compile(r'[/\\<>:"|?*]')  # separators of every platform, and what Windows refuses in a name
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_REASONS = {"EEXIST": "a file has the directory's name", "EISDIR": "a directory has the result's name"}
EXPIRED_HINT = (
    "PDF.co deletes results when their link expires: run the job again and download within the link's lifetime "
    "(PDF.co's `expiration` parameter sets it in minutes)."
)
logger = logging.getLogger("prefect_pdfco")


class Checks(TypedDict, total=False):
    """What a download computes and guarantees beyond an atomic landing; each is off by default."""

    fingerprint: bool  #: the SHA-256, while streaming (about 0.85 s of one core per GiB)
    verify_etag: bool  #: the MD5 against S3's ETag when it states one (about 1.4 s of one core per GiB)
    durable: bool  #: fsync before the rename, so even a power cut leaves no partial file (the disk's write time)


# --- expiry and names ----------------------------------------------------------------------------------------------


def signed_expiry(url: str) -> datetime | None:
    """When a presigned link stops working by its own query (``X-Amz-Date`` + ``X-Amz-Expires``, SigV2 ``Expires``)."""
    with contextlib.suppress(ValueError, OverflowError, OSError):
        query = {key.lower(): value for key, value in parse_qsl(urlsplit(url).query)}
        if "x-amz-date" in query and "x-amz-expires" in query:
            signed = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            return signed + timedelta(seconds=int(query["x-amz-expires"]))
        if "expires" in query:
            return datetime.fromtimestamp(int(query["expires"]), timezone.utc)
    return None


def link_expiry(url: str, valid_till: datetime | None) -> datetime | None:
    """When a result link stops working (UTC): the earlier of ``valid_till`` and the link's signed expiry."""
    known = [moment.astimezone(timezone.utc) for moment in (valid_till, signed_expiry(url)) if moment is not None]
    return min(known) if known else None


def _ago(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def describe_expiry(expiry: datetime | None, now: datetime) -> str:
    """When the link expired (UTC), and how long ago only when this machine's clock agrees that it has."""
    if expiry is None:
        return "the result link has expired"
    text = f"the result link expired at {expiry.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
    if (seconds := (now - expiry).total_seconds()) < 0:  # the host says expired, our clock not yet: a clock is off
        return (
            f"{text}, by the file host's clock (this machine's clock reads {now:%Y-%m-%dT%H:%M:%SZ}, {_ago(-seconds)} "
            "earlier: check that it is synchronised)"
        )
    return f"{text} ({_ago(seconds)} ago)" if seconds >= 1 else f"{text} (just now)"


def _fresh(url: str, valid_till: datetime | None, clock: Clock) -> datetime | None:
    """The link's expiry, after refusing the link without a request when it has passed by ``clock``."""
    now = datetime.fromtimestamp(clock.time(), timezone.utc)
    if (expiry := link_expiry(url, valid_till)) is not None and now >= expiry:
        text = f"{describe_expiry(expiry, now)}; no request was made. {EXPIRED_HINT}"
        raise ResultExpiredError(text, url=safe_url(url), valid_till=expiry)
    return expiry


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
    with contextlib.suppress(httpx.InvalidURL):  # an octal-looking host, a bad port...
        if str(url).strip().lower().startswith(("https://", "http://")) and httpx.URL(str(url).strip()).host:
            return str(url).strip()
    raise InvalidParametersError("download", [f"url: expected an http(s) link, got {safe_url(str(url))!r}"])


# --- what the file host says ----------------------------------------------------------------------------------------


def _xml_field(body: str, name: str) -> str:
    # S3 error bodies are flat <Error><Code>..</Code>...: a regex reads them without parsing what a host sent.
    match = re.search(rf"<{name}>([^<]{{0,300}})</{name}>", body)
    return match.group(1).strip() if match else ""


def host_error(
    status: int, body: str, url: str, *, valid_till: datetime | None = None, clock: Clock = SYSTEM_CLOCK
) -> PdfcoError:
    """The error for a file host's answer that is not a success, from its status and S3 XML body."""
    safe, code, message = safe_url(url), _xml_field(body, "Code"), _xml_field(body, "Message")
    said = f"{code}: {message}" if code else (message or f"HTTP {status}")
    if status == 403 and code == "AccessDenied" and "expired" in message.lower():
        expiry = signed_expiry(url) or valid_till
        with contextlib.suppress(ValueError):
            expiry = expiry or datetime.fromisoformat(_xml_field(body, "Expires").replace("Z", "+00:00"))
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        text = f"{describe_expiry(expiry, now)} (the file host said {said!r}). {EXPIRED_HINT}"
        return ResultExpiredError(text, url=safe, status_code=status, valid_till=expiry)
    if status == 404:
        text = f"no file at this link ({said}): the job has not finished yet, or the file was deleted"
        return ResultNotReadyError(text, url=safe, status_code=status)
    if status == 429:
        return RateLimitError(said, status_code=status, endpoint=safe)
    if status >= 500:
        return ServerError(f"the file host failed ({said})", status_code=status, endpoint=safe)
    why = "; was the URL altered or cut short?" if status == 403 else ""
    return FileTransferError(f"the file host refused the link ({said}){why}", url=safe, status_code=status)


def link_error(error: httpx.HTTPError | httpx.InvalidURL, url: str) -> PdfcoError:
    """The error for a request to a file host that got no HTTP answer; names the host and path only."""
    safe, detail = safe_url(url), f"{type(error).__name__}: {scrub_urls(str(error))}"
    if isinstance(error, httpx.TooManyRedirects):
        return FileTransferError(f"the link redirected more than {MAX_REDIRECTS} times (S3 redirects once)", url=safe)
    if isinstance(error, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FileTransferError(f"not a link that can be fetched ({detail})", url=safe)
    sent = not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    host = f"{escape_control(urlsplit(safe).hostname or 'the file host')} (result storage)"
    why = f"no complete answer came from {host}" if sent else f"could not connect to {host}; nothing was sent"
    return PdfcoConnectionError(f"{why} ({detail})", endpoint=safe, may_have_reached_server=sent)


def check_md5(md5: Any, etag: str | None, url: str, *, action: str = "downloaded") -> bool:
    """Whether ``md5`` (hashlib's, or None) was compared with the MD5 an S3 ETag states; raises when they differ."""
    match = _MD5_ETAG.match((etag or "").strip())
    if md5 is None or match is None:
        return False
    if (actual := md5.hexdigest()) != (expected := match.group(1).lower()):
        raise ChecksumMismatchError(
            f"the {action} bytes have MD5 {actual}, but the file host's ETag states {expected}: damaged on the way or "
            "changed on the host; nothing was kept, run it again",
            url=safe_url(url),
        )
    return True


async def retrying(
    attempt: Callable[[], Awaitable[T]], *, retry: RetryPolicy, clock: Clock, what: str, at: Callable[[], int]
) -> T:
    """``attempt()`` until it returns, retrying connection errors and 5xx (``retry.max_attempts`` in all) and 429s
    (on their own budget of seconds). Only for idempotent transfers: a GET or a presigned PUT may repeat."""
    failures = limited = 0
    waited = 0.0
    while True:
        try:
            return await attempt()
        except (PdfcoConnectionError, ServerError, RateLimitError) as error:
            if isinstance(error, RateLimitError):
                limited += 1
                if (delay := min(retry.rate_limit_budget_seconds - waited, retry.delay(limited))) <= 0:
                    raise
                waited += delay
            elif (failures := failures + 1) >= retry.max_attempts:
                raise
            else:
                delay = retry.delay(failures)
            then = f"resuming at byte {at()}" if at() else "retrying"
            logger.warning("%s: attempt %d failed (%s); %s in %.1f s", what, failures + limited, error, then, delay)
        await clock.sleep(delay)


# --- one streamed GET -----------------------------------------------------------------------------------------------


def _write(file: BinaryIO, chunks: Sequence[bytes], feed: Feed) -> None:
    if feed is not None:
        feed(chunks)  # in the worker thread, beside the network reads
    file.writelines(chunks)


class _Sink:
    """Where a transfer's bytes go: a file, each batch written in a worker thread while the loop gathers the next (one
    hop per MiB, one in flight); without a file, memory up to ``limit`` bytes."""

    def __init__(self, file: BinaryIO | None = None, *, limit: int | None = None, url: str = "") -> None:
        self.file, self.limit, self.url, self.data = file, limit, url, bytearray()
        self._pending: asyncio.Future[None] | None = None

    def expect(self, size: int) -> None:
        if self.limit is not None and size > self.limit:
            raise ResultTooLargeError(
                f"the result is {size:,} bytes or more, over the limit of {self.limit:,} bytes for holding it in "
                "memory; download it to a file instead",
                url=safe_url(self.url),
                limit=self.limit,
            )

    async def write(self, chunks: Sequence[bytes], feed: Feed) -> None:
        if self.file is None:
            self.expect(len(self.data) + sum(map(len, chunks)))
            self.data += b"".join(chunks)
            return feed(chunks) if feed is not None else None
        await self.flush()
        # anyio's thread call is not abandoned when cancelled: whoever awaits it waits for the write to end.
        self._pending = asyncio.ensure_future(anyio.to_thread.run_sync(_write, self.file, chunks, feed))
        self._pending.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def reset(self) -> None:
        await self.flush()
        self.data.clear()
        if self.file is not None:
            self.file.seek(0)
            self.file.truncate()


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as stored, as it arrives (whole, when a test transport's answer was read already)."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


@dataclass
class _Progress:
    """Where one transfer stands: the bytes handed over, what the host declared, the digests asked for."""

    url: str
    sink: _Sink
    fingerprint: bool = False
    verify_etag: bool = False
    received: int = 0
    total: int | None = None
    etag: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256() if self.fingerprint else None
        self.md5 = hashlib.md5(usedforsecurity=False) if self.verify_etag else None  # S3's ETag is an MD5
        self.feed: Feed = self._update if self.fingerprint or self.verify_etag else None

    def _update(self, chunks: Sequence[bytes]) -> None:
        for chunk in chunks:
            if self.sha256 is not None:
                self.sha256.update(chunk)
            if self.md5 is not None:
                self.md5.update(chunk)

    async def start_over(self, why: str) -> PdfcoConnectionError:
        await self.sink.reset()  # waits for a write in flight, which may still be feeding the digests
        self.__post_init__()
        self.received, self.total, self.etag = 0, None, None
        return PdfcoConnectionError(f"{why}; starting over", endpoint=safe_url(self.url))

    async def accept(self, response: httpx.Response) -> None:
        """Checks that a 200/206 continues what we hold; starts over (raising: the retry asks again) when not."""
        etag = response.headers.get("etag")
        if response.status_code == 200:
            if self.received:  # the host ignored our Range header: take the whole file from byte 0
                await self.start_over("the host ignored the Range request")
            length = response.headers.get("content-length", "")
            self.total, self.etag = (int(length) if length.isdigit() else None), etag
            self.content_type = response.headers.get("content-type")
            if self.md5 is not None and not _MD5_ETAG.match(etag or ""):
                logger.warning("%s: the ETag %r states no MD5 (multipart?): not verified", safe_url(self.url), etag)
                self.md5 = None
        else:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not self.received or match is None or int(match.group(1)) != self.received:
                raise await self.start_over("the host answered a range that does not continue ours")
            if self.etag and etag and etag != self.etag:
                raise await self.start_over("the file changed on the host (new ETag)")
            self.total = int(match.group(3)) if match.group(3) != "*" else None
        if self.total is not None:
            self.sink.expect(self.total)

    async def copy(self, response: httpx.Response) -> None:
        """Hands the body over in batches of about ``CHUNK_SIZE``; ``received`` counts what was handed over (what
        arrived before a broken connection included, so the next attempt resumes right after it)."""
        batch: list[bytes] = []
        try:
            async for chunk in _raw(response):
                batch.append(chunk)
                if sum(map(len, batch)) >= CHUNK_SIZE:
                    await self._keep(batch)
                    batch = []
        except httpx.HTTPError:
            await self._keep(batch)  # the connection broke: keep what arrived, so the next attempt resumes after it
            raise
        await self._keep(batch)

    async def _keep(self, batch: list[bytes]) -> None:
        if batch:
            await self.sink.write(batch, self.feed)
            self.received += sum(map(len, batch))


async def _attempt(http: httpx.AsyncClient, progress: _Progress, valid_till: datetime | None, clock: Clock) -> None:
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored: Content-Length and Range count these
    if progress.received:
        headers["Range"] = f"bytes={progress.received}-"
    try:
        async with http.stream("GET", progress.url, headers=headers) as response:
            if response.status_code == 416 and progress.received:
                if response.headers.get("content-range", "").endswith(f"/{progress.received}"):
                    return  # every byte had arrived before the connection broke
                raise await progress.start_over("the host refused to resume (416)")
            if response.status_code not in (200, 206):
                body = b""
                async for chunk in _raw(response):
                    if len(body := body + chunk) >= 65536:  # an S3 error body is a few hundred bytes
                        break
                text = body[:65536].decode("utf-8", "replace")
                raise host_error(response.status_code, text, progress.url, valid_till=valid_till, clock=clock)
            await progress.accept(response)
            await progress.copy(response)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise link_error(error, progress.url) from error
    if progress.total is not None and progress.received != progress.total:
        text = f"received {progress.received} of {progress.total} bytes"
        raise PdfcoConnectionError(text, endpoint=safe_url(progress.url))


async def _transfer(
    http: httpx.AsyncClient, progress: _Progress, valid_till: datetime | None, retry: RetryPolicy, clock: Clock
) -> None:
    """Streams ``progress.url`` into its sink, resuming and retrying; everything is written when it returns."""
    with _tempfiles.transfer():
        attempt = functools.partial(_attempt, http, progress, valid_till, clock)
        what = f"Download of {safe_url(progress.url)}"
        await retrying(attempt, retry=retry, clock=clock, what=what, at=lambda: progress.received)
        await progress.sink.flush()


# --- landing -------------------------------------------------------------------------------------------------------


def _destination_error(error: OSError, where: Path, url: str, expiry: datetime | None, job: str | None) -> PdfcoError:
    name = errno.errorcode.get(error.errno or 0, "")
    detail = f"{_REASONS.get(name, error.strerror)} ({name}: {error.strerror})" if name else str(error)
    until = f"until {expiry:%Y-%m-%dT%H:%M:%SZ}" if expiry else "until it expires"
    return DestinationError(
        f"could not write the result{f' of job {escape_control(job)}' if job else ''} to "
        f"{escape_control(str(where))}: {escape_control(detail)}. The result is still at {safe_url(url)} {until}: fix "
        "the destination and download it again (the job need not run again)",
        destination=str(where),
        url=safe_url(url),
        job_id=job,
        valid_till=expiry,
        errno=error.errno,
    )


async def download(
    http: httpx.AsyncClient,
    url: str,
    directory: str | os.PathLike[str],
    *,
    filename: str | None = None,
    job_id: str | None = None,
    valid_till: datetime | None = None,
    index: int | None = None,
    taken: set[str] | None = None,
    retry: RetryPolicy,
    clock: Clock,
    **checks: Unpack[Checks],
) -> DownloadedFile:
    """Lands one result file in a local directory (created if missing): a temporary file there, renamed once complete.

    Args:
        http: A keyless client (``_linkguard.new_link_client``).
        url: The result link.
        directory: Where it lands. A file of its name is replaced, unless this call or batch landed it.
        filename: The name instead of the link's last path segment; sanitised either way.
        job_id: The job, for the result and messages. valid_till: PDF.co's ``outputLinkValidTill``.
        index: The item's index in its batch: a name the batch took already becomes ``name-<index>.ext``.
        taken: The names (lower case) this call or batch landed so far: shared by a batch, updated here.
        retry: Attempts and delays for connection errors, 429 and 5xx. clock: For their sleeps and for expiry.
        **checks: ``fingerprint``, ``verify_etag``, ``durable`` (see ``Checks``).

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
    url, directory = _checked_url(url), Path(directory)
    name = sanitize_filename(filename) if filename is not None else filename_from_url(url)
    final = path_inside(directory, unique_name(name, taken, index) if taken is not None else name)
    expiry = _fresh(url, valid_till, clock)
    progress = _Progress(url, _Sink(), checks.get("fingerprint", False), checks.get("verify_etag", False))
    try:
        file, part = await anyio.to_thread.run_sync(_tempfiles.open_part, directory)
        try:
            with _tempfiles.track(part), file:
                progress.sink.file = file
                await _transfer(http, progress, valid_till, retry, clock)
                verified = check_md5(progress.md5, progress.etag, url)
                durable = checks.get("durable", False)
                await anyio.to_thread.run_sync(_tempfiles.put_in_place, file, part, final, durable)
        finally:
            _tempfiles.unlink(part)  # sync: a cancelled task must not be interrupted again while it cleans up
    except OSError as error:
        raise _destination_error(error, directory, url, expiry, job_id) from error
    return DownloadedFile(
        path=str(final),
        size=progress.received,
        url=safe_url(url),
        job_id=job_id,
        sha256=progress.sha256.hexdigest() if progress.sha256 is not None else None,
        content_type=progress.content_type,
        etag_verified=verified,
    )


async def download_parts(
    http: httpx.AsyncClient,
    result: JobResult | str,
    directory: str | os.PathLike[str],
    *,
    index: int | None = None,
    taken: set[str] | None = None,
    retry: RetryPolicy,
    clock: Clock,
    **checks: Unpack[Checks],
) -> list[DownloadedFile]:
    """Lands every file of a result one after the other under distinct names (see ``result_links``), as ``download``
    lands one."""
    taken = set() if taken is None else taken
    job_id, valid_till = (
        (result.job_id, result.output_link_valid_till) if isinstance(result, JobResult) else (None, None)
    )
    landed = []
    for link in await result_links(http, result, retry=retry, clock=clock):
        file = await download(
            http, link, directory, job_id=job_id, valid_till=valid_till, index=index, taken=taken, retry=retry,
            clock=clock, **checks,
        )  # fmt: skip
        landed.append(file)
    return landed


@contextlib.asynccontextmanager
async def stage(
    http: httpx.AsyncClient,
    result: JobResult | str,
    *,
    parts: bool = False,
    filename: str | None = None,
    index: int | None = None,
    taken: set[str] | None = None,
    retry: RetryPolicy,
    clock: Clock,
    **checks: Unpack[Checks],
) -> AsyncIterator[list[DownloadedFile]]:
    """Lands a result (with ``parts``, each of its files) in a private temporary directory for the time of the block,
    e.g. to hand the files to a storage block (a file's name: ``Path(file.path).name``). The directory goes on exit,
    error and SIGTERM; a SIGKILL's is swept by the next stage. Arguments and errors as for ``download``."""
    await anyio.to_thread.run_sync(_tempfiles.sweep_private_dirs)
    private = await anyio.to_thread.run_sync(_tempfiles.new_private_dir)
    try:
        with _tempfiles.track(private, is_dir=True):
            if parts:
                yield await download_parts(
                    http, result, private, index=index, taken=taken, retry=retry, clock=clock, **checks
                )
            else:
                url, valid_till, job_id = _link_of(result)
                file = await download(
                    http, url, private, filename=filename, job_id=job_id, valid_till=valid_till, index=index,
                    taken=taken, retry=retry, clock=clock, **checks,
                )  # fmt: skip
                yield [file]
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _link_of(result: JobResult | str) -> tuple[str, datetime | None, str | None]:
    """The one link of a result, its ``output_link_valid_till`` and its job id."""
    if isinstance(result, str):
        return result, None, None
    if result.status is not JobStatus.SUCCESS or not result.url:
        several = " (it has several: download its parts)" if result.urls else ""
        raise ResultNotReadyError(f"job {escape_control(result.job_id)} is {result.status}: no result link{several}")
    return result.url, result.output_link_valid_till, result.job_id


async def fetch(
    http: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    valid_till: datetime | None = None,
    retry: RetryPolicy,
    clock: Clock,
) -> tuple[bytes, str | None]:
    """The whole content of a link and the Content-Type its host declared; ``ResultTooLargeError`` beyond
    ``max_bytes`` (by Content-Length before reading, else while reading). Other errors as for ``download``."""
    progress = _Progress(url := _checked_url(url), _Sink(limit=max_bytes, url=url))
    _fresh(url, valid_till, clock)
    await _transfer(http, progress, valid_till, retry, clock)
    return bytes(progress.sink.data), progress.content_type


async def result_links(
    http: httpx.AsyncClient, result: JobResult | str, *, retry: RetryPolicy, clock: Clock
) -> list[str]:
    """The links of every file of a result: its ``urls``, else the links in an async split's JSON list (PDF.co's
    async split answers one ``.json`` link to such a list), else its one link."""
    if isinstance(result, JobResult) and result.urls and result.status is JobStatus.SUCCESS:
        return [_checked_url(link) for link in result.urls]
    url, valid_till, _ = _link_of(result)
    if httpx.URL(_checked_url(url)).path.lower().endswith(".json"):
        # Else an ordinary JSON result (too large to be a list of links, or not one): a file of its own.
        with contextlib.suppress(ResultTooLargeError, UnexpectedResponseError, InvalidParametersError):
            content, _ = await fetch(
                http, url, max_bytes=LINK_LIST_MAX_BYTES, valid_till=valid_till, retry=retry, clock=clock
            )
            if isinstance(found := decode_json(content, url), list) and found:
                return [_checked_url(link) for link in found]
    return [url]


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
