"""Every public task call in an async flow (``await task.aio(...)``), as a type checker must see it.

Never run: mypy and pyright read it (tests/test_typing.py).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from typing_extensions import assert_type

from prefect_pdfco import (
    DownloadedFile,
    JobError,
    JobResult,
    JobSubmission,
    PdfcoCredentials,
    add_password,
    add_to_pdf,
    check_job,
    compress_pdf,
    delete_pages,
    document_to_pdf,
    download_result,
    download_result_files,
    fetch_result_json,
    fetch_result_text,
    find_text,
    generate_barcode,
    html_to_pdf,
    image_to_pdf,
    make_searchable,
    merge_pdfs,
    parse_document,
    parse_invoice,
    pdf_info,
    pdf_to_csv,
    pdf_to_html,
    pdf_to_json,
    pdf_to_text,
    read_barcodes,
    remove_password,
    replace_text,
    rotate_pages,
    split_pdf,
    submit_job,
    upload_file,
    url_to_pdf,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco.flows import OperationResult, run_operation
from prefect_pdfco.jobs import check_job_for

URL = "https://example.com/a.pdf"


@flow
async def credentials_block() -> None:
    credentials = assert_type(await PdfcoCredentials.aload("pdfco"), PdfcoCredentials)
    assert_type(await credentials.acheck_connection(), int)


@flow
async def jobs(credentials: PdfcoCredentials) -> None:
    job = assert_type(await submit_job.aio(credentials, "/v1/pdf/merge", {"url": URL}), JobSubmission)
    assert_type(await submit_job.aio(credentials, "/v1/pdf/merge", submit_key="a"), JobSubmission)
    assert_type(await check_job.aio(credentials, job.job_id), JobResult)
    assert_type(await wait_for_job.aio(credentials, job.job_id, max_poll_seconds=10), JobResult)
    assert_type(await wait_for_jobs.aio(credentials, [job.job_id]), list[JobResult | JobError])
    assert_type(await check_job_for("merge").aio(credentials, job.job_id), JobResult)
    # .fn is the undecorated coroutine function.
    assert_type(await check_job.fn(credentials, job.job_id), JobResult)


@flow
async def operations(credentials: PdfcoCredentials) -> None:
    assert_type(await add_password.aio(credentials, URL, submit_key="k"), JobSubmission)
    assert_type(await add_to_pdf.aio(credentials, URL), JobSubmission)
    assert_type(await compress_pdf.aio(credentials, URL, resend_if_unknown=True), JobSubmission)
    assert_type(await delete_pages.aio(credentials, URL, "1"), JobSubmission)
    assert_type(await document_to_pdf.aio(credentials, URL), JobSubmission)
    assert_type(await find_text.aio(credentials, URL, "total"), JobSubmission)
    assert_type(await generate_barcode.aio(credentials, "0123"), JobSubmission)
    assert_type(await html_to_pdf.aio(credentials, "<p/>"), JobSubmission)
    assert_type(await image_to_pdf.aio(credentials, [URL]), JobSubmission)
    assert_type(await make_searchable.aio(credentials, URL), JobSubmission)
    assert_type(await merge_pdfs.aio(credentials, [URL, URL]), JobSubmission)
    assert_type(await parse_document.aio(credentials, URL), JobSubmission)
    assert_type(await parse_invoice.aio(credentials, URL), JobSubmission)
    assert_type(await pdf_info.aio(credentials, URL), JobSubmission)
    assert_type(await pdf_to_csv.aio(credentials, URL), JobSubmission)
    assert_type(await pdf_to_html.aio(credentials, URL), JobSubmission)
    assert_type(await pdf_to_json.aio(credentials, URL), JobSubmission)
    assert_type(await pdf_to_text.aio(credentials, URL), JobSubmission)
    assert_type(await read_barcodes.aio(credentials, URL), JobSubmission)
    assert_type(await remove_password.aio(credentials, URL, "secret"), JobSubmission)
    assert_type(await replace_text.aio(credentials, URL, "old", "new"), JobSubmission)
    assert_type(await rotate_pages.aio(credentials, URL, 90), JobSubmission)
    assert_type(await split_pdf.aio(credentials, URL), JobSubmission)
    assert_type(await url_to_pdf.aio(credentials, "https://example.com"), JobSubmission)


@flow
async def files(credentials: PdfcoCredentials, result: JobResult) -> None:
    assert_type(await upload_file.aio(credentials, "scan.pdf"), str)
    assert_type(await download_result.aio(result, "out/"), DownloadedFile)
    assert_type(await download_result_files.aio(result, "pages/"), list[DownloadedFile])
    assert_type(await fetch_result_text.aio(result), str)
    assert_type(await fetch_result_json.aio(result, max_bytes=1024), Any)


@flow
async def reusable(credentials: PdfcoCredentials) -> None:
    assert_type(await run_operation.aio(credentials, "pdf_to_text", {"url": URL}), OperationResult)
    assert_type(await run_operation.with_options(name="text").aio(credentials, "pdf_to_text"), OperationResult)
