"""Waiting for a batch: one poller (`wait_for_jobs`) against one waiting task per job.

N jobs of a few seconds each are submitted to the emulator and waited for three ways, under a real Prefect
API (a test harness server): `wait_for_jobs` (one task run, one connection), `wait_for_job` per job gathered in
an async flow, and `check_job.submit()` per job in a sync flow (Prefect retries on the thread-pool runner, the
trigger-and-wait pattern). Printed: wall time, job checks billed (2 credits each), and task runs created.

Run: python benchmarks/fanout.py [--jobs 20] [--job-seconds 3]

With ``--compare``, batches side by side with the plain asyncio + httpx yardstick (``raw_batch.py``): the
emulator runs in its own process (``python -m prefect_pdfco.testing``), each way runs in a fresh process of its
own (so its peak RSS is its own; the Prefect test server is another process, started before the clock), and
each lands every PDF on disk. Printed: wall time, ratio to raw, failures, peak client RSS.

Run: python benchmarks/fanout.py --compare [--sizes 200 1000] [--typed-sizes 200] [--job-seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.context import get_run_context
from prefect.testing.utilities import prefect_test_harness

from prefect_pdfco import (
    PdfcoCredentials,
    check_job,
    download_results,
    html_to_pdf,
    submit_job,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco.flows import run_batch
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
        ids = [(await submit_job.aio(credentials, "/v1/pdf/convert/from/html", HTML)).job_id for _ in range(jobs)]
        await asyncio.gather(*(wait_for_job.aio(credentials, job_id) for job_id in ids))
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


def _documents(jobs: int) -> list[dict[str, Any]]:
    return [{"html": f"<h1>Document {n}</h1>", "name": f"doc-{n}.pdf"} for n in range(jobs)]


def batch_flow(credentials: PdfcoCredentials, jobs: int, output: str) -> int:
    """``run_batch``: one task run whatever N."""
    return len(run_batch(credentials, "html_to_pdf", _documents(jobs), output).failed)


def typed_tasks(credentials: PdfcoCredentials, jobs: int, output: str) -> int:
    """The batch pattern README shows for typed tasks, as written there: in an async flow, the typed task's
    submits gathered, one ``wait_for_jobs``, one ``download_results``."""

    @flow
    async def convert_pages(documents: list[dict[str, Any]], out: str) -> int:
        jobs = await asyncio.gather(*(html_to_pdf.aio(credentials, doc["html"], name=doc["name"]) for doc in documents))
        results = await wait_for_jobs.aio(credentials, [job.job_id for job in jobs])
        files = await download_results.aio(results, out)
        return sum(1 for file in files if isinstance(file, Exception))

    return asyncio.run(convert_pages(_documents(jobs), output))


WAYS: dict[str, Callable[[PdfcoCredentials, int, str], int]] = {"run_batch": batch_flow, "typed": typed_tasks}


def run_one(way: str, base_url: str, jobs: int, output: str) -> None:
    """In a fresh process: one way over N jobs; prints seconds, failures and peak RSS as JSON."""
    credentials = PdfcoCredentials(api_key="test-key", base_url=base_url)
    with prefect_test_harness(server_startup_timeout=120):
        started, cpu = time.perf_counter(), time.process_time()
        failed = WAYS[way](credentials, jobs, output)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    landed = sum(1 for path in Path(output).iterdir() if path.suffix == ".pdf")
    print(json.dumps({"seconds": seconds, "failed": failed, "rss_mb": rss, "cpu_s": cpu, "landed": landed}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _measure(command: list[str]) -> dict[str, Any]:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare(sizes: list[int], typed_sizes: list[int], job_seconds: float) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "prefect_pdfco.testing", "--port", str(port), "--job-duration", str(job_seconds),
         "--credits", "100000000", "--api-key", "test-key"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    here = Path(__file__).parent
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        print(f"jobs of {job_seconds:.0f} s, emulator in its own process at {base_url}")
        print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores shared)")
        print(
            f"{'way':>10} | {'jobs':>5} | {'seconds':>7} | {'x raw':>5} | {'failed':>6} | {'landed':>6} | "
            f"{'client CPU s':>12} | {'RSS MB':>6} | {'load':>4}"
        )
        for jobs in sorted(set(sizes) | set(typed_sizes)):
            ways = ["raw", "run_batch"] if jobs in sizes else ["raw"]
            ways += ["typed"] if jobs in typed_sizes else []
            raw_seconds = 0.0
            for way in ways:
                with tempfile.TemporaryDirectory() as output:
                    if way == "raw":
                        command = [sys.executable, str(here / "raw_batch.py"), "--base-url", base_url]
                    else:
                        command = [sys.executable, __file__, "--one", way, "--base-url", base_url]
                    got = _measure([*command, "--jobs", str(jobs), "--output", output])
                raw_seconds = got["seconds"] if way == "raw" else raw_seconds
                ratio = got["seconds"] / raw_seconds
                print(
                    f"{way:>10} | {jobs:5d} | {got['seconds']:7.1f} | {ratio:5.2f} | {got['failed']:6d} | "
                    f"{got['landed']:6d} | {got['cpu_s']:12.1f} | {got['rss_mb']:6.0f} | {os.getloadavg()[0]:4.1f}",
                    flush=True,
                )
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--job-seconds", type=float, default=3.0)
    parser.add_argument("--compare", action="store_true", help="batches side by side with raw_batch.py")
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000])
    parser.add_argument("--typed-sizes", type=int, nargs="*", default=[200])
    parser.add_argument("--one", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.base_url, args.jobs, args.output)
    elif args.compare:
        compare(args.sizes, args.typed_sizes, args.job_seconds)
    else:
        main(args.jobs, args.job_seconds)
