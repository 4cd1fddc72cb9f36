"""Create a Prefect automation that reacts when a PDF.co job fails, aborts or times out.

Our tasks emit ``pdfco.job.failed``, ``pdfco.job.aborted`` and ``pdfco.job.timed-out`` events with the resource
``pdfco.job.<job_id>``; this automation turns them into a notification or a re-run.

Usage:
    python blocks/create_automation.py --notify-block slack-alerts          # a saved notification block
    python blocks/create_automation.py --rerun-deployment pdfco-quickstart/quickstart
    python blocks/create_automation.py --help

It talks to the Prefect API configured in your profile (``PREFECT_API_URL``). Re-running it replaces the
automation of the same name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.events.actions import Action, RunDeployment, SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.exceptions import ObjectNotFound

FAILURE_EVENTS = {"pdfco.job.failed", "pdfco.job.aborted", "pdfco.job.timed-out"}
BODY = (
    "PDF.co job {{ event.resource.id }} ({{ event.resource.name }}) ended with {{ event.event }}: "
    "{{ event.payload.message }}"
)


async def build_action(notify_block: str | None, rerun_deployment: str | None) -> Action:
    """The automation's action: a notification through a saved block, or a run of a deployment."""
    async with get_client() as client:
        if rerun_deployment:
            deployment = await client.read_deployment_by_name(rerun_deployment)
            return RunDeployment(source="selected", deployment_id=deployment.id)
        documents = await client.read_block_documents()
    matches = [document for document in documents if document.name == notify_block]
    if not matches:
        raise SystemExit(f"No saved block named {notify_block!r}: save a notification block first.")
    return SendNotification(block_document_id=matches[0].id, subject="PDF.co job did not succeed", body=BODY)


async def create(name: str, notify_block: str | None, rerun_deployment: str | None) -> Automation:
    """Creates (or replaces) the automation and returns it."""
    action = await build_action(notify_block, rerun_deployment)
    try:
        existing = await Automation.aread(name=name)
    except (ValueError, ObjectNotFound):
        existing = None
    if existing is not None:
        await existing.adelete()
    automation = Automation(
        name=name,
        description="Reacts to PDF.co jobs that failed, aborted or timed out (events from prefect-pdfco).",
        trigger=EventTrigger(
            expect=FAILURE_EVENTS,
            match={"prefect.resource.id": "pdfco.job.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[action],
    )
    return await automation.acreate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--notify-block", help="name of a saved notification block (e.g. a Slack webhook)")
    target.add_argument("--rerun-deployment", help="deployment to run, as 'flow-name/deployment-name'")
    parser.add_argument("--name", default="pdfco-job-failed", help="automation name (default: %(default)s)")
    args = parser.parse_args(argv)
    automation = asyncio.run(create(args.name, args.notify_block, args.rerun_deployment))
    print(f"Automation {automation.name!r} ({automation.id}) reacts to {', '.join(sorted(FAILURE_EVENTS))}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
