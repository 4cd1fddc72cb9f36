"""Child of test_17_9: one call with ``max_wait_seconds=1e308``; prints what came of it as one JSON line.

Usage: ``python huge_deadline.py run_operation|check_job_for|wait_for_job API_KEY BASE_URL``
"""

from __future__ import annotations

import json
import sys
from typing import Any

from prefect import flow

from prefect_pdfco import PdfcoCredentials, PdfcoError, get_operation, wait_for_job
from prefect_pdfco.flows import check_job_for, run_operation

HUGE = 1e308


@flow(name="fault-matrix-huge-wait")
def wait_huge(credentials: PdfcoCredentials) -> Any:
    return wait_for_job(credentials, "fault-matrix-job", max_wait_seconds=HUGE)


def call(how: str, credentials: PdfcoCredentials) -> Any:
    if how == "run_operation":
        return run_operation(credentials, "html_to_pdf", {"html": "<h1>Huge</h1>"}, max_wait_seconds=HUGE)
    if how == "check_job_for":
        operation: Any = get_operation("html_to_pdf")  # an entry, as both versions take (the new one a name too)
        return check_job_for(operation, HUGE)
    return wait_huge(credentials)


if __name__ == "__main__":
    how, api_key, base_url = sys.argv[1:4]
    outcome: dict[str, Any] = {"how": how, "returned": False, "typed": False, "error": None}
    try:
        call(how, PdfcoCredentials(api_key=api_key, base_url=base_url))
        outcome["returned"] = True
    except PdfcoError as error:
        outcome.update(typed=True, error=f"{type(error).__name__}: {error}")
    except Exception as error:  # what escaped is the finding
        outcome["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(outcome), flush=True)
