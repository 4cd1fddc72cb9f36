"""Child of test_17_10: a flow that ``.submit()``s one download and waits for it, on the API in PREFECT_API_URL.

Usage: ``python submitted_download.py URL DESTINATION``
"""

from __future__ import annotations

import sys

from prefect import flow

from prefect_pdfco import download_result


@flow(name="fault-matrix-submitted-download")
def grab(url: str, destination: str) -> str:
    return str(download_result.submit(url, destination).result().path)


if __name__ == "__main__":
    grab(sys.argv[1], sys.argv[2])
