"""What the Prefect UI shows of PDF.co work: events and artifacts (the jobs table is in ``ui.ledger``).

- Events ``pdfco.job.submitted|succeeded|failed|aborted|timed-out|not-found`` with resource
  ``pdfco.job.<job_id>`` (named after the operation), so automations can act on them; inside ``run_batch`` the
  submits are announced together (``pdfco.batch.submitted``, ``BatchSubmits``) while each end keeps its event;
  ``pdfco.credits.low`` when the balance falls under the credentials block's ``low_credits_threshold``.
- A link artifact per result (with its expiry) of ``check_job`` and ``wait_for_job``; ``wait_for_jobs`` makes one
  markdown artifact with every result link instead (``record_results``: one Prefect API call, not one per job),
  and ``run_batch`` none (see ``ui.logs.per_item_quiet``); a markdown artifact per failure (PDF.co's message and
  what to do), and one table artifact per flow run that sums up every job: what the work cost and what the
  waiting cost, separately.

Nothing here may fail a task: the UI is a view of the work, not part of it. Errors are logged at debug level.
Nothing here holds a secret: no API key, no request parameters; links appear only in link artifacts (they are
the result), never in events, tables or logs (host and path only).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prefect.artifacts import (
    acreate_link_artifact,
    acreate_markdown_artifact,
    acreate_progress_artifact,
    aupdate_progress_artifact,
)
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
from prefect_pdfco.ui.ledger import (
    CHECK_CREDITS,
    JobRecord,
    first_low_credit_alert,
    flow_run_id,
    publish_summary,
    record_of,
    safely,
)
from prefect_pdfco.ui.logs import per_item_quiet, run_logger

if TYPE_CHECKING:
    from prefect_pdfco.client import PdfcoClient

__all__ = [
    "CHECK_CREDITS",
    "BatchSubmits",
    "Progress",
    "note_balance",
    "operation_name",
    "record_check",
    "record_download",
    "record_failure",
    "record_results",
    "record_submission",
    "record_success",
    "slug",
]

logger = logging.getLogger("prefect_pdfco")


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


def operation_name(endpoint: str) -> str:
    """``/v1/pdf/convert/from/html`` -> ``pdf/convert/from/html``: how events and tables name an operation."""
    return re.sub(r"^/?v\d+/", "", endpoint.strip()).strip("/") or endpoint


def _emit(event: str, record: JobRecord, **payload: Any) -> None:
    # Outside a flow or task run there is no one to tell, and emitting would start an ephemeral Prefect server.
    if flow_run_id() is None:
        return
    # The Event feed shows the resource name: "PDF.co job 1a2b (html to pdf)" rather than a bare "html_to_pdf".
    operation = record.operation.replace("_", " ")
    name = f"PDF.co job {record.job_id}" + (f" ({operation})" if operation and operation != "job" else "")
    try:
        emit_event(
            event,
            resource={"prefect.resource.id": f"pdfco.job.{record.job_id}", "prefect.resource.name": name},
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
    if remaining is None or threshold is None or remaining >= threshold or flow_run_id() is None:
        return
    account = client.base_url.host
    if not first_low_credit_alert(account):
        return
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
    record = record_of(submission.job_id, operation)
    if record is None:
        record = JobRecord(job_id=submission.job_id, operation=operation)
    record.job_credits += submission.credits or 0
    record.remaining_credits = submission.remaining_credits
    if not per_item_quiet.get():  # a batch announces its submits together: see BatchSubmits
        _emit("pdfco.job.submitted", record)


class BatchSubmits:
    """A batch's submits, announced together: ``pdfco.batch.submitted`` with the job ids submitted since the
    last one, at most once per ``interval`` seconds (and at most ``most`` ids per event), rather than one
    ``pdfco.job.submitted`` per document. Each job's end keeps its own event.

    Args:
        batch_id: Names the batch in the event's resource (``pdfco.batch.<batch_id>``): its task run id.
        operation: The catalogue name of the operation.
    """

    def __init__(self, batch_id: str, operation: str, *, interval: float = 1.0, most: int = 100) -> None:
        self.batch_id, self.operation, self.interval, self.most = batch_id, operation, interval, most
        self.pending: list[str] = []
        self.announced_at = time.monotonic()

    def add(self, job_id: str) -> None:
        """Notes a submitted job; announces the pending ones if ``interval`` passed or ``most`` are pending."""
        self.pending.append(job_id)
        if len(self.pending) >= self.most or time.monotonic() - self.announced_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Announces the pending jobs, if any."""
        job_ids, self.pending, self.announced_at = self.pending, [], time.monotonic()
        if not job_ids or flow_run_id() is None:
            return
        try:
            emit_event(
                "pdfco.batch.submitted",
                resource={
                    "prefect.resource.id": f"pdfco.batch.{self.batch_id}",
                    "prefect.resource.name": f"PDF.co batch ({self.operation.replace('_', ' ')})",
                },
                payload={"operation": self.operation, "count": len(job_ids), "job_ids": job_ids},
            )
        except Exception:  # the UI must never fail the work
            logger.debug("could not emit pdfco.batch.submitted", exc_info=True)


def record_check(job_id: str, result: JobResult | None) -> JobRecord:
    """One job check was made (2 credits): count it, and note the balance it reported."""
    record = record_of(job_id) or JobRecord(job_id=job_id, operation="job")
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
    record = record_of(result.job_id) or JobRecord(job_id=result.job_id, operation="job")
    record.status = result.status.value
    record.pages = result.page_count
    record.duration_seconds = waited_seconds
    _emit("pdfco.job.succeeded", record, pages=result.page_count)
    if flow_run_id() is None or not result.url or per_item_quiet.get():
        return
    valid_till = (
        f"valid until {result.output_link_valid_till.isoformat(timespec='seconds')}"
        if result.output_link_valid_till
        else "valid for about 60 minutes (PDF.co's default)"
    )
    await safely(
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
    record = record_of(job_id) or JobRecord(job_id=job_id, operation="job")
    record.status = event.rsplit(".", 1)[-1]
    record.duration_seconds = waited_seconds
    message = getattr(error, "message", "") or str(error)
    _emit(event, record, message=message)
    if flow_run_id() is None:
        return
    code = f"{error.error_code}" if isinstance(error, PdfcoAPIError) else (getattr(error, "status", None) or "-")
    await safely(
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


#: The result links one ``record_results`` artifact lists; the rest are in the results the task returned.
RESULT_LINKS_LISTED = 500


async def record_results(results: Sequence[JobResult | PdfcoError], checks: int, seconds: float) -> None:
    """Many jobs ended (``wait_for_jobs``): one log line and one markdown artifact with the result links, rather
    than a line and a link artifact (a Prefect API call) per job."""
    failed = Counter(type(result).__name__ for result in results if not isinstance(result, JobResult))
    line = f"{len(results) - sum(failed.values())} of {len(results)} job(s) succeeded"
    if failed:
        line += " (" + ", ".join(f"{count} {name}" for name, count in sorted(failed.items())) + ")"
    run_logger().info("%s after %d check(s) (%d credits), %.1f s", line, checks, checks * CHECK_CREDITS, seconds)
    done = [result for result in results if isinstance(result, JobResult) and result.url]
    if flow_run_id() is None or not done:
        return
    rows = [
        f"| `{result.job_id}` | [{safe_url(result.url or '').rsplit('/', 1)[-1] or 'result'}]({result.url}) |"
        for result in done[:RESULT_LINKS_LISTED]
    ]
    more = len(done) - len(rows)
    tail = f"\n\n{more} more in the results the task returned." if more > 0 else ""
    expiries = [result.output_link_valid_till for result in done if result.output_link_valid_till]
    valid = (
        f"valid until {min(expiries).isoformat(timespec='seconds')} or later"
        if expiries
        else "valid for about 60 minutes (PDF.co's default)"
    )
    await safely(
        # No key, like the per-job links: a card per batch would flood the Artifacts page.
        acreate_markdown_artifact(
            markdown="| job | result |\n|---|---|\n" + "\n".join(rows) + tail,
            description=f"Results of {len(done)} PDF.co job(s) of {len(results)}; the links are {valid}.",
        )
    )


async def record_download(job_id: str | None, name: str, size: int) -> None:
    """A result file landed: add it to its job's row."""
    if job_id is None:
        return
    record = record_of(job_id)
    if record is not None:
        record.files.append((name, size))
        await publish_summary()


class Progress:
    """A progress artifact for a long wait or a batch; updated as jobs finish, never failing the work."""

    def __init__(self, total: int, description: str) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.description = description
        self._artifact_id: Any = None

    async def start(self) -> None:
        if flow_run_id() is not None:
            self._artifact_id = await safely(acreate_progress_artifact(0.0, description=self.description))

    async def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        await self.set(self.done / self.total)

    async def set(self, fraction: float) -> None:
        """Shows ``fraction`` (0 to 1) done."""
        if self._artifact_id is not None:
            await safely(aupdate_progress_artifact(self._artifact_id, 100.0 * min(max(fraction, 0.0), 1.0)))
