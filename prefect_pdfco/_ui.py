"""What the Prefect UI shows of PDF.co work: run logs, the jobs table, result and failure artifacts, and events.

Nothing here may fail the work or hold a secret (no key, no parameters; links in link artifacts only). See
docs/guides/ui.md.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect import artifacts
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import MissingContextError
from prefect.filesystems import LocalFileSystem
from prefect.logging import get_run_logger

from prefect_pdfco._exceptions import (
    JobAborted,
    JobError,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    PdfcoAPIError,
    escape_control,
)
from prefect_pdfco.models import JobResult, JobSubmission

logger = logging.getLogger("prefect_pdfco")
CHECK_CREDITS = 2  # what one job check costs, as PDF.co documents it
#: True while a batch works its documents: lines about one document go to DEBUG, no artifact per result.
quiet_items: ContextVar[bool] = ContextVar("pdfco_quiet_items", default=False)


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The run logger inside Prefect runs (lines reach the UI), else the package's logger."""
    try:
        run = get_run_logger()
    except MissingContextError:
        return logger
    if quiet_items.get() and isinstance(run, logging.LoggerAdapter):
        return _ItemsAtDebug(run.logger, run.extra)
    return run


class _ItemsAtDebug(logging.LoggerAdapter[Any]):
    info = logging.LoggerAdapter.debug  # a batch says one line for the lot, not one per document


class _StillWorkingReadsAsWaiting(logging.Filter):
    """Prefect's "Task run failed with exception: JobStillWorking(...)" for a job not done yet, said as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) >= 2 and isinstance(args[1], JobStillWorking):
            when = re.sub(r"(\d+\.\d)\d+", r"\1", str(args[-1]))  # Prefect's jittered delay, to a tenth of a second
            record.msg, record.args = "%s; checking again %s", (str(args[1]).split(" (check")[0], when)
        return True


logging.getLogger("prefect.task_runs").addFilter(_StillWorkingReadsAsWaiting())


@dataclass
class JobRow:
    """One job as the jobs table shows it."""

    job_id: str
    operation: str
    document: str = ""
    status: str = "submitted"
    pages: int | None = None
    credits: int = 0
    checks: int = 0
    seconds: float | None = None
    remaining_credits: int | None = None
    files: list[tuple[str, int]] = field(default_factory=list)
    error: str = ""
    submitted: bool = False  # by this process (a row a check made for a job id given to a wait stays False)

    @property
    def total_credits(self) -> int:
        return self.credits + self.checks * CHECK_CREDITS

    def row(self) -> dict[str, Any]:
        # The reason next to the status: on a 1280 px screen, columns after the fifth need a sideways scroll.
        return {
            "document": self.document or self.job_id[:10],
            "status": self.status,
            "error": self.error[:80],
            "operation": self.operation,
            "pages": self.pages,
            "credits": self.total_credits,
            "checks": self.checks,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
        }


@dataclass
class _Ledger:
    rows: OrderedDict[str, JobRow] = field(default_factory=OrderedDict)
    low_credit_alerted: set[str] = field(default_factory=set)


_ledgers: OrderedDict[str, _Ledger] = OrderedDict()
_lock = threading.Lock()


#: The flow run that called our flows as subflows: their jobs join its table (set by ``PdfcoFlow``).
root_flow_run: ContextVar[str | None] = ContextVar("pdfco_root_flow_run", default=None)


def _flow_run() -> tuple[str, str] | None:
    """(this flow run's id, the id of the flow run whose jobs table it joins)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return None
    return str(ctx.flow_run.id), root_flow_run.get() or str(ctx.flow_run.id)


def _ledger() -> _Ledger | None:
    run = _flow_run()
    if run is None:
        return None
    with _lock:
        ledger = _ledgers.pop(run[1], None) or _Ledger()
        _ledgers[run[1]] = ledger  # the most recently used last: the oldest go first
        while len(_ledgers) > 256:
            _ledgers.popitem(last=False)
    return ledger


def row_of(job_id: str, operation: str = "job") -> JobRow:
    """The job's row in the current flow run's table (a detached row outside flow runs)."""
    ledger = _ledger()
    if ledger is None:
        return JobRow(job_id, operation)
    with _lock:
        return ledger.rows.setdefault(job_id, JobRow(job_id, operation))


def submitted_jobs() -> list[JobRow]:
    """Every job this process submitted in the flow runs it still remembers, oldest first (what was paid for)."""
    with _lock:
        return [row for ledger in _ledgers.values() for row in ledger.rows.values() if row.submitted]


def document_label(params: Mapping[str, Any]) -> str:
    """How logs and run names call a document: its output ``name``, else its input's file name, else nothing."""
    named = params.get("name") or params.get("url") or params.get("urls") or ""
    named = (named[0] if named else "") if isinstance(named, (list, tuple)) else named
    text = named if isinstance(named, str) else ""  # a future or an object: nothing readable yet
    return text.split(",")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1][:60]


def document_of(job_id: str) -> str:
    """How the UI names a job: its document (an output name, an input file, a batch item), else its id's start."""
    return row_of(job_id).document or job_id[:10]


async def publish_table() -> None:
    """Writes the jobs table of the current (root) flow run as its "pdfco-jobs" artifact."""
    run, ledger = _flow_run(), _ledger()
    if run is None or ledger is None or not ledger.rows:
        return
    with _lock:
        rows = sorted(ledger.rows.values(), key=lambda row: row.status in ("succeeded", "submitted"))  # failed first
    failed, count = sum(1 for row in rows if row.error), len(rows)
    files = [size for row in rows for _, size in row.files]
    balances = [row.remaining_credits for row in rows if row.remaining_credits is not None]
    # The Artifacts tab shows a card's first words only: they say whether anything failed.
    head = f"{failed} of {count} document(s) failed, listed first" if failed else f"{count} document(s), none failed"
    work, checks = sum(row.credits for row in rows), sum(row.checks for row in rows) * CHECK_CREDITS
    description = f"{head}; {work} credits of work, {checks} of checks."
    description += f" {min(balances)} credits left." if balances else ""
    description += f" Downloaded {len(files)} file(s), {sum(files):,} bytes." if files else ""
    table = json.dumps([row.row() for row in rows])
    artifact = ArtifactCreate(
        type="table", key="pdfco-jobs", description=description, data=table, flow_run_id=UUID(run[1])
    )
    async with get_client() as client:
        await _safely(client.create_artifact(artifact))


async def _safely(awaitable: Any) -> Any:
    try:
        return await awaitable
    except Exception:  # the UI must never fail the work
        logger.debug("could not write a Prefect artifact", exc_info=True)
        return None


_KINDS: Sequence[type[JobError]] = (JobAborted, JobTimeout, JobNotFound, JobError)
EVENT_BY_ERROR = tuple(
    zip(_KINDS, ("pdfco.job.aborted", "pdfco.job.timed-out", "pdfco.job.not-found", "pdfco.job.failed"), strict=True)
)
ADVICE = {
    "pdfco.job.failed": "Check the input (damaged? password-protected? reachable by PDF.co?) and the parameters.",
    "pdfco.job.aborted": "Run it again; if it keeps happening, contact PDF.co support with the job id.",
    "pdfco.job.timed-out": "The job may still finish: pass its id to wait_for_job later instead of paying again.",
    "pdfco.job.not-found": "PDF.co does not know this job (a typo, another account, or an expired job).",
}


def _emit(event: str, row: JobRow, **payload: Any) -> None:
    if _flow_run() is None:
        return  # outside a run nobody listens, and emitting would start a temporary server
    what = f"{row.document} ({row.operation.replace('_', ' ')})" if row.document else row.operation.replace("_", " ")
    message = payload.get("message")
    name = f"PDF.co job {row.job_id[:10]}: {what}" + (f": {message}"[:200] if message else "")
    resource = {"prefect.resource.id": f"pdfco.job.{row.job_id}", "prefect.resource.name": name}
    facts = {"job_id": row.job_id, "operation": row.operation, "document": row.document, "checks": row.checks}
    _emit_safely(event, resource, {**facts, "credits": row.total_credits, **payload})


def _emit_safely(event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
    try:
        emit_event(event, resource=resource, payload=payload)
    except Exception:  # the UI must never fail the work
        logger.debug("could not emit %s", event, exc_info=True)


def note_balance(remaining: int | None, threshold: int | None, account: str) -> None:
    """``pdfco.credits.low`` once per flow run and account when the balance falls under ``threshold``."""
    ledger = _ledger()
    low = remaining is not None and threshold is not None and remaining < threshold
    if not low or ledger is None or account in ledger.low_credit_alerted:
        return
    ledger.low_credit_alerted.add(account)
    resource = {"prefect.resource.id": f"pdfco.account.{account}", "prefect.resource.name": account}
    _emit_safely("pdfco.credits.low", resource, {"remaining_credits": remaining, "threshold": threshold})


def submitted(
    job: JobSubmission, operation: str, document: str | None, *, account: str, threshold: int | None = None
) -> None:
    """A job was submitted: one log line (never the parameters), its row, its event."""
    row = row_of(job.job_id, operation)
    row.operation, row.document, row.submitted = operation, document or row.document, True
    row.credits += job.credits or 0
    row.remaining_credits = job.remaining_credits
    left = job.remaining_credits if job.remaining_credits is not None else "?"
    run_logger().info("Submitted %s as job %s (%s credits left)", row.document or operation, job.job_id, left)
    if not quiet_items.get():
        _emit("pdfco.job.submitted", row)
    note_balance(job.remaining_credits, threshold, account)


class Observer:
    """What a wait tells the UI (a ``_waiting.WaitObserver``): each check counted, each end told once."""

    def __init__(self, *, link_artifacts: bool = True, publish: bool = False) -> None:
        self.link_artifacts = link_artifacts and not quiet_items.get()
        self.publish = publish  # refresh the jobs table when the job ends (a single wait)

    def checked(self, job_id: str, result: JobResult | None) -> None:
        row = row_of(job_id)
        row.checks += 1
        if result is not None:
            # Under PDF.co's older billing, the check that first reports success also bills the remaining pages.
            row.credits += max(0, (result.credits or 0) - CHECK_CREDITS)
            row.remaining_credits = result.remaining_credits or row.remaining_credits
            row.status = result.status.value

    async def ended(self, job_id: str, outcome: JobResult | JobError, checks: int, waited: float) -> None:
        row = row_of(job_id)
        row.seconds = waited
        what = row.document or f"job {job_id}"
        if isinstance(outcome, JobResult):
            row.status, row.pages = "succeeded", outcome.page_count
            done = f"{what} is done: job {job_id}" if row.document else f"{what} is done"
            run_logger().info("%s, %d check(s), %.1f s", done, checks, waited)
            _emit("pdfco.job.succeeded", row, pages=outcome.page_count)
            if self.link_artifacts and outcome.url and _flow_run() is not None:
                until = outcome.output_link_valid_till
                valid = f"valid until {until:%Y-%m-%d %H:%M} UTC" if until else "valid for about an hour"
                text = f"{what} ({row.operation.replace('_', ' ')})"
                about = f"Result of {what}: PDF.co job `{job_id}`; the link is {valid}."
                await _safely(artifacts.acreate_link_artifact(link=outcome.url, link_text=text, description=about))
        else:
            event = next(name for kind, name in EVENT_BY_ERROR if isinstance(outcome, kind))
            row.status, row.error = event.rsplit(".", 1)[-1], outcome.message or str(outcome)
            run_logger().warning("%s did not succeed: %s", what, escape_control(str(outcome)))
            _emit(event, row, message=row.error)
            if _flow_run() is not None and not quiet_items.get():
                code, why = outcome.status or "-", f"Why {what} did not succeed"
                markdown = f"## {what}: {row.status}\n\n| | |\n|---|---|\n| job | `{job_id}` |\n"
                markdown += f"| operation | `{row.operation}` |\n| status | `{code}` |\n"
                markdown += f"| PDF.co says | {row.error.replace('|', '/')} |\n\n**What to do:** {ADVICE[event]}\n"
                await _safely(artifacts.acreate_markdown_artifact(markdown=markdown, description=why))
        if self.publish:
            await publish_table()


async def results_artifact(results: Sequence[JobResult | JobError], checks: int, seconds: float) -> None:
    """Many jobs ended (``wait_for_jobs``): one log line and one artifact of result links for the lot."""
    failed = Counter(type(result).__name__ for result in results if not isinstance(result, JobResult))
    line = f"{len(results) - sum(failed.values())} of {len(results)} job(s) succeeded"
    line += " (" + ", ".join(f"{n} {name}" for name, n in sorted(failed.items())) + ")" if failed else ""
    run_logger().info("%s after %d check(s), %.1f s", line, checks, seconds)
    done = [result for result in results if isinstance(result, JobResult) and result.url]
    if _flow_run() is not None and done:
        rows = "\n".join(f"| {document_of(r.job_id)} | `{r.job_id}` | [result]({r.url}) |" for r in done[:500])
        description = f"Results of {len(done)} PDF.co job(s) of {len(results)}; the links expire (about an hour)."
        markdown = f"| document | job | link |\n|---|---|---|\n{rows}"
        await _safely(artifacts.acreate_markdown_artifact(markdown=markdown, description=description))


def downloaded(job_id: str | None, name: str, size: int) -> None:
    """A result file landed: add it to its job's row."""
    if job_id is not None:
        row_of(job_id).files.append((name, size))


def failure_line(error: BaseException) -> str:
    """A typed error as the UI tells it: its class and message, control characters escaped."""
    code = f" ({error.error_code})" if isinstance(error, PdfcoAPIError) else ""
    return escape_control(f"{type(error).__name__}{code}: {error}")


_warned_local, _pools_read = False, set[str]()  # each work pool is asked about once per process, not per submit


async def warn_if_records_are_local(storage: object) -> None:
    """Once per process: records on this machine's disk protect nothing when a run is re-run on another machine."""
    global _warned_local
    ctx = FlowRunContext.get()
    if _warned_local or ctx is None or ctx.flow_run is None or not isinstance(storage, LocalFileSystem):
        return
    runner = type(ctx.task_runner).__name__ if ctx.task_runner is not None else ""
    elsewhere = runner not in ("", "ThreadPoolTaskRunner", "ProcessPoolTaskRunner") and f"tasks run on {runner}"
    if not elsewhere and ctx.flow_run.work_pool_name and ctx.flow_run.work_pool_name not in _pools_read:
        _pools_read.add(ctx.flow_run.work_pool_name)
        async with get_client() as client:
            pool = await _safely(client.read_work_pool(ctx.flow_run.work_pool_name))
        kind = getattr(pool, "type", "process")
        elsewhere = kind != "process" and f"the work pool {ctx.flow_run.work_pool_name!r} is of type {kind!r}"
    if elsewhere:
        _warned_local = True
        text = "Submit records (what keeps a re-run from paying twice) are on this machine's disk, but %s: a crashed "
        run_logger().warning(text + "run re-run elsewhere would not find them. Use shared result storage.", elsewhere)


class Progress:
    """A progress artifact for a long wait or a batch, updated at most once a second; never failing the work."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.done, self.description = max(total, 1), 0, description
        self._id: Any = None
        self._shown_at = 0.0

    async def start(self) -> None:
        if _flow_run() is not None:
            self._id = await _safely(artifacts.acreate_progress_artifact(0.0, description=self.description))

    async def advance(self, count: int = 1, *, force: bool = False) -> None:
        self.done = min(self.total, self.done + count)
        if self._id is not None and (force or time.monotonic() - self._shown_at >= 1.0):
            self._shown_at = time.monotonic()
            await _safely(artifacts.aupdate_progress_artifact(self._id, 100.0 * self.done / self.total))
