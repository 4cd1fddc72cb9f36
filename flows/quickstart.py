"""Quickstart: an HTML invoice and a cover page to PDF, merged, split into pages, and turned into text.

Every file lands in --output. Credentials: the saved block `pdfco` if there is one, else PDFCO_API_KEY, else
an embedded PDF.co emulator (no account, no credits). Each job is waited for by `check_job`, whose retries
you can watch in the Prefect UI as AwaitingRetry states.

    python flows/quickstart.py                      # run it once
    python flows/quickstart.py --output /tmp/out    # somewhere else
    python flows/quickstart.py --serve              # serve it as the deployment pdfco-quickstart/quickstart
    prefect deploy --all                            # or deploy it with the repository's prefect.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL

from prefect_pdfco import (
    check_job,
    download_result,
    download_result_files,
    html_to_pdf,
    merge_pdfs,
    pdf_to_text,
    split_pdf,
)
from prefect_pdfco.testing import credentials_or_emulator, example_parser, local_server_patience

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
def quickstart(output: str = "./output") -> list[dict[str, Any]]:
    """Runs the quickstart chain and returns what landed in ``output``: name, size and pages of each file."""
    with credentials_or_emulator() as credentials:
        invoice = check_job(credentials, html_to_pdf(credentials, INVOICE, name="invoice.pdf").job_id)
        cover = check_job(credentials, html_to_pdf(credentials, COVER, name="cover.pdf").job_id)
        merged = check_job(credentials, merge_pdfs(credentials, [cover.url, invoice.url], name="merged.pdf").job_id)
        parts = check_job(credentials, split_pdf(credentials, merged.url, pages="*", name="page.pdf").job_id)
        text = check_job(credentials, pdf_to_text(credentials, merged.url, name="merged.txt").job_id)
        files = [download_result(merged, output), download_result(text, output)]
        files += download_result_files(parts, output)
    landed = [{"name": Path(f.path).name, "size": f.size, "pages": _pages(Path(f.path))} for f in files]
    for item in landed:
        print(f"{item['name']:<16} {item['size']:>8} bytes  {item['pages'] or '-'} page(s)")
    if PREFECT_UI_URL.value():
        print(f"See the run in the Prefect UI: {PREFECT_UI_URL.value()}/runs/flow-run/{flow_run.id}")
    return landed


def main() -> None:
    parser = example_parser(__doc__, "Needs nothing else: it makes its own HTML documents.")
    parser.add_argument("--output", default="./output", help="directory for the results (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve as deployment pdfco-quickstart/quickstart")
    args = parser.parse_args()
    with local_server_patience():
        if args.serve:
            quickstart.serve(name="quickstart", parameters={"output": args.output}, tags=["pdfco", "quickstart"])
        else:
            quickstart(output=args.output)


if __name__ == "__main__":
    main()
