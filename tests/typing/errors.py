"""Wrong calls of the public tasks: each marked line must be a type error (with that mypy error code), and no
other line may be one. Never run: tests/test_typing.py checks it with mypy and pyright.
"""

from __future__ import annotations

from prefect import flow

from prefect_pdfco import (
    JobResult,
    PdfcoCredentials,
    add_password,
    check_job,
    download_result,
    fetch_result_text,
    html_to_pdf,
    merge_pdfs,
    submit_job,
    upload_file,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco.flows import run_operation
from prefect_pdfco.jobs import check_job_for

URL = "https://example.com/a.pdf"


@flow
def sync_flow(credentials: PdfcoCredentials, result: JobResult) -> None:
    html_to_pdf(credentials, 123)  # E: arg-type
    html_to_pdf(credentials, "<p/>", paper_sise="A4")  # E: call-arg
    html_to_pdf(credentials, "<p/>", submit_key=17)  # E: arg-type
    add_password(credentials, URL, resend_if_unknown="yes")  # E: arg-type
    merge_pdfs(credentials, "one-url")  # E: arg-type
    submit_job(credentials, "/v1/pdf/merge", submit_key=17)  # E: arg-type
    submit_job(credentials, "/v1/pdf/merge", params="url=x")  # E: arg-type
    check_job(credentials)  # E: call-arg
    wait_for_job(credentials, "id", max_wait=5)  # E: call-arg
    wait_for_jobs(credentials, "id")  # E: arg-type
    _pages: int = wait_for_job(credentials, "id")  # E: assignment
    print(wait_for_job(credentials, "id").nope)  # E: attr-defined
    print(check_job_for("merge")(credentials, "id").nope)  # E: attr-defined
    upload_file(credentials, 42)  # E: arg-type
    download_result(result, 42)  # E: arg-type
    download_result(result, object())  # E: arg-type
    fetch_result_text(result, max_bytes="1MB")  # E: arg-type
    run_operation(credentials, "merge", destination=3)  # E: arg-type
    check_job.with_options(retriez=3)  # E: call-arg
    html_to_pdf.submit(credentials, 123)  # E: arg-type


@flow
async def async_flow(credentials: PdfcoCredentials) -> None:
    await html_to_pdf(credentials, "<p/>")  # E: misc
    await PdfcoCredentials.load("pdfco")  # E: misc
    await html_to_pdf.aio(credentials, 123)  # E: arg-type
    print(html_to_pdf.aio(credentials, "<p/>").job_id)  # E: attr-defined
    await check_job.aio(credentials, "id", forse=True)  # E: call-arg
    await run_operation.aio(credentials, 42)  # E: arg-type
