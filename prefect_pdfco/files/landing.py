"""Landing result links in a destination: streamed into a staged file, delivered under their final names.

A failure of the destination itself (full disk, read-only, a block that refuses the file) becomes
``DestinationError``, which says that the result's link still works, so only the download needs to run again.
"""

from __future__ import annotations

import errno
import hashlib
from datetime import datetime

import httpx

from prefect_pdfco._netguard import DEFAULT_LINK_POLICY, LinkPolicy
from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco.exceptions import DestinationError
from prefect_pdfco.files.links import NO_CHECKS, Checks, DownloadedFile, Parts
from prefect_pdfco.files.names import dedupe_name, filename_from_url
from prefect_pdfco.files.storage import (
    DeliveryFailed,
    Destination,
    FileSink,
    Target,
    describe,
    resolve_destination,
    staging,
)
from prefect_pdfco.files.transfer import Transfer, link_expiry, transfer
from prefect_pdfco.ui.logs import run_logger

__all__ = ["destination_error", "land", "land_parts"]

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
    checks: Checks = NO_CHECKS,
    verified: bool = False,
) -> DownloadedFile:
    """Streams ``url`` (or writes ``content`` already fetched from it) to ``destination`` under ``name``.

    ``name`` must be sanitised already. Nothing is left behind when this fails or is cancelled. ``verified``
    says whether ``content``'s MD5 was checked against the ETag when it was fetched.

    Raises:
        DestinationError: The destination could not take the file; the link and ``job_id`` are in the error.
        ChecksumMismatchError: ``checks.verify_etag`` and the content's MD5 differs from the ETag's.
    """
    target = resolve_destination(destination)
    if content is None:
        policy.check_url(url, final=False)
    try:
        async with staging(target) as stage:
            if content is None:
                sink = FileSink(stage.handle)
                options = checks.digests()
                done = await transfer(http, url, sink, valid_till=valid_till, retry_policy=retry_policy, **options)
            else:
                await stage.handle.write(content)
                digest = hashlib.sha256(content).hexdigest() if checks.fingerprint else None
                done = Transfer(len(content), digest, content_type, etag_verified=verified)
            where = await stage.deliver(name, durable=checks.durable)
    except (OSError, DeliveryFailed) as error:
        cause = error.__cause__ if isinstance(error, DeliveryFailed) else error  # the block's own exception
        raise destination_error(error, target, url, valid_till=valid_till, job_id=job_id) from cause
    safe = safe_url(url)
    extra = f", sha256 {done.sha256}" if done.sha256 else ""
    extra += ", MD5 matches the ETag" if done.etag_verified else ""
    run_logger().info("Downloaded %s to %s (%d bytes%s)", safe, escape_control(where), done.size, extra)
    return DownloadedFile(
        path=where,
        size=done.size,
        sha256=done.sha256,
        url=safe,
        content_type=done.content_type,
        etag_verified=done.etag_verified,
    )


async def land_parts(
    http: httpx.AsyncClient,
    parts: Parts,
    destination: Destination,
    *,
    retry_policy: RetryPolicy,
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    job_id: str | None = None,
    checks: Checks = NO_CHECKS,
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
                checks=checks,
                verified=parts.verified,
            )
        )
    return landed
