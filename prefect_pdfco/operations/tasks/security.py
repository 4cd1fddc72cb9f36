"""Typed tasks that protect and unprotect PDFs. Passwords are ``SecretStr``: revealed only on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, SecretStr
from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import Link, LinkOptions, Password, Sent
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["add_password", "remove_password"]


def _a_password(values: Mapping[str, Any]) -> None:
    given = [values[name] for name in ("owner_password", "user_password") if values[name] is not None]
    if not any(password.get_secret_value() for password in given):
        raise ValueError("pass owner_password and/or user_password")


# Sent in camelCase, as PDF.co's reference table spells them (https://developer.pdf.co/api-reference/pdf-password/add,
# "encryptionAlgorithm"); only its MCP server (https://pypi.org/project/pdfco-mcp/) capitalises them.
class AddPasswordOptions(LinkOptions, total=False):
    """The options of ``add_password``, and those of ``LinkOptions``.

    Attributes:
        owner_password: Unlocks everything, including the permissions. At least one of the two passwords.
        user_password: Needed to open the document.
        encryption_algorithm: ``AES_128bit`` (PDF.co's default), ``AES_256bit``, ``RC4_128bit``, ``RC4_40bit``.
        allow_print_document: Permit printing (the ``allow_*`` flags bind users who open with the user password).
        allow_fill_forms: Permit filling form fields.
        allow_modify_document: Permit changes.
        allow_content_extraction: Permit copying text and images.
        allow_modify_annotations: Permit adding or changing annotations.
        allow_accessibility_support: Permit extraction for accessibility tools.
        allow_assembly_document: Permit inserting, rotating and deleting pages.
        print_quality: ``HighResolution`` or ``LowResolution``.
    """

    owner_password: Password
    user_password: Password
    encryption_algorithm: Literal["RC4_40bit", "RC4_128bit", "AES_128bit", "AES_256bit"]
    allow_print_document: bool
    allow_fill_forms: bool
    allow_modify_document: bool
    allow_content_extraction: bool
    allow_modify_annotations: bool
    allow_accessibility_support: bool
    allow_assembly_document: bool
    print_quality: Literal["HighResolution", "LowResolution"]


@operation_task
async def add_password(
    credentials: PdfcoCredentials, url: Link, **options: Unpack[AddPasswordOptions]
) -> JobSubmission:
    """Encrypts a PDF with passwords and permissions (``/v1/pdf/security/add``).

    The endpoint takes no password for its input: unlock a protected input with ``remove_password`` first.

    Args:
        url: The PDF's link.

    Returns:
        The job; its result URL is the encrypted PDF. Passwords are never logged or persisted by this task.

    Raises:
        InvalidParametersError: No password, an unknown algorithm... (nothing is sent).

    Example:
        The owner password comes from a Secret block:
        ```python
        from prefect import flow
        from prefect.blocks.system import Secret
        from prefect_pdfco import PdfcoCredentials, add_password, wait_for_job

        @flow
        def protect(url: str, printable: bool = True) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            owner = Secret.load("pdf-owner-password").get()
            job = add_password(credentials, url, owner_password=owner, allow_print_document=printable)
            return wait_for_job(credentials, job.job_id).url

        protect("https://example.com/contract.pdf")
        ```
    """
    return await submit_operation(credentials, "add_password", locals(), _a_password)


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("the document's owner or user password is required")
    return value


@operation_task
async def remove_password(
    credentials: PdfcoCredentials,
    url: Link,
    password: Annotated[Password, Sent(Annotated[SecretStr, AfterValidator(_not_empty)])],
    **options: Unpack[LinkOptions],
) -> JobSubmission:
    """Removes a PDF's passwords and restrictions (``/v1/pdf/security/remove``).

    A wrong password is not refused at submit: the job fails (PDF.co's code 441).

    Args:
        url: The protected PDF's link.
        password: Its owner or user password (never logged).

    Returns:
        The job; its result URL is the unprotected PDF.

    Raises:
        InvalidParametersError: An empty password (nothing is sent).
        JobFailed: From ``wait_for_job``, when the password is wrong (PDF.co's code 441).

    Example:
        A wrong password fails the job, not the flow:
        ```python
        from prefect import flow
        from prefect.blocks.system import Secret
        from prefect_pdfco import JobFailed, PdfcoCredentials, remove_password, wait_for_job

        @flow
        def unlock(locked: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = remove_password(credentials, locked, Secret.load("pdf-password").get())
            try:
                return wait_for_job(credentials, job.job_id).url
            except JobFailed:
                return None

        unlock("https://example.com/locked.pdf")
        ```
    """
    return await submit_operation(credentials, "remove_password", locals())
