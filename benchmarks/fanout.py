"""What a batch costs: ``run_batch`` and the typed tasks beside what a Prefect user would write instead.

Without ``--compare`` (waiting only): N jobs of a few seconds each are submitted to an in-process emulator and
waited for three ways under a Prefect test harness: ``wait_for_jobs`` (one task run), ``wait_for_job`` per job
gathered in an async flow, and ``check_job.submit()`` per job in a sync flow (Prefect retries on the thread-pool
runner, the trigger-and-wait pattern). Printed: wall time, job checks billed (2 credits each), and task runs.

Run: python benchmarks/fanout.py [--jobs 20] [--job-seconds 3]

With ``--compare``, whole batches (submit, wait, every PDF landed on disk), each way a fresh ``python`` process
timed from outside (wall from its start to its exit; CPU as the kernel counted it for that process; peak RSS), so
every way pays its imports and, where it uses Prefect, its flow start. The emulator (jobs of 3 s) and a
``prefect server start`` run in processes of their own, started before any clock. The ways, interleaved:

- ``httpx``: plain asyncio + httpx, no Prefect (``raw_batch.py``);
- ``httpx in @flow``: the same loop inside the user's own ``@flow`` (``raw_batch.py --flow``): THE yardstick;
- ``run_batch``: ``await run_batch.aio(...)`` inside the user's ``@flow``;
- ``typed .map``: a sync ``@flow``: ``html_to_pdf.map(...)``, ``wait_for_jobs``, ``download_results``;
- ``typed .aio``: an async ``@flow``: ``html_to_pdf.aio(...)`` gathered, ``wait_for_jobs``, ``download_results``.

Printed per way and size: best and worst wall time of ``--rounds``, the ratios of the best to the in-flow loop's
best (wall and CPU) and to plain httpx, files landed, failures, peak RSS and the load average.

Run: python benchmarks/fanout.py --compare [--sizes 200 1000] [--typed-sizes 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
API_KEY = "test-key"
HTML = {"html": "<p>fan-out</p>"}
ENDPOINT = "/v1/pdf/convert/from/html"


# --- waiting only (in-process, test harness) ----------------------------------------------------------------


def waiting_only(jobs: int, job_seconds: float) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from uuid import UUID

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.context import get_run_context
    from prefect.testing.utilities import prefect_test_harness

    from pdfco_emulator import PdfcoEmulator
    from prefect_pdfco import PdfcoCredentials, check_job, submit_job, wait_for_job, wait_for_jobs
    from prefect_pdfco.testing import credentials_for

    def run_id() -> UUID:
        return get_run_context().flow_run.id  # type: ignore[union-attr]

    def one_poller(credentials: PdfcoCredentials) -> UUID:
        @flow
        def batch() -> UUID:
            ids = [submit_job(credentials, ENDPOINT, HTML).job_id for _ in range(jobs)]
            wait_for_jobs(credentials, ids)
            return run_id()

        return batch()

    def gathered_waits(credentials: PdfcoCredentials) -> UUID:
        @flow
        async def batch() -> UUID:
            ids = [(await submit_job.aio(credentials, ENDPOINT, HTML)).job_id for _ in range(jobs)]
            await asyncio.gather(*(wait_for_job.aio(credentials, job_id) for job_id in ids))
            return run_id()

        return asyncio.run(batch())

    def submitted_checks(credentials: PdfcoCredentials) -> UUID:
        @flow
        def batch() -> UUID:
            ids = [submit_job(credentials, ENDPOINT, HTML).job_id for _ in range(jobs)]
            futures = [check_job.submit(credentials, job_id) for job_id in ids]
            [future.result() for future in futures]
            return run_id()

        return batch()

    ways: dict[str, Callable[[PdfcoCredentials], UUID]] = {
        "wait_for_jobs (one poller)": one_poller,
        "wait_for_job x N, gathered": gathered_waits,
        "check_job.submit() x N": submitted_checks,
    }
    print(f"{jobs} jobs of {job_seconds:g} s each; load average {os.getloadavg()[0]:.1f} (2 cores shared)")
    print(f"{'way':>28} | {'seconds':>7} | {'checks':>6} | {'credits':>7} | {'task runs':>9}")
    with prefect_test_harness(server_startup_timeout=120):
        for name, way in ways.items():
            with PdfcoEmulator(job_duration=job_seconds) as emulator:
                started = time.perf_counter()
                flow_run_id = way(credentials_for(emulator))
                seconds = time.perf_counter() - started
                with get_client(sync_client=True) as client:
                    runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
                checks = emulator.stats()["job_checks"]
                print(f"{name:>28} | {seconds:7.1f} | {checks:6d} | {2 * checks:7d} | {len(runs):9d}")


# --- whole batches, one process per way ---------------------------------------------------------------------


def _documents(jobs: int) -> list[dict[str, Any]]:
    return [{"html": f"<h1>Document {n}</h1>", "name": f"doc-{n}.pdf"} for n in range(jobs)]


def run_one(way: str, base_url: str, jobs: int, output: str) -> None:
    """In a fresh process: one way over N documents; prints failures and files landed as JSON."""
    from prefect import flow

    from prefect_pdfco import PdfcoCredentials, download_results, html_to_pdf, wait_for_jobs
    from prefect_pdfco.flows import run_batch

    credentials = PdfcoCredentials(api_key=API_KEY, base_url=base_url)
    documents = _documents(jobs)

    @flow(name="user-batch")
    async def with_run_batch(out: str) -> int:
        return len((await run_batch.aio(credentials, "html_to_pdf", documents, out)).failed)

    @flow(name="user-typed-map")
    def typed_map(out: str) -> int:
        submitted = html_to_pdf.map(
            credentials, [doc["html"] for doc in documents], name=[doc["name"] for doc in documents]
        )
        results = wait_for_jobs(credentials, submitted.result())
        return sum(isinstance(file, Exception) for file in download_results(results, out))

    @flow(name="user-typed-aio")
    async def typed_aio(out: str) -> int:
        jobs = await asyncio.gather(*(html_to_pdf.aio(credentials, d["html"], name=d["name"]) for d in documents))
        results = await wait_for_jobs.aio(credentials, list(jobs))
        return sum(isinstance(file, Exception) for file in await download_results.aio(results, out))

    if way == "run_batch":
        failed = asyncio.run(with_run_batch(output))
    elif way == "typed-map":
        failed = typed_map(output)
    else:
        failed = asyncio.run(typed_aio(output))
    landed = sum(1 for path in Path(output).iterdir() if path.suffix == ".pdf")
    print(json.dumps({"failed": failed, "landed": landed}))


#: way -> (label, the command after ``python``)
WAYS: dict[str, tuple[str, list[str]]] = {
    "httpx": ("httpx, no Prefect", [str(HERE / "raw_batch.py")]),
    "loop": ("httpx in @flow", [str(HERE / "raw_batch.py"), "--flow"]),
    "run_batch": ("run_batch", [__file__, "--one", "run_batch"]),
    "typed-map": ("typed .map", [__file__, "--one", "typed-map"]),
    "typed-aio": ("typed .aio", [__file__, "--one", "typed-aio"]),
}


def compare(sizes: list[int], typed_sizes: list[int], job_seconds: float, rounds: int) -> None:
    sys.path.insert(0, str(HERE))
    from _standalone import prefect_env, prefect_server, run_timed, standalone_emulator, warm_bytecode

    options = ["--job-duration", str(job_seconds), "--credits", "100000000"]
    with (
        standalone_emulator(API_KEY, *options) as base_url,
        prefect_server() as api_url,
        tempfile.TemporaryDirectory(prefix="pdfco-fanout-") as work,
    ):
        env = prefect_env(Path(work) / "home", api_url)
        warm_bytecode(env)
        print(f"jobs of {job_seconds:g} s; emulator at {base_url}, Prefect API at {api_url}, each in its own process")
        print(f"{rounds} round(s), interleaved; load average at start {os.getloadavg()[0]:.1f} (2 cores shared)")
        print(
            f"{'way':>17} | {'docs':>5} | {'wall best-worst s':>17} | {'x loop':>6} | {'x httpx':>7} | "
            f"{'CPU best-worst s':>16} | {'CPU x loop':>10} | {'landed':>6} | {'failed':>6} | {'RSS MB':>6} | load"
        )
        for jobs in sorted(set(sizes) | set(typed_sizes)):
            ways = ["httpx", "loop"] + (["run_batch"] if jobs in sizes else [])
            ways += ["typed-map", "typed-aio"] if jobs in typed_sizes else []
            seen: dict[str, list[Any]] = {way: [] for way in ways}
            for _ in range(rounds):
                for way in ways:
                    with tempfile.TemporaryDirectory(prefix="pdfco-out-") as output:
                        command = [sys.executable, *WAYS[way][1], "--base-url", base_url, "--jobs", str(jobs)]
                        timed = run_timed([*command, "--output", output], env=env)
                    if timed.returncode != 0:
                        print(f"{way} failed ({timed.returncode}):\n{timed.stderr[-3000:]}", file=sys.stderr)
                    seen[way].append((timed, os.getloadavg()[0]))
            best = {way: min(runs, key=lambda run: run[0].wall)[0] for way, runs in seen.items()}
            cpu_best = {way: min(run[0].cpu for run in runs) for way, runs in seen.items()}
            for way, runs in seen.items():
                walls = sorted(run[0].wall for run in runs)
                cpus = sorted(run[0].cpu for run in runs)
                out = best[way].output
                print(
                    f"{WAYS[way][0]:>17} | {jobs:5d} | {walls[0]:8.1f}-{walls[-1]:<8.1f} | "
                    f"{walls[0] / best['loop'].wall:6.2f} | {walls[0] / best['httpx'].wall:7.2f} | "
                    f"{cpus[0]:7.1f}-{cpus[-1]:<8.1f} | {cpu_best[way] / cpu_best['loop']:10.2f} | "
                    f"{out.get('landed', -1):6d} | {out.get('failed', -1):6d} | {best[way].rss_mb:6.0f} | "
                    f"{max(load for _, load in runs):.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--job-seconds", type=float, default=3.0)
    parser.add_argument("--compare", action="store_true", help="whole batches, one process per way")
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000])
    parser.add_argument("--typed-sizes", type=int, nargs="*", default=[200])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", choices=["run_batch", "typed-map", "typed-aio"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.base_url, args.jobs, args.output)
    elif args.compare:
        compare(args.sizes, args.typed_sizes, args.job_seconds, args.rounds)
    else:
        waiting_only(args.jobs, args.job_seconds)
