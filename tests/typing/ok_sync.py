"""Every public task call in a sync flow, as a type checker must see it (checked by tests/test_typing.py).

Never run: mypy and pyright read it. A call typed as anything else than the model it returns fails the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.filesystems import LocalFileSystem
from prefect.futures import PrefectFuture, PrefectFutureList
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
from prefect_pdfco.flows import BatchResult, OperationResult, run_batch, run_operation
from prefect_pdfco.jobs import check_job_for

URL = "https://example.com/a.pdf"


@flow
def credentials_block() -> None:
    credentials = assert_type(PdfcoCredentials.load("pdfco"), PdfcoCredentials)
    assert_type(credentials.check_connection(), int)


@flow
def jobs(credentials: PdfcoCredentials) -> None:
    job = assert_type(submit_job(credentials, "/v1/pdf/merge", {"url": URL}), JobSubmission)
    assert_type(submit_job(credentials, "/v1/pdf/merge", submit_key="a", resend_if_unknown=True), JobSubmission)
    assert_type(check_job(credentials, job.job_id), JobResult)
    assert_type(check_job(credentials, job.job_id, force=True), JobResult)
    assert_type(wait_for_job(credentials, job.job_id, max_wait_seconds=60), JobResult)
    assert_type(wait_for_jobs(credentials, [job.job_id]), list[JobResult | JobError])
    assert_type(check_job_for("merge", 600)(credentials, job.job_id), JobResult)


@flow
def operations(credentials: PdfcoCredentials) -> None:
    assert_type(add_password(credentials, URL, owner_password="o", submit_key="k"), JobSubmission)
    assert_type(add_to_pdf(credentials, URL, resend_if_unknown=True), JobSubmission)
    assert_type(compress_pdf(credentials, URL, submit_key="k", resend_if_unknown=False), JobSubmission)
    assert_type(delete_pages(credentials, URL, "1-2"), JobSubmission)
    assert_type(document_to_pdf(credentials, URL), JobSubmission)
    assert_type(find_text(credentials, URL, "total"), JobSubmission)
    assert_type(generate_barcode(credentials, "0123"), JobSubmission)
    assert_type(html_to_pdf(credentials, "<p/>", submit_key="page-1", extra={"expiration": 120}), JobSubmission)
    assert_type(image_to_pdf(credentials, [URL]), JobSubmission)
    assert_type(make_searchable(credentials, URL), JobSubmission)
    assert_type(merge_pdfs(credentials, [URL, URL]), JobSubmission)
    assert_type(parse_document(credentials, URL), JobSubmission)
    assert_type(parse_invoice(credentials, URL), JobSubmission)
    assert_type(pdf_info(credentials, URL), JobSubmission)
    assert_type(pdf_to_csv(credentials, URL), JobSubmission)
    assert_type(pdf_to_html(credentials, URL), JobSubmission)
    assert_type(pdf_to_json(credentials, URL), JobSubmission)
    assert_type(pdf_to_text(credentials, URL), JobSubmission)
    assert_type(read_barcodes(credentials, URL), JobSubmission)
    assert_type(remove_password(credentials, URL, "secret"), JobSubmission)
    assert_type(replace_text(credentials, URL, "old", "new"), JobSubmission)
    assert_type(rotate_pages(credentials, URL, 90), JobSubmission)
    assert_type(split_pdf(credentials, URL), JobSubmission)
    assert_type(url_to_pdf(credentials, "https://example.com"), JobSubmission)


@flow
def files(credentials: PdfcoCredentials, result: JobResult) -> None:
    assert_type(upload_file(credentials, "scan.pdf"), str)
    assert_type(upload_file(credentials, Path("scan.pdf"), name="scan.pdf"), str)
    assert_type(download_result(result, "out/"), DownloadedFile)
    assert_type(download_result(URL, Path("out"), filename="a.pdf", credentials=credentials), DownloadedFile)
    assert_type(download_result(result, LocalFileSystem(basepath="out")), DownloadedFile)
    assert_type(download_result_files(result, "pages/"), list[DownloadedFile])
    assert_type(fetch_result_text(result, max_bytes=1024, encoding="utf-8"), str)
    assert_type(fetch_result_json(URL), Any)


@flow
def reusable(credentials: PdfcoCredentials) -> None:
    done = assert_type(run_operation(credentials, "merge", {"url": URL}, destination="out"), OperationResult)
    assert_type(done.url, str | None)
    batch = assert_type(run_batch(credentials, "html_to_pdf", [{"html": "<p/>"}], skip_done=True), BatchResult)
    assert_type(batch.failed[0].document, str)


@flow
def prefect_methods(credentials: PdfcoCredentials) -> None:
    # .submit() and .map() are typed as futures of what the task returns (#21.7): fut.result().job_id checks.
    future = html_to_pdf.submit(credentials, "<p/>", submit_key="k")
    assert_type(future, PrefectFuture[JobSubmission])
    assert_type(future.result().job_id, str)
    assert_type(merge_pdfs.map(credentials, [[URL], [URL]]), PrefectFutureList[JobSubmission])
    assert_type(html_to_pdf.map(credentials, ["<p>1</p>", "<p>2</p>"]), PrefectFutureList[JobSubmission])
    assert_type(wait_for_job.submit(credentials, "id"), PrefectFuture[JobResult])
    # .with_options() checks Prefect's options and keeps the typed call.
    patient = check_job.with_options(retries=3, retry_delay_seconds=[1, 2, 3])
    assert_type(patient(credentials, "id"), JobResult)
    assert_type(html_to_pdf.with_options(name="render")(credentials, "<p/>"), JobSubmission)
    assert_type(run_operation.with_options(retries=1)(credentials, "merge"), OperationResult)
