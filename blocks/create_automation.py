"""Create the Prefect automations that react to PDF.co job events: run the triggered deployment, or tell someone.

    python blocks/create_automation.py --run-on-callback pdfco-on-job-succeeded/triggered   # callbacks -> a run
    python blocks/create_automation.py --notify-block slack-alerts     # failed, aborted, timed-out, not-found jobs
    python blocks/create_automation.py --rerun-deployment pdfco-quickstart/quickstart      # ... or a re-run

prefect-pdfco emits `pdfco.job.succeeded`, `.failed`, `.aborted`, `.timed-out` and `.not-found` with the resource
`pdfco.job.<job id>`; the callback receiver (prefect-pdfco callbacks serve) and the Prefect Cloud webhook
(blocks/pdfco_webhook_template.json) name theirs "callback". `--run-on-callback` makes the automation that
`prefect deploy` makes from the trigger in prefect.yaml, for a deployment created some other way. It talks to the
Prefect API of your profile (PREFECT_API_URL); running it again replaces the automation of the same name.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # before Prefect is imported: no telemetry

from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.events.actions import RunDeployment, SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

FAILURE_EVENTS = {"pdfco.job.failed", "pdfco.job.aborted", "pdfco.job.timed-out", "pdfco.job.not-found"}
#: The resource name carries the document and PDF.co's message; the payload the job id and what it cost.
BODY = (
    "{{ event.resource.name }} ({{ event.event }}); job {{ event.payload.job_id }}, "
    "{{ event.payload.credits }} credit(s)"
)


async def build(args: argparse.Namespace) -> tuple[EventTrigger, RunDeployment | SendNotification, str]:
    """The automation's trigger, action and description for the chosen option."""
    async with get_client() as client:
        if not args.notify_block:
            deployment = await client.read_deployment_by_name(args.run_on_callback or args.rerun_deployment)
            if args.run_on_callback:
                return (
                    EventTrigger(
                        expect={"pdfco.job.succeeded"},
                        match={"prefect.resource.id": "pdfco.job.*", "prefect.resource.name": "callback"},
                        posture=Posture.Reactive,
                        threshold=1,
                    ),
                    RunDeployment(
                        source="selected",
                        deployment_id=deployment.id,
                        parameters={"job_id": "{{ event.payload.job_id }}"},
                        job_variables=None,
                    ),
                    f"Runs {args.run_on_callback} for each job a callback says has succeeded.",
                )
            action: RunDeployment | SendNotification = RunDeployment(
                source="selected", deployment_id=deployment.id, parameters=None, job_variables=None
            )
        else:
            blocks = [block for block in await client.read_block_documents() if block.name == args.notify_block]
            if not blocks:
                raise SystemExit(f"No saved block named {args.notify_block!r}: save a notification block first.")
            action = SendNotification(block_document_id=blocks[0].id, subject="A PDF.co job did not succeed", body=BODY)
    trigger = EventTrigger(
        expect=FAILURE_EVENTS, match={"prefect.resource.id": "pdfco.job.*"}, posture=Posture.Reactive, threshold=1
    )
    return trigger, action, "Reacts to PDF.co jobs that failed, aborted, timed out or were not found."


async def create(args: argparse.Namespace) -> Automation:
    """Creates (or replaces) the automation and returns it."""
    trigger, action, description = await build(args)
    try:
        existing = await Automation.aread(name=args.name)
    except (ValueError, ObjectNotFound):
        existing = None
    if existing is not None:
        await existing.adelete()
    automation = Automation(name=args.name, description=description, trigger=trigger, actions=[action])
    return await automation.acreate()


def main(argv: list[str] | None = None) -> int:
    """Parses the options, creates the automation, and says what it reacts to."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--run-on-callback", help="deployment ('flow/name') to run with each succeeded job's id")
    target.add_argument("--notify-block", help="saved notification block (e.g. a Slack webhook) told of failures")
    target.add_argument("--rerun-deployment", help="deployment ('flow/name') to run when a job fails")
    parser.add_argument("--name", help="automation name (default: pdfco-on-callback or pdfco-job-failed)")
    args = parser.parse_args(argv)
    args.name = args.name or ("pdfco-on-callback" if args.run_on_callback else "pdfco-job-failed")
    automation = asyncio.run(create(args))
    print(f"Automation {automation.name!r} ({automation.id}): {automation.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
