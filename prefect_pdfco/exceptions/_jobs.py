"""How a background job ended when it did not succeed, and the signal that it is still working."""

from __future__ import annotations

from prefect_pdfco._redact import escape_control
from prefect_pdfco.exceptions._base import PdfcoError


class JobError(PdfcoError):
    """A background job did not end in success.

    Attributes:
        job_id: PDF.co's job id (opaque string): hand it to ``wait_for_job`` to resume.
        status: The last status PDF.co reported (a ``JobStatus`` value), if any.
        message: PDF.co's message, or ours.
    """

    def __init__(self, job_id: str, message: str = "", *, status: str | None = None) -> None:
        self.job_id = job_id
        self.status = status
        self.message = message
        shown = escape_control(job_id)
        super().__init__(f"PDF.co job {shown}: {message}" if message else f"PDF.co job {shown}")


class JobFailed(JobError):
    """PDF.co reported the job ``failed``; ``message`` holds its reason."""


class JobAborted(JobError):
    """PDF.co reported the job ``aborted``."""


class JobNotFound(JobError):
    """A forced check reported ``unknown``: PDF.co has no job with this id (typo, or expired)."""


class JobTimeout(JobError):
    """The deadline passed while PDF.co still reported ``working``.

    The job may still finish: pass ``job_id`` to ``wait_for_job`` in a later run to pick up its result
    without paying for a new submit.

    Attributes:
        waited_seconds: How long we waited before giving up.
    """

    def __init__(
        self, job_id: str, message: str = "", *, status: str | None = None, waited_seconds: float = 0.0
    ) -> None:
        self.waited_seconds = waited_seconds
        super().__init__(job_id, message, status=status)


class JobStillWorking(PdfcoError):
    """The job is still ``working``: raised by ``check_job`` so that Prefect retries the task.

    Not a ``JobError``: it is a signal, not an outcome, and ``except JobError`` around a wait must not swallow the
    retry. Its attributes are those of ``JobError``.

    Attributes:
        job_id: PDF.co's job id.
        status: The last status PDF.co reported (``working``), if any.
        message: Why it is still working (e.g. the check could not be made).
        check: This check's number, if known.
        checks: The checks allowed, if known.
        next_seconds: The delay before the next check, if known.
    """

    def __init__(
        self,
        job_id: str,
        message: str = "",
        *,
        status: str | None = None,
        check: int | None = None,
        checks: int | None = None,
        next_seconds: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.status = status
        self.message = message
        self.check, self.checks, self.next_seconds = check, checks, next_seconds
        # Prefect prints this after "Task run failed with exception:": it must read as waiting, not as a failure.
        progress = [f"check {check} of {checks}" if check and checks else f"check {check}" if check else ""]
        progress.append(f"next in ~{round(next_seconds)}s" if next_seconds is not None else "")
        where = "; ".join(part for part in progress if part)
        text = f"waiting: PDF.co job {escape_control(job_id)} still working" + (f" ({where})" if where else "")
        super().__init__(text + (f": {message}" if message else ""))
