"""Jobs: submit a billed PDF.co job once, check it, wait for it.

- ``tasks``: the public tasks ``submit_job``, ``check_job``, ``wait_for_job``, ``wait_for_jobs``;
- ``submit`` and ``keys``: the one submit path, its crash-safe record and cache keys;
- ``wait``: the verdict on one check and the polling loops; ``schedule``: how often to check, as data.
"""

from __future__ import annotations

from prefect_pdfco.jobs.tasks import (
    CHECK_JOB_RETRIES,
    CHECK_JOB_RETRY_DELAYS,
    SUBMIT_TASK_OPTIONS,
    SubmitCachePolicy,
    check_job,
    submit_job,
    wait_for_job,
    wait_for_jobs,
)

__all__ = [
    "CHECK_JOB_RETRIES",
    "CHECK_JOB_RETRY_DELAYS",
    "SUBMIT_TASK_OPTIONS",
    "SubmitCachePolicy",
    "check_job",
    "submit_job",
    "wait_for_job",
    "wait_for_jobs",
]
