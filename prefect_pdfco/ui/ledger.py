"""The per-flow-run ledger of PDF.co jobs, and the jobs table it becomes on the flow run.

Each process keeps one ledger per flow run it works for (what each job cost in work and in checks, what was
downloaded). The table is written when the flow run ends (a hook added to the running flow) and at most every
``PUBLISH_INTERVAL_SECONDS`` during a long run; the ledger is then dropped, and ledgers of runs whose end this
process never sees (tasks on remote workers) are bounded, so a long-lived worker stays small.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.context import FlowRunContext, TaskRunContext

__all__ = [
    "CHECK_CREDITS",
    "JOB_ID_SHOWN",
    "MAX_LEDGERS",
    "PUBLISH_INTERVAL_SECONDS",
    "JobRecord",
    "first_low_credit_alert",
    "flow_run_id",
    "jobs_of_current_flow_run",
    "publish_summary",
    "record_of",
    "safely",
    "short_job_id",
]

logger = logging.getLogger("prefect_pdfco")

#: What one /v1/job/check costs when the answer does not say (PDF.co documents 2 credits).
CHECK_CREDITS = 2


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
        """Seven narrow columns, so the table fits the artifact page on a 1280 px screen.

        PDF.co's job ids are 40-odd characters: in full they alone would take half the page's width. The table
        shows their first ``JOB_ID_SHOWN`` characters, which the logs, events and result links (full ids) start
        with; totals, the balance and the downloaded files go in the table's description.
        """
        return {
            "operation": self.operation,
            "job": short_job_id(self.job_id),
            "status": self.status,
            "pages": self.pages,
            "credits": self.job_credits,
            "checks": self.checks,
            "seconds": None if self.duration_seconds is None else round(self.duration_seconds, 1),
        }


#: Characters of a job id the jobs table shows (PDF.co's ids are 32 random characters and a suffix).
JOB_ID_SHOWN = 10


def short_job_id(job_id: str) -> str:
    """``FX1DIPF1FX4FFQSQZV75...--151-300`` -> ``FX1DIPF1FX…``: how the jobs table names a job."""
    return job_id if len(job_id) <= JOB_ID_SHOWN + 1 else f"{job_id[:JOB_ID_SHOWN]}…"


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


def flow_run_id() -> str | None:
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


def record_of(job_id: str, operation: str | None = None) -> JobRecord | None:
    run_id = flow_run_id()
    if run_id is None:
        return None
    with _lock:
        ledger = _ledger(run_id).records
        record = ledger.get(job_id)
        if record is None:
            record = ledger[job_id] = JobRecord(job_id=job_id, operation=operation or "job")
        elif operation and record.operation == "job":
            record.operation = operation
        return record


def first_low_credit_alert(account: str) -> bool:
    """True the first time the current flow run reports low credits for ``account`` (one event per run)."""
    run_id = flow_run_id()
    if run_id is None:
        return False
    with _lock:
        alerted = _ledger(run_id).low_credit_alerted
        if account in alerted:
            return False
        alerted.add(account)
        return True


def jobs_of_current_flow_run() -> list[JobRecord]:
    """The jobs this process saw in the current flow run, in submission order."""
    run_id = flow_run_id()
    with _lock:
        ledger = _ledgers.get(run_id or "")
        return list(ledger.records.values()) if ledger else []


async def publish_summary() -> None:
    """Writes the flow run's table of PDF.co jobs if ``PUBLISH_INTERVAL_SECONDS`` passed since it last did."""
    run_id = flow_run_id()
    if run_id is None:
        return
    now = time.monotonic()
    with _lock:
        ledger = _ledgers.get(run_id)
        if ledger is None or not ledger.records:
            return
        if now - ledger.last_published < PUBLISH_INTERVAL_SECONDS:
            return
        ledger.last_published = now
        records = list(ledger.records.values())
    async with get_client() as client:
        await safely(client.create_artifact(_table_artifact(records, UUID(run_id))))


def _table_artifact(records: list[JobRecord], flow_run_id: UUID) -> ArtifactCreate:
    """The jobs table, attached to the flow run itself (not to whichever task happened to write it)."""
    rows = [record.row() for record in records]
    work = sum(record.job_credits for record in records)
    waiting = sum(record.check_credits for record in records)
    checks = sum(record.checks for record in records)
    rows.append({"operation": "total", "job": f"{len(records)} job(s)", "credits": work, "checks": checks})
    balances = [record.remaining_credits for record in records if record.remaining_credits is not None]
    left = f" {min(balances)} credits left." if balances else ""
    files = [size for record in records for _, size in record.files]
    landed = f" Downloaded {len(files)} file(s), {_size(sum(files))}." if files else ""
    return ArtifactCreate(
        type="table",
        key="pdfco-jobs",
        description=(
            f"PDF.co jobs of this flow run: {work} credits of work, {waiting} credits of waiting "
            f"({checks} checks at {CHECK_CREDITS} credits).{left}{landed} Jobs are named by the first "
            f"{JOB_ID_SHOWN} characters of their id; logs, events and result links give it in full."
        ),
        data=json.dumps(rows),
        flow_run_id=flow_run_id,
    )


async def safely(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception:  # the UI must never fail the work
        logger.debug("could not write a Prefect artifact", exc_info=True)
        return None
