"""Invoices to JSON: upload local invoice PDFs, read them with PDF.co's AI invoice parser, write one JSON each.

A table artifact lists the fields of every invoice (number, dates, vendor, total); an invoice the parser
cannot read is reported by name and the others still land. Without a --source folder of PDFs it makes two
sample invoices first (with the emulator extra), so the flow runs out of the box.

    python flows/invoice_to_json.py --source ./invoices --output ./output/invoices
    python flows/invoice_to_json.py --serve
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from prefect_pdfco import JobResult, fetch_result_json, parse_invoice, upload_file, wait_for_jobs
from prefect_pdfco.testing import credentials_or_emulator, example_parser, local_server_patience


def _sample_invoices(folder: Path) -> list[Path]:
    from prefect_pdfco.testing import make_sample_invoice_pdf  # the emulator extra

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
def invoice_to_json(source: str = "./invoices", output: str = "./output/invoices") -> list[dict[str, Any]]:
    """Parses every PDF in ``source`` and writes ``<name>.json`` into ``output``; returns the fields table."""
    folder = Path(source)
    paths = sorted(folder.glob("*.pdf")) if folder.is_dir() else []
    if not paths:
        print(f"No PDFs in {folder}: using two sample invoices.")
        paths = _sample_invoices(Path(tempfile.mkdtemp(prefix="invoices-")))
    Path(output).mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with credentials_or_emulator() as credentials:
        jobs = [parse_invoice(credentials, upload_file(credentials, str(path))) for path in paths]
        outcomes = wait_for_jobs(credentials, [job.job_id for job in jobs], initial_poll_seconds=5)
        for path, outcome in zip(paths, outcomes, strict=True):
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
    parser = example_parser(__doc__, "Needs a folder of invoice PDFs; without one it makes two sample invoices.")
    parser.add_argument("--source", default="./invoices", help="folder of invoice PDFs (default: %(default)s)")
    parser.add_argument("--output", default="./output/invoices", help="where JSON lands (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it as a deployment")
    args = parser.parse_args()
    with local_server_patience():
        if args.serve:
            invoice_to_json.serve(name="invoices", parameters={"source": args.source, "output": args.output})
        else:
            invoice_to_json(source=args.source, output=args.output)


if __name__ == "__main__":
    main()
