"""Invoices to JSON: upload invoice PDFs, read them with PDF.co's AI invoice parser, write one JSON each.

    python flows/invoice_to_json.py --source ./invoices --output ./output/invoices
    python flows/invoice_to_json.py --serve                   # served as pdfco-invoice-to-json/invoices
    prefect deploy --name pdfco-invoice-to-json/invoices      # or deployed from prefect.yaml

Each step maps over the documents (`upload_file.map`, `parse_invoice.map`; the credentials block is never mapped),
and `wait_for_jobs` follows every job with one poller. A table artifact lists the fields of each invoice; one the
parser cannot read is named there and the others still land. Without PDFs in --source it makes two sample invoices
(with the emulator extra), so the flow runs out of the box.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import _example
from prefect import flow
from prefect.artifacts import create_table_artifact

from prefect_pdfco import JobResult, fetch_result_json, parse_invoice, upload_file, wait_for_jobs


def _sample_invoices(folder: Path) -> list[Path]:
    from pdfco_emulator import make_sample_invoice_pdf  # the emulator extra

    paths = []
    for number, day in (("INV-1001", "2025-01-05"), ("INV-1002", "2025-02-11")):
        path = folder / f"{number}.pdf"
        path.write_bytes(make_sample_invoice_pdf(invoice_number=number, invoice_date=day))
        paths.append(path)
    return paths


def _fields(name: str, parsed: dict[str, Any]) -> dict[str, Any]:
    invoice, payment = parsed.get("invoice") or {}, parsed.get("paymentDetails") or {}
    return {
        "file": name,
        "invoice": invoice.get("invoiceNo"),
        "date": invoice.get("invoiceDate"),
        "due": invoice.get("dueDate"),
        "vendor": (parsed.get("vendor") or {}).get("name"),
        "total": payment.get("total"),
        "currency": payment.get("currency"),
        "line items": len(parsed.get("lineItems") or []),
    }


@flow(name="pdfco-invoice-to-json", log_prints=True)
def pdfco_invoice_to_json(source: str = "./invoices", output: str = "./output/invoices") -> list[dict[str, Any]]:
    """Parses every PDF in ``source`` and writes ``<name>.json`` into ``output``; returns the fields table."""
    folder = Path(source)
    paths = sorted(folder.glob("*.pdf")) if folder.is_dir() else []
    if not paths:
        print(f"No PDFs in {folder}: using two sample invoices.")
        paths = _sample_invoices(Path(tempfile.mkdtemp(prefix="invoices-")))
    Path(output).mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with _example.credentials() as credentials:
        links = upload_file.map(credentials, paths)
        jobs = parse_invoice.map(credentials, links.result()).result()
        for path, outcome in zip(paths, wait_for_jobs(credentials, jobs), strict=True):
            if not isinstance(outcome, JobResult):
                rows.append({"file": path.name, "invoice": f"FAILED: {outcome}"})
                continue
            parsed = fetch_result_json(outcome)
            (Path(output) / f"{path.stem}.json").write_text(json.dumps(parsed, indent=2))
            rows.append(_fields(path.name, parsed))
    create_table_artifact(key="pdfco-invoices", table=rows, description="Fields read from each invoice")
    for row in rows:
        print(row)
    return rows


def main() -> None:
    parser = _example.parser(__doc__, "Needs a folder of invoice PDFs; without one it makes two sample invoices.")
    parser.add_argument("--source", default="./invoices", help="folder of invoice PDFs (default: %(default)s)")
    parser.add_argument("--output", default="./output/invoices", help="where JSON lands (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it as pdfco-invoice-to-json/invoices")
    args = parser.parse_args()
    parameters = {"source": args.source, "output": args.output}
    serve = {"name": "invoices", "parameters": parameters, "tags": ["pdfco", "invoices"]}
    _example.run(pdfco_invoice_to_json, parameters, serve=serve if args.serve else None)


if __name__ == "__main__":
    main()
