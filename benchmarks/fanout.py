"""Waiting for a batch: one poller (`wait_for_jobs`) against one waiting task per job.

N jobs of a few seconds each are submitted to the emulator and waited for three ways, under a real Prefect
API (a test harness server): `wait_for_jobs` (one task run, one connection), `wait_for_job` per job gathered in
an async flow, and `check_job.submit()` per job in a sync flow (Prefect retries on the thread-pool runner, the
trigger-and-wait pattern). Printed: wall time, job checks billed (2 credits each), and task runs created.

Run: python benchmarks/fanout.py [--jobs 20] [--job-seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.context import get_run_context
from prefect.testing.utilities import prefect_test_harness

from prefect_pdfco import PdfcoCredentials, check_job, submit_job, wait_for_job, wait_for_jobs
from prefect_pdfco.testing import PdfcoEmulator

HTML = {"html": "<p>fan-out</p>"}


def _run_id() -> UUID:
    return get_run_context().flow_run.id  # type: ignore[union-attr]


def task_runs_of(flow_run_id: UUID) -> int:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return len(runs)


def one_poller(credentials: PdfcoCredentials, jobs: int) -> UUID:
    @flow
    def batch() -> UUID:
        ids = [submit_job(credentials, "/v1/pdf/convert/from/html", HTML).job_id for _ in range(jobs)]
        wait_for_jobs(credentials, ids)
        return _run_id()

    return batch()


def gathered_waits(credentials: PdfcoCredentials, jobs: int) -> UUID:
    @flow
    async def batch() -> UUID:
        ids = [(await submit_job(credentials, "/v1/pdf/convert/from/html", HTML)).job_id for _ in range(jobs)]
        await asyncio.gather(*(wait_for_job(credentials, job_id) for job_id in ids))
        return _run_id()

    return asyncio.run(batch())


def submitted_checks(credentials: PdfcoCredentials, jobs: int) -> UUID:
    @flow
    def batch() -> UUID:
        ids = [submit_job(credentials, "/v1/pdf/convert/from/html", HTML).job_id for _ in range(jobs)]
        futures = [check_job.submit(credentials, job_id) for job_id in ids]
        [future.result() for future in futures]
        return _run_id()

    return batch()


def main(jobs: int, job_seconds: float) -> None:
    ways: dict[str, Callable[[PdfcoCredentials, int], Any]] = {
        "wait_for_jobs (one poller)": one_poller,
        "wait_for_job x N, gathered": gathered_waits,
        "check_job.submit() x N": submitted_checks,
    }
    print(f"{jobs} jobs of {job_seconds:.0f} s each")
    print(f"{'way':>28} | {'seconds':>7} | {'checks':>6} | {'credits':>7} | {'task runs':>9}")
    with prefect_test_harness(server_startup_timeout=120):
        for name, way in ways.items():
            with PdfcoEmulator(job_duration=job_seconds) as emulator:
                started = time.perf_counter()
                flow_run_id = way(emulator.credentials(), jobs)
                seconds = time.perf_counter() - started
                task_runs = task_runs_of(flow_run_id)
                checks = emulator.stats()["job_checks"]
                print(f"{name:>28} | {seconds:7.1f} | {checks:6d} | {2 * checks:7d} | {task_runs:9d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--job-seconds", type=float, default=3.0)
    args = parser.parse_args()
    main(args.jobs, args.job_seconds)
