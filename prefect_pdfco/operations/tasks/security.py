"""Typed tasks that protect and unprotect PDFs. Passwords are ``SecretStr``: revealed only on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import AddPasswordParams, RemovePasswordParams
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["add_password", "remove_password"]


@operation_task
async def add_password(
    credentials: PdfcoCredentials,
    url: str,
    *,
    owner_password: str | SecretStr | None = None,
    user_password: str | SecretStr | None = None,
    encryption_algorithm: Literal["RC4_40bit", "RC4_128bit", "AES_128bit", "AES_256bit"] | None = None,
    allow_print_document: bool | None = None,
    allow_fill_forms: bool | None = None,
    allow_modify_document: bool | None = None,
    allow_content_extraction: bool | None = None,
    allow_modify_annotations: bool | None = None,
    allow_accessibility_support: bool | None = None,
    allow_assembly_document: bool | None = None,
    print_quality: Literal["HighResolution", "LowResolution"] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Encrypts a PDF with passwords and permissions (``/v1/pdf/security/add``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
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
        password: The input's current password, if it has one (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the encrypted PDF. Passwords are never logged or persisted by this task.

    Raises:
        InvalidParametersError: No password, an unknown algorithm... (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect.blocks.system import Secret
        from prefect_pdfco import PdfcoCredentials, add_password, wait_for_job

        @flow
        def protect(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            owner = Secret.load("pdf-owner-password").get()
            job = add_password(credentials, url, owner_password=owner, allow_modify_document=False)
            return wait_for_job(credentials, job.job_id).url

        protect("https://example.com/contract.pdf")
        ```
    """
    return await submit_operation(credentials, "add_password", AddPasswordParams, locals())


@operation_task
async def remove_password(
    credentials: PdfcoCredentials,
    url: str,
    password: str | SecretStr,
    *,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Removes a PDF's passwords and restrictions (``/v1/pdf/security/remove``).

    Args:
        credentials: The PDF.co credentials block.
        url: The protected PDF's link.
        password: Its owner or user password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the unprotected PDF.

    Raises:
        InvalidParametersError: An empty password (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).
        JobFailed: From ``wait_for_job``, when the password is wrong (PDF.co's code 441).

    Example:
        ```python
        from prefect import flow
        from prefect.blocks.system import Secret
        from prefect_pdfco import PdfcoCredentials, remove_password, wait_for_job

        @flow
        def unlock(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = remove_password(credentials, url, Secret.load("pdf-password").get())
            return wait_for_job(credentials, job.job_id).url

        unlock("https://example.com/locked.pdf")
        ```
    """
    return await submit_operation(credentials, "remove_password", RemovePasswordParams, locals())
