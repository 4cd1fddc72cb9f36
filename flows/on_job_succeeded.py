"""On job succeeded: a deployment that PDF.co's callback starts, to download a job's result with nobody waiting.

    python flows/on_job_succeeded.py --job-id <id>         # once, for a job that succeeded (or one you paid for)
    python flows/on_job_succeeded.py --serve               # served with its trigger: pdfco-on-job-succeeded/triggered
    prefect deploy --name pdfco-on-job-succeeded/triggered # or deployed from prefect.yaml, trigger included

The callback receiver (prefect-pdfco callbacks serve) turns PDF.co's POST into `pdfco.job.succeeded`, and the
trigger of this deployment runs it with the event's job id. Events carry the result link's host and path only (its
query is a bearer secret) and can be forged, so the flow confirms the job with one forced check (2 credits) and
downloads from the fresh link that check returns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import _example
from prefect import flow
from prefect.events import DeploymentEventTrigger

from prefect_pdfco import check_job, download_result_files

#: The trigger of prefect.yaml: end events from callbacks (resource name "callback": the receiver's and the Cloud
#: webhook's), not those a waiting flow emits itself, which has the result already.
TRIGGER = DeploymentEventTrigger(
    expect={"pdfco.job.succeeded"},
    match={"prefect.resource.id": "pdfco.job.*", "prefect.resource.name": "callback"},
    parameters={"job_id": "{{ event.payload.job_id }}"},
)
NEEDS = (
    "Needs the id of a job that succeeded on the account of these credentials (--job-id), or a trigger that passes "
    "it. No embedded emulator here: the job must exist where the credentials point."
)


@flow(name="pdfco-on-job-succeeded", log_prints=True)
def pdfco_on_job_succeeded(job_id: str, output: str = "./output/triggered") -> list[dict[str, Any]]:
    """Confirms ``job_id`` with one forced check and downloads its result files into ``output/<job_id>``."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", job_id):
        raise ValueError(f"Not a PDF.co job id: {job_id!r}")
    with _example.credentials(embedded=False) as saved:
        # The job has ended: check it now, not after waiting for an end event that came before this run.
        credentials = saved.model_copy(update={"callback_url": None})
        # One attempt, forced: an unknown (or forged) id raises JobNotFound, a working one JobTimeout; no retries.
        result = check_job.with_options(retries=0)(credentials, job_id, force=True)
        files = download_result_files(result, str(Path(output) / job_id), credentials=credentials, fingerprint=True)
    landed = [{"name": Path(f.path).name, "size": f.size, "sha256": f.sha256} for f in files]
    for item in landed:
        print(f"job {job_id}: {item['name']} ({item['size']} bytes)")
    return landed


def main() -> None:
    parser = _example.parser(__doc__, NEEDS)
    parser.add_argument("--job-id", help="the PDF.co job whose result to download")
    parser.add_argument("--output", default="./output/triggered", help="where files land (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it with its trigger")
    args = parser.parse_args()
    if not args.serve and not args.job_id:
        parser.error("give --job-id, or --serve")
    serve = {"name": "triggered", "triggers": [TRIGGER], "parameters": {"output": args.output}, "tags": ["pdfco"]}
    parameters = {"job_id": args.job_id, "output": args.output}
    _example.run(pdfco_on_job_succeeded, parameters, serve=serve if args.serve else None)


if __name__ == "__main__":
    main()
