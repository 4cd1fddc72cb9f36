"""On job succeeded: a deployment that PDF.co's callback starts, to download the job's result with nobody waiting.

The callback receiver (python -m prefect_pdfco.callbacks) turns PDF.co's POST into `pdfco.job.succeeded`, and
the trigger of this deployment (prefect.yaml, or --serve) runs it with the event's job id. The event holds the
result link's host and path only (the presigned query is a bearer secret), so the flow confirms the job with
one forced check (2 credits; a forged event's job id ends here) and downloads from the fresh link it returns.

    python flows/on_job_succeeded.py --job-id <id>     # once, for a job that succeeded
    python flows/on_job_succeeded.py --serve           # serve it with its trigger (pdfco-on-job-succeeded/triggered)
    prefect deploy --all                               # or deploy it with the repository's prefect.yaml
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.events import DeploymentEventTrigger

from prefect_pdfco import BlockNotFoundError, PdfcoCredentials, check_job, download_result_files
from prefect_pdfco.files.names import sanitize_filename
from prefect_pdfco.testing import local_server_patience

CREDENTIALS_HELP = (
    "Credentials: the saved PdfcoCredentials block `pdfco` (python blocks/create_credentials.py saves it), else "
    "PDFCO_API_KEY (and PDFCO_BASE_URL for another API root); no embedded emulator here: the job must exist on "
    "the account (or emulator) of those credentials. Without PREFECT_API_URL, Prefect starts a local server."
)
#: The same trigger as in prefect.yaml: success events from callbacks (the receiver's and the Cloud webhook's,
#: named "callback"), not the ones a waiting flow emits itself, which already has the result.
TRIGGER = DeploymentEventTrigger(
    expect={"pdfco.job.succeeded"},
    match={"prefect.resource.id": "pdfco.job.*", "prefect.resource.name": "callback"},
    parameters={"job_id": "{{ event.payload.job_id }}", "operation": "{{ (event.payload.operation or 'job') }}"},
)


def _credentials(block: str) -> PdfcoCredentials:
    try:
        credentials: PdfcoCredentials = PdfcoCredentials.load(block, _sync=True)  # type: ignore[call-arg]
    except BlockNotFoundError:
        if not os.environ.get("PDFCO_API_KEY"):
            raise
        credentials = PdfcoCredentials(
            api_key=os.environ["PDFCO_API_KEY"], base_url=os.environ.get("PDFCO_BASE_URL", "https://api.pdf.co")
        )
    # The job has ended: check now, not after waiting for an end event that came before this run.
    return credentials.model_copy(update={"callback_url": None})


@flow(name="pdfco-on-job-succeeded", log_prints=True)
def on_job_succeeded(
    job_id: str, operation: str = "job", output: str = "./output/triggered", block: str = "pdfco"
) -> list[dict[str, Any]]:
    """Confirms ``job_id`` with one forced check and downloads its result files into ``output/<job_id>``."""
    credentials = _credentials(block)
    # One attempt, forced: "unknown" (a made-up id) raises JobNotFound, "working" JobTimeout; no retry loop.
    result = check_job.with_options(retries=0, retry_delay_seconds=0)(credentials, job_id)
    where = str(Path(output) / sanitize_filename(result.job_id, fallback="job"))
    files = download_result_files(result, where, fingerprint=True)
    landed = [{"name": Path(f.path).name, "size": f.size, "sha256": f.sha256} for f in files]
    for item in landed:
        print(f"{operation} job {job_id}: {item['name']} ({item['size']} bytes)")
    return landed


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=CREDENTIALS_HELP + "\n\nNeeds the id of a job that succeeded (--job-id), or a trigger that passes it.",
    )
    parser.add_argument("--job-id", help="the PDF.co job whose result to download")
    parser.add_argument("--operation", default="job", help="what the job did, for the log (default: %(default)s)")
    parser.add_argument("--output", default="./output/triggered", help="where files land (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it with its trigger")
    args = parser.parse_args()
    if not args.serve and not args.job_id:
        parser.error("give --job-id, or --serve")
    with local_server_patience():
        if args.serve:
            on_job_succeeded.serve(
                name="triggered", triggers=[TRIGGER], parameters={"output": args.output}, tags=["pdfco", "callbacks"]
            )
        else:
            on_job_succeeded(job_id=args.job_id, operation=args.operation, output=args.output)


if __name__ == "__main__":
    main()
