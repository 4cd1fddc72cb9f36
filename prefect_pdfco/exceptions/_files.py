"""Errors of the file hosts (S3): result downloads and presigned uploads."""

from __future__ import annotations

from datetime import datetime

from prefect_pdfco.exceptions._base import PdfcoError


class FileTransferError(PdfcoError):
    """A result download or a presigned upload failed: the file host (S3) refused it or broke off.

    These hosts are not PDF.co's API and never see the API key. Their errors are S3's XML, not PDF.co's JSON.

    Attributes:
        message: What went wrong, in words.
        url: The link in safe form: scheme, host and path, never the signed query string.
        status_code: The HTTP status of the file host's answer, when there was one.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None) -> None:
        self.message = message
        self.url = url
        self.status_code = status_code
        super().__init__(f"{url}: {message}" if url else message)


class ChecksumMismatchError(FileTransferError):
    """The bytes moved do not match the MD5 that the file host's ETag states (``verify_etag=True``).

    S3 answers a single-part object's MD5 as its ETag; a difference means the bytes were damaged on the way
    (or the object changed). Nothing is left at the destination; run the transfer again.
    """


class ResultExpiredError(FileTransferError):
    """The result link has expired: PDF.co deletes output files when their link expires.

    Raised without any request when ``outputLinkValidTill`` (or the link's own signed expiry) has passed, and
    when the file host answers S3's 403 "Request has expired". Run the job again, and pass PDF.co's
    ``expiration`` parameter (minutes; up to 1440 on some plans) to keep links longer.

    Attributes:
        valid_till: When the link stopped working (timezone-aware), when known.
    """

    def __init__(
        self, message: str, *, url: str = "", status_code: int | None = None, valid_till: datetime | None = None
    ) -> None:
        self.valid_till = valid_till
        super().__init__(message, url=url, status_code=status_code)



class ResultNotReadyError(FileTransferError):
    """The file host answered 404 (S3 ``NoSuchKey``): the job is not done yet, or the file was deleted.

    A job's result URL exists before the job has finished; wait for ``success`` (``wait_for_job``) first.
    """


class ResultTooLargeError(FileTransferError):
    """A text or JSON result is larger than the limit of ``fetch_result_text``/``fetch_result_json``.

    Download it to a file with ``download_result`` instead, or raise ``max_bytes``.

    Attributes:
        limit: The limit in bytes.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None, limit: int = 0) -> None:
        self.limit = limit
        super().__init__(message, url=url, status_code=status_code)
