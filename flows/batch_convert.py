"""Batch convert: every document in a folder (and any URLs) to PDF, keeping the successes when some fail.

    python flows/batch_convert.py --source ./documents --output ./output/batch
    python flows/batch_convert.py --url https://example.com/page.html
    python flows/batch_convert.py --serve                 # served as pdfco-batch-convert/nightly, at 02:00 UTC
    prefect deploy --name pdfco-batch-convert/nightly     # or deployed from prefect.yaml (its schedule paused)

HTML files go to HTML-to-PDF, other files are uploaded and go to document-to-PDF, URLs to URL-to-PDF: one
`run_batch` per operation, which submits each document once, follows them all with one poller and lands each PDF
as soon as it is ready. A failed document never costs the others their results: the jobs table of this flow run
lists it first, and its batch ends in a state named "n of m failed".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _example
from prefect import flow

from prefect_pdfco import PdfcoError, upload_file
from prefect_pdfco.flows import run_batch

HTML_SUFFIXES = {".html", ".htm"}
NOTHING = "Nothing to convert: no files in {source} and no --url. Put documents there or pass --source or --url."


def _documents(source: str) -> list[Path]:
    folder = Path(source)
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []


@flow(name="pdfco-batch-convert", log_prints=True)
def pdfco_batch_convert(
    source: str = "./documents", urls: list[str] | None = None, output: str = "./output/batch"
) -> dict[str, Any]:
    """Converts the files in ``source`` and the ``urls`` to PDF; returns the converted files and the failures."""
    paths = _documents(source)
    if not paths and not urls:
        raise ValueError(NOTHING.format(source=source))
    converted: dict[str, str] = {}
    failed: dict[str, str] = {}
    batches: dict[str, dict[str, dict[str, Any]]] = {"html_to_pdf": {}, "document_to_pdf": {}, "url_to_pdf": {}}
    with _example.credentials() as credentials:
        for path in paths:
            name = f"{path.stem}.pdf"
            if path.suffix.lower() in HTML_SUFFIXES:
                batches["html_to_pdf"][path.name] = {"html": path.read_text(), "name": name}
                continue
            try:
                batches["document_to_pdf"][path.name] = {"url": upload_file(credentials, path), "name": name}
            except PdfcoError as error:
                failed[path.name] = str(error)
        for url in urls or []:
            batches["url_to_pdf"][url] = {"url": url}
        for operation, documents in batches.items():
            if documents:
                batch = run_batch(credentials, operation, list(documents.values()), output, max_concurrency=8)
                for document, item in zip(documents, batch.items, strict=True):
                    if item.ok and item.files:
                        converted[document] = item.files[0].path
                    else:
                        failed[document] = str(item.error)
    for document, landed in converted.items():
        print(f"converted  {document} -> {landed}")
    for document, reason in failed.items():
        print(f"FAILED     {document}: {reason}")
    return {"converted": converted, "failed": failed}


def main() -> None:
    parser = _example.parser(__doc__, "Needs documents: files in --source (HTML, text, CSV, images, PDFs...) or --url.")
    parser.add_argument("--source", default="./documents", help="folder of documents (default: %(default)s)")
    parser.add_argument("--url", action="append", dest="urls", help="a web page or document URL (repeatable)")
    parser.add_argument("--output", default="./output/batch", help="where PDFs land (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it as pdfco-batch-convert/nightly (02:00 UTC)")
    args = parser.parse_args()
    parameters = {"source": args.source, "urls": args.urls, "output": args.output}
    if not args.serve and not args.urls and not _documents(args.source):
        parser.exit(2, NOTHING.format(source=args.source) + "\n")  # says so before starting anything
    serve = {"name": "nightly", "cron": "0 2 * * *", "parameters": parameters, "tags": ["pdfco", "batch"]}
    _example.run(pdfco_batch_convert, parameters, serve=serve if args.serve else None)


if __name__ == "__main__":
    main()
