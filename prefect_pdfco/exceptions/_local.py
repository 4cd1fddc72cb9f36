"""Errors found on this side, before or after PDF.co: local files, destinations and parameters."""

from __future__ import annotations

import errno
from datetime import datetime

from prefect_pdfco.exceptions._base import PdfcoError


class DestinationError(PdfcoError):
    """A downloaded result could not be written at its destination: a file where the directory should be, a
    read-only directory, a full disk, no permission, or a storage block that refused it.

    The job succeeded and its result link still works until it expires, so only the download needs to run
    again (once the destination is fixed): not the job, which would be billed again.

    Attributes:
        message: What went wrong, in words.
        destination: The directory, or the kind of storage block.
        url: The result link in safe form (host and path, never the signed query string).
        job_id: The job whose result it is, when known.
        valid_till: When the link stops working (timezone-aware), when known.
        errno: The operating system's error number (e.g. ``errno.ENOSPC``), when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        destination: str = "",
        url: str = "",
        job_id: str | None = None,
        valid_till: datetime | None = None,
        errno: int | None = None,
    ) -> None:
        self.message = message
        self.destination = destination
        self.url = url
        self.job_id = job_id
        self.valid_till = valid_till
        self.errno = errno
        super().__init__(message)



class LocalFileError(PdfcoError):
    """A local file cannot be uploaded to PDF.co.

    Attributes:
        path: The local path, as given.
        message: What is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")



class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """The file to upload does not exist or is not a regular file; ``except FileNotFoundError`` catches it."""

    def __init__(self, path: str, message: str = "no such file") -> None:
        super().__init__(path, message)
        # The attributes an OSError handler reads.
        self.errno = errno.ENOENT
        self.strerror = message
        self.filename = path

    def __reduce__(self) -> tuple[object, ...]:
        # errno, strerror and filename live in OSError's slots, not in __dict__: replay the constructor.
        return (type(self), (self.path, self.message))


class FileTooLargeError(LocalFileError):
    """The file is over PDF.co's 2 GB limit for presigned uploads; refused before any request is made.

    Attributes:
        size: The file's size in bytes.
        limit: The limit in bytes.
    """

    def __init__(self, path: str, message: str = "", *, size: int = 0, limit: int = 0) -> None:
        self.size = size
        self.limit = limit
        super().__init__(path, message or f"{size} bytes is over the upload limit of {limit} bytes")



class InvalidParametersError(PdfcoError, ValueError):
    """Parameters of a typed operation task failed validation; raised before any request (no credits spent).

    Attributes:
        operation: The operation's name, e.g. ``"split"``.
        errors: One readable line per problem (field and reason; never the value, which may be a password).
    """

    def __init__(self, operation: str, errors: list[str]) -> None:
        self.operation = operation
        self.errors = list(errors)
        detail = "; ".join(self.errors) or "invalid parameters"
        super().__init__(f"{operation}: {detail} (nothing was sent to PDF.co)")



class BlockNotFoundError(PdfcoError, ValueError):
    """No ``PdfcoCredentials`` block of this name is saved in the current Prefect workspace.

    Also a ``ValueError``, which is what Prefect's own ``Block.load`` raises for a missing block, so
    ``except ValueError`` keeps working.

    Attributes:
        name: The block document name that was asked for.
        block_type_slug: The block type looked in, e.g. ``"pdfco-credentials"``.
    """

    def __init__(self, name: str, block_type_slug: str) -> None:
        self.name = name
        self.block_type_slug = block_type_slug
        self.message = (
            f"No {block_type_slug} block named {name!r} is saved in this Prefect workspace. Save one with "
            f"`python blocks/create_credentials.py --name {name}` (the API key comes from PDFCO_API_KEY or a "
            "prompt), or in the Prefect UI under Blocks; `prefect block ls` lists the saved ones."
        )
        super().__init__(self.message)


class UnknownOperationError(PdfcoError, KeyError):
    """No operation in the catalogue has this name or path; the message lists the closest ones."""

    def __init__(self, wanted: str, suggestions: list[str]) -> None:
        self.wanted = wanted
        self.suggestions = list(suggestions)
        hint = f" Did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        self.message = (
            f"Unknown PDF.co operation {wanted!r}.{hint} Pass a name from prefect_pdfco.operations.OPERATIONS, "
            "a documented path such as '/v1/pdf/merge', or call submit_job with any endpoint."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError's own __str__ would print the message as a quoted repr.
        return self.message
