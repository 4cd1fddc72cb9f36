"""Quickstart: an HTML invoice and a cover page to PDF, merged, split into pages, and turned into text.

    python flows/quickstart.py                      # run it once; every file lands in ./output
    python flows/quickstart.py --output /tmp/out    # somewhere else
    python flows/quickstart.py --serve              # serve it as the deployment pdfco-quickstart/quickstart
    prefect deploy --name pdfco-quickstart/quickstart   # or deploy it from prefect.yaml to a work pool

Each job is waited for by `check_job`: its checks show in the Prefect UI as the task's retries (AwaitingRetry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _example
from prefect import flow

from prefect_pdfco import (
    check_job,
    download_result,
    download_result_files,
    html_to_pdf,
    merge_pdfs,
    pdf_to_text,
    split_pdf,
)

INVOICE = """<h1>Invoice INV-1001</h1><p>Date: 2025-01-05</p>
<table><tr><th>Item</th><th>Qty</th><th>Price</th></tr>
<tr><td>Document automation</td><td>2</td><td>120.00</td></tr>
<tr><td>Support</td><td>1</td><td>56.95</td></tr></table><p><b>Total: 296.95 USD</b></p>"""
COVER = "<h1>Quarterly documents</h1><p>Prepared by prefect-pdfco.</p>"


def _pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader  # the emulator extra; only used to report page counts
    except ImportError:
        return None
    return len(PdfReader(path).pages) if path.suffix == ".pdf" else None


@flow(name="pdfco-quickstart", log_prints=True)
def pdfco_quickstart(output: str = "./output") -> list[dict[str, Any]]:
    """Runs the quickstart chain and returns what landed in ``output``: name, size and pages of each file."""
    with _example.credentials() as credentials:
        invoice = check_job(credentials, html_to_pdf(credentials, INVOICE, name="invoice.pdf"))
        cover = check_job(credentials, html_to_pdf(credentials, COVER, name="cover.pdf"))
        assert invoice.url and cover.url  # a success result carries its link
        merged = check_job(credentials, merge_pdfs(credentials, [cover.url, invoice.url], name="merged.pdf"))
        assert merged.url
        parts = check_job(credentials, split_pdf(credentials, merged.url, "*", name="page.pdf"))
        text = check_job(credentials, pdf_to_text(credentials, merged.url, extra={"name": "merged.txt"}))
        files = [download_result(merged, output), download_result(text, output)]
        files += download_result_files(parts, output)
    landed = [{"name": Path(f.path).name, "size": f.size, "pages": _pages(Path(f.path))} for f in files]
    for item in landed:
        print(f"{item['name']:<16} {item['size']:>8} bytes  {item['pages'] or '-'} page(s)")
    return landed


def main() -> None:
    parser = _example.parser(__doc__, "Needs nothing else: it makes its own HTML documents.")
    parser.add_argument("--output", default="./output", help="directory for the results (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it as the deployment pdfco-quickstart/quickstart")
    args = parser.parse_args()
    serve = {"name": "quickstart", "parameters": {"output": args.output}, "tags": ["pdfco", "quickstart"]}
    _example.run(pdfco_quickstart, {"output": args.output}, serve=serve if args.serve else None)


if __name__ == "__main__":
    main()
