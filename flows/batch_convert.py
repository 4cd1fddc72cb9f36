"""Batch convert: every document in a folder (and any URLs) to PDF, keeping the successes when some fail.

HTML files go to HTML-to-PDF, other files are uploaded and go to document-to-PDF, URLs to URL-to-PDF: one
``run_batch`` subflow per operation, each submitting its documents in one task run (eight at once at most; the
block's `requests_per_second`, 2 on free plans and 10 on paid ones, caps the rate), waiting for them with one
poller and landing each PDF as soon as it is ready. A document that fails is reported by name and never costs
the others their results.

    python flows/batch_convert.py --source ./documents --output ./output/batch
    python flows/batch_convert.py --url https://example.com/page.html
    python flows/batch_convert.py --serve          # served with a nightly schedule (02:00 UTC)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from prefect_pdfco import PdfcoError, upload_file
from prefect_pdfco.flows import run_batch
from prefect_pdfco.testing import credentials_or_emulator, example_parser, local_server_patience

HTML_SUFFIXES = {".html", ".htm"}


_NOTHING = "Nothing to convert: no files in {source} and no --url. Put documents there or pass --source or --url."


def _documents(source: str) -> list[Path]:
    folder = Path(source)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@flow(name="pdfco-batch-convert", log_prints=True)
def batch_convert(
    source: str = "./documents", urls: list[str] | None = None, output: str = "./output/batch"
) -> dict[str, Any]:
    """Converts the files in ``source`` and the ``urls`` to PDF; returns the converted files and the failures."""
    paths = _documents(source)
    if not paths and not urls:
        raise ValueError(_NOTHING.format(source=source))
    converted: dict[str, str] = {}
    failed: dict[str, str] = {}
    with credentials_or_emulator() as credentials:
        batches: dict[str, dict[str, dict[str, Any]]] = {"html_to_pdf": {}, "document_to_pdf": {}, "url_to_pdf": {}}
        for path in paths:
            name = f"{path.stem}.pdf"
            if path.suffix.lower() in HTML_SUFFIXES:
                batches["html_to_pdf"][path.name] = {"html": path.read_text(), "name": name}
                continue
            try:
                batches["document_to_pdf"][path.name] = {"url": upload_file(credentials, str(path)), "name": name}
            except PdfcoError as error:
                failed[path.name] = str(error)
        for url in urls or []:
            batches["url_to_pdf"][url] = {"url": url}
        for operation, documents in batches.items():
            if not documents:
                continue
            batch = run_batch(credentials, operation, list(documents.values()), output, max_concurrency=8)
            for document, item in zip(documents, batch.items, strict=True):
                if item.files:
                    converted[document] = item.files[0].path
                else:
                    failed[document] = str(item.error)
    for document, path in converted.items():
        print(f"converted  {document} -> {path}")
    for document, reason in failed.items():
        print(f"FAILED     {document}: {reason}")
    return {"converted": converted, "failed": failed}


def main() -> None:
    parser = example_parser(__doc__, "Needs documents: files in --source (HTML, text, CSV, images, PDFs...) or --url.")
    parser.add_argument("--source", default="./documents", help="folder of documents (default: %(default)s)")
    parser.add_argument("--url", action="append", dest="urls", help="a web page or document URL (repeatable)")
    parser.add_argument("--output", default="./output/batch", help="where PDFs land (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it with a nightly schedule")
    args = parser.parse_args()
    parameters = {"source": args.source, "urls": args.urls, "output": args.output}
    if not args.serve and not args.urls and not _documents(args.source):
        parser.exit(2, _NOTHING.format(source=args.source) + "\n")  # says so before starting anything
    with local_server_patience():
        if args.serve:
            batch_convert.serve(name="nightly", cron="0 2 * * *", parameters=parameters, tags=["pdfco", "batch"])
        else:
            batch_convert(**parameters)


if __name__ == "__main__":
    main()
