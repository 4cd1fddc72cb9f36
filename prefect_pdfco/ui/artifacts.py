"""What the Prefect UI shows of PDF.co work: artifacts, events and the per-flow-run job ledger. The one place.

- Events ``pdfco.job.submitted|succeeded|failed|aborted|timed-out|not-found`` with resource
  ``pdfco.job.<job_id>`` (named after the operation), so automations can act on them; ``pdfco.credits.low``
  when the balance falls under the credentials block's ``low_credits_threshold``.
- A link artifact per result (with its expiry), a markdown artifact per failure (PDF.co's message and what to
  do), and one table artifact per flow run that sums up every job: what the work cost and what the waiting
  cost, separately.

Nothing here may fail a task: the UI is a view of the work, not part of it. Errors are logged at debug level.
Nothing here holds a secret: no API key, no request parameters; links appear only in link artifacts (they are
the result), never in events, tables or logs (host and path only).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_progress_artifact,
    aupdate_progress_artifact,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.context import FlowRunContext, TaskRunContext
from prefect.events import emit_event

from prefect_pdfco._redact import safe_url
from prefect_pdfco.exceptions import (
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PdfcoAPIError,
    PdfcoError,
)
from prefect_pdfco.models import JobResult, JobSubmission

if TYPE_CHECKING:
    from prefect_pdfco.client import PdfcoClient

__all__ = [
    "CHECK_CREDITS",
    "JobRecord",
    "jobs_of_current_flow_run",
    "record_check",
    "record_download",
    "record_failure",
    "record_submission",
    "record_success",
    "slug",
]

logger = logging.getLogger("prefect_pdfco")

#: What one /v1/job/check costs when the answer does not say (PDF.co documents 2 credits).
CHECK_CREDITS = 2

_EVENT_BY_ERROR: list[tuple[type[JobError], str]] = [
    (JobFailed, "pdfco.job.failed"),
    (JobAborted, "pdfco.job.aborted"),
    (JobTimeout, "pdfco.job.timed-out"),
    (JobNotFound, "pdfco.job.not-found"),
]

_ADVICE = {
    "pdfco.job.failed": "Check the input file (damaged? password-protected? a link PDF.co can reach?) and the "
    "parameters, then run again. PDF.co refunds failed jobs under its older billing model.",
    "pdfco.job.aborted": "PDF.co aborted the job. Run it again; if it keeps happening, contact PDF.co support "
    "with the job id.",
    "pdfco.job.timed-out": "The job may still finish. Pass the job id to `wait_for_job` in a later run to pick "
    "up its result without paying for a new submit, or raise `max_wait_seconds`.",
    "pdfco.job.not-found": "PDF.co does not know this job id: a typo, a job of another account, or an expired "
    "job. Submit it again.",
}


def slug(text: str, limit: int = 60) -> str:
    """Prefect artifact keys take lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "job"


@dataclass
class JobRecord:
    """One PDF.co job as the flow run's summary table shows it."""

    job_id: str
    operation: str
    status: str = "submitted"
    pages: int | None = None
    job_credits: int = 0
    checks: int = 0
    check_credits: int = 0
    remaining_credits: int | None = None
    duration_seconds: float | None = None
    files: list[tuple[str, int]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """Eight columns, so the table fits a 1280 px screen; the balance and totals go in its description."""
        return {
            "operation": self.operation,
            "job id": self.job_id,
            "status": self.status,
            "pages": self.pages,
            "work credits": self.job_credits,
            "check credits": self.check_credits,
            "seconds": None if self.duration_seconds is None else round(self.duration_seconds, 1),
            "downloaded": ", ".join(f"{name} ({_size(size)})" for name, size in self.files) or None,
        }


def _size(size: int) -> str:
    for power, unit in ((3, "GB"), (2, "MB"), (1, "KB")):
        if size >= 1024**power:
            return f"{size / 1024**power:.1f} {unit}"
    return f"{size} B"


#: During a long run the jobs table is republished at most this often; the final version is written once when the
#: flow run ends (a hook on the running flow), so a short run writes it exactly once.
PUBLISH_INTERVAL_SECONDS = 30.0
#: Ledgers of runs whose end this process never saw (tasks on a remote worker) are forgotten beyond this many.
MAX_LEDGERS = 256


@dataclass
class _Ledger:
    """What this process knows of one flow run's jobs."""

    records: dict[str, JobRecord] = field(default_factory=dict)
    last_published: float = 0.0
    ends_with_hook: bool = False
    low_credit_alerted: set[str] = field(default_factory=set)


_ledgers: OrderedDict[str, _Ledger] = OrderedDict()
_lock = threading.Lock()


def _flow_run_id() -> str | None:
    task_ctx = TaskRunContext.get()
    if task_ctx is not None and task_ctx.task_run.flow_run_id is not None:
        return str(task_ctx.task_run.flow_run_id)
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        return str(flow_ctx.flow_run.id)
    return None


def _ledger(flow_run_id: str) -> _Ledger:
    """The run's ledger (created, with its end-of-run hook, on first use); call under ``_lock``."""
    ledger = _ledgers.get(flow_run_id)
    if ledger is None:
        ledger = _ledgers[flow_run_id] = _Ledger(last_published=time.monotonic())
        ledger.ends_with_hook = _hook_end_of(flow_run_id)
        if not ledger.ends_with_hook:
            ledger.last_published = float("-inf")  # nobody will publish at the end: publish as we go
        while len(_ledgers) > MAX_LEDGERS:
            _ledgers.popitem(last=False)
    else:
        _ledgers.move_to_end(flow_run_id)
    return ledger


def _hook_end_of(flow_run_id: str) -> bool:
    """Adds ``_publish_at_end`` to the running flow's final-state hooks, when the flow runs in this process."""
    flow_ctx = FlowRunContext.get()
    if flow_ctx is None or flow_ctx.flow_run is None or str(flow_ctx.flow_run.id) != flow_run_id:
        return False
    flow = flow_ctx.flow
    if flow is None:
        return False
    for hooks in (
        flow.on_completion_hooks,
        flow.on_failure_hooks,
        flow.on_cancellation_hooks,
        flow.on_crashed_hooks,
    ):
        if _publish_at_end not in hooks:
            hooks.append(_publish_at_end)
    return True


def _publish_at_end(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook: writes the run's final jobs table and forgets the run (a long-lived process stays small)."""
    with _lock:
        ledger = _ledgers.pop(str(flow_run.id), None)
    if ledger is None or not ledger.records:
        return
    try:
        with get_client(sync_client=True) as client:
            client.create_artifact(_table_artifact(list(ledger.records.values()), flow_run.id))
    except Exception:  # the UI must never fail the work
        logger.debug("could not write the PDF.co jobs table", exc_info=True)


def _record(job_id: str, operation: str | None = None) -> JobRecord | None:
    flow_run_id = _flow_run_id()
    if flow_run_id is None:
        return None
    with _lock:
        ledger = _ledger(flow_run_id).records
        record = ledger.get(job_id)
        if record is None:
            record = ledger[job_id] = JobRecord(job_id=job_id, operation=operation or "job")
        elif operation and record.operation == "job":
            record.operation = operation
        return record


def jobs_of_current_flow_run() -> list[JobRecord]:
    """The jobs this process saw in the current flow run, in submission order."""
    flow_run_id = _flow_run_id()
    with _lock:
        ledger = _ledgers.get(flow_run_id or "")
        return list(ledger.records.values()) if ledger else []


def operation_name(endpoint: str) -> str:
    """``/v1/pdf/convert/from/html`` -> ``pdf/convert/from/html``: how events and tables name an operation."""
    return re.sub(r"^/?v\d+/", "", endpoint.strip()).strip("/") or endpoint


def _emit(event: str, record: JobRecord, **payload: Any) -> None:
    # Outside a flow or task run there is no one to tell, and emitting would start an ephemeral Prefect server.
    if _flow_run_id() is None:
        return
    try:
        emit_event(
            event,
            resource={"prefect.resource.id": f"pdfco.job.{record.job_id}", "prefect.resource.name": record.operation},
            payload={
                "operation": record.operation,
                "job_id": record.job_id,
                "credits": record.job_credits + record.check_credits,
                "work_credits": record.job_credits,
                "check_credits": record.check_credits,
                "remaining_credits": record.remaining_credits,
                "duration_seconds": record.duration_seconds,
                **payload,
            },
        )
    except Exception:  # the UI must never fail the work
        logger.debug("could not emit %s for job %s", event, record.job_id, exc_info=True)


def note_balance(client: PdfcoClient) -> None:
    """Emits ``pdfco.credits.low`` once per flow run and account when the balance the client saw last is under
    its ``low_credits_threshold``."""
    remaining, threshold = client.last_remaining_credits, client.low_credits_threshold
    if remaining is None or threshold is None or remaining >= threshold or _flow_run_id() is None:
        return
    account = client.base_url.host
    with _lock:
        alerted = _ledger(_flow_run_id() or "").low_credit_alerted
        if account in alerted:
            return
        alerted.add(account)
    try:
        emit_event(
            "pdfco.credits.low",
            resource={"prefect.resource.id": f"pdfco.account.{account}", "prefect.resource.name": account},
            payload={"remaining_credits": remaining, "threshold": threshold},
        )
    except Exception:
        logger.debug("could not emit pdfco.credits.low", exc_info=True)


def record_submission(submission: JobSubmission, operation: str) -> None:
    """A job was submitted: start its row and emit ``pdfco.job.submitted``."""
    record = _record(submission.job_id, operation)
    if record is None:
        record = JobRecord(job_id=submission.job_id, operation=operation)
    record.job_credits += submission.credits or 0
    record.remaining_credits = submission.remaining_credits
    _emit("pdfco.job.submitted", record)


def record_check(job_id: str, result: JobResult | None) -> JobRecord:
    """One job check was made (2 credits): count it, and note the balance it reported."""
    record = _record(job_id) or JobRecord(job_id=job_id, operation="job")
    record.checks += 1
    record.check_credits += CHECK_CREDITS
    if result is not None:
        # Under PDF.co's older billing model the check that first reports success also bills the remaining
        # pages: what it reports beyond the check's own price is work, not waiting.
        if result.credits is not None and result.credits > CHECK_CREDITS:
            record.job_credits += result.credits - CHECK_CREDITS
        if result.remaining_credits is not None:
            record.remaining_credits = result.remaining_credits
        record.status = result.status.value
    return record


async def record_success(result: JobResult, *, waited_seconds: float) -> None:
    """The job succeeded: emit ``pdfco.job.succeeded``, add a link artifact and refresh the summary table."""
    record = _record(result.job_id) or JobRecord(job_id=result.job_id, operation="job")
    record.status = result.status.value
    record.pages = result.page_count
    record.duration_seconds = waited_seconds
    _emit("pdfco.job.succeeded", record, pages=result.page_count)
    if _flow_run_id() is None or not result.url:
        return
    valid_till = (
        f"valid until {result.output_link_valid_till.isoformat(timespec='seconds')}"
        if result.output_link_valid_till
        else "valid for about 60 minutes (PDF.co's default)"
    )
    await _safely(
        # No key: a card per job would flood the Artifacts page; the link sits on its flow run and task run.
        acreate_link_artifact(
            link=result.url,
            link_text=f"{record.operation} result ({safe_url(result.url).rsplit('/', 1)[-1]})",
            description=f"Result of PDF.co job `{result.job_id}` ({record.operation}); the link is {valid_till}.",
        )
    )
    await publish_summary()


async def record_failure(job_id: str, error: PdfcoError, *, waited_seconds: float | None = None) -> None:
    """The job ended without a result: emit the matching event, add a markdown artifact, refresh the table."""
    event = next((name for cls, name in _EVENT_BY_ERROR if isinstance(error, cls)), "pdfco.job.failed")
    record = _record(job_id) or JobRecord(job_id=job_id, operation="job")
    record.status = event.rsplit(".", 1)[-1]
    record.duration_seconds = waited_seconds
    message = getattr(error, "message", "") or str(error)
    _emit(event, record, message=message)
    if _flow_run_id() is None:
        return
    code = f"{error.error_code}" if isinstance(error, PdfcoAPIError) else (getattr(error, "status", None) or "-")
    await _safely(
        acreate_markdown_artifact(
            markdown=(
                f"## PDF.co job `{job_id}`: {record.status}\n\n"
                f"| | |\n|---|---|\n| operation | `{record.operation}` |\n| code | `{code}` |\n"
                f"| PDF.co says | {message.replace('|', '/')} |\n\n**What to do:** {_ADVICE[event]}\n"
            ),
            description=f"Why PDF.co job {job_id} did not succeed",
        )
    )
    await publish_summary()


async def record_download(job_id: str | None, name: str, size: int) -> None:
    """A result file landed: add it to its job's row."""
    if job_id is None:
        return
    record = _record(job_id)
    if record is not None:
        record.files.append((name, size))
        await publish_summary()


async def publish_summary() -> None:
    """Writes the flow run's table of PDF.co jobs if ``PUBLISH_INTERVAL_SECONDS`` passed since it last did."""
    flow_run_id = _flow_run_id()
    if flow_run_id is None:
        return
    now = time.monotonic()
    with _lock:
        ledger = _ledgers.get(flow_run_id)
        if ledger is None or not ledger.records:
            return
        if now - ledger.last_published < PUBLISH_INTERVAL_SECONDS:
            return
        ledger.last_published = now
        records = list(ledger.records.values())
    async with get_client() as client:
        await _safely(client.create_artifact(_table_artifact(records, UUID(flow_run_id))))


def _table_artifact(records: list[JobRecord], flow_run_id: UUID) -> ArtifactCreate:
    """The jobs table, attached to the flow run itself (not to whichever task happened to write it)."""
    rows = [record.row() for record in records]
    work = sum(record.job_credits for record in records)
    waiting = sum(record.check_credits for record in records)
    checks = sum(record.checks for record in records)
    rows.append(
        {"operation": "total", "job id": f"{len(records)} job(s)", "work credits": work, "check credits": waiting}
    )
    balances = [record.remaining_credits for record in records if record.remaining_credits is not None]
    left = f" {min(balances)} credits left." if balances else ""
    return ArtifactCreate(
        type="table",
        key="pdfco-jobs",
        description=(
            f"PDF.co jobs of this flow run: {work} credits of work, {waiting} credits of waiting "
            f"({checks} checks at {CHECK_CREDITS} credits).{left}"
        ),
        data=json.dumps(rows),
        flow_run_id=flow_run_id,
    )


class Progress:
    """A progress artifact for a long wait or a batch; updated as jobs finish, never failing the work."""

    def __init__(self, total: int, description: str) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.description = description
        self._artifact_id: Any = None

    async def start(self) -> None:
        if _flow_run_id() is not None:
            self._artifact_id = await _safely(acreate_progress_artifact(0.0, description=self.description))

    async def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        await self.set(self.done / self.total)

    async def set(self, fraction: float) -> None:
        """Shows ``fraction`` (0 to 1) done."""
        if self._artifact_id is not None:
            await _safely(aupdate_progress_artifact(self._artifact_id, 100.0 * min(max(fraction, 0.0), 1.0)))


async def _safely(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception:  # the UI must never fail the work
        logger.debug("could not write a Prefect artifact", exc_info=True)
        return None
