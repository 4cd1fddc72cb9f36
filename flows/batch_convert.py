"""Batch convert: every document in a folder (and any URLs) to PDF, keeping the successes when some fail.

HTML files go to HTML-to-PDF, other files are uploaded and go to document-to-PDF, URLs to URL-to-PDF. Four
submits run at once at most (the task runner's workers), and the block's `requests_per_second` (2 on free
plans, 10 on paid ones) caps the request rate. One poller waits for every job and keeps a progress artifact up
to date; a document that fails is reported by name and never costs the others their results.

    python flows/batch_convert.py --source ./documents --output ./output/batch
    python flows/batch_convert.py --url https://example.com/page.html
    python flows/batch_convert.py --serve          # served with a nightly schedule (02:00 UTC)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from prefect_pdfco import (
    JobResult,
    document_to_pdf,
    download_result,
    html_to_pdf,
    upload_file,
    url_to_pdf,
    wait_for_jobs,
)
from prefect_pdfco.testing import credentials_or_emulator

HTML_SUFFIXES = {".html", ".htm"}


@flow(name="pdfco-batch-convert", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=True)
def batch_convert(
    source: str = "./documents", urls: list[str] | None = None, output: str = "./output/batch"
) -> dict[str, Any]:
    """Converts the files in ``source`` and the ``urls`` to PDF; returns the converted files and the failures."""
    folder = Path(source)
    paths = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    with credentials_or_emulator() as credentials:
        submits: dict[str, PrefectFuture[Any]] = {}
        for path in paths:
            name = f"{path.stem}.pdf"
            if path.suffix.lower() in HTML_SUFFIXES:
                submits[path.name] = html_to_pdf.submit(credentials, path.read_text(), name=name)
            else:
                uploaded = upload_file.submit(credentials, str(path))
                submits[path.name] = document_to_pdf.submit(credentials, uploaded, name=name)
        for url in urls or []:
            submits[url] = url_to_pdf.submit(credentials, url)

        failed: dict[str, str] = {}
        jobs: dict[str, str] = {}
        for document, future in submits.items():
            submitted = future.result(raise_on_failure=False)
            if isinstance(submitted, BaseException):
                failed[document] = str(submitted)
            else:
                jobs[document] = submitted.job_id
        outcomes = wait_for_jobs(credentials, list(jobs.values())) if jobs else []
        converted: dict[str, str] = {}
        for document, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, JobResult):
                converted[document] = download_result(outcome, output).path
            else:
                failed[document] = str(outcome)
    for document, path in converted.items():
        print(f"converted  {document} -> {path}")
    for document, reason in failed.items():
        print(f"FAILED     {document}: {reason}")
    return {"converted": converted, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="./documents", help="folder of documents (default: %(default)s)")
    parser.add_argument("--url", action="append", dest="urls", help="a web page or document URL (repeatable)")
    parser.add_argument("--output", default="./output/batch", help="where PDFs land (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it with a nightly schedule")
    args = parser.parse_args()
    parameters = {"source": args.source, "urls": args.urls, "output": args.output}
    if args.serve:
        batch_convert.serve(name="nightly", cron="0 2 * * *", parameters=parameters, tags=["pdfco", "batch"])
    else:
        batch_convert(**parameters)


if __name__ == "__main__":
    main()
