"""Child of test_17_7: ``run_batch`` of long HTML documents into a directory, on the Prefect API in PREFECT_API_URL.

Usage: ``python batch_downloads.py API_KEY BASE_URL DESTINATION COUNT``
"""

from __future__ import annotations

import sys

from prefect import flow

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.flows import run_batch


def page(n: int) -> str:
    text = "".join(f"<p>Document {n}, paragraph {p}: {'lorem ipsum dolor sit amet ' * 30}</p>" for p in range(40))
    return f"<h1>Document {n}</h1>{text}"


@flow(name="fault-matrix-batch-downloads")
def convert(api_key: str, base_url: str, destination: str, count: int) -> None:
    credentials = PdfcoCredentials(api_key=api_key, base_url=base_url)
    items = [{"html": page(n), "name": f"doc-{n}.pdf"} for n in range(count)]
    run_batch(credentials, "html_to_pdf", items, destination=destination)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
