"""Many flow runs on many workers: a real server, a process work pool, workers and a shared PDF.co rate limit.

``run_on_workers`` is what ``tests/test_scaling_workers.py`` asserts on and ``benchmarks/scaling_workers.py``
times: a ``prefect server start`` of its own, a global concurrency limit with slot decay (the account's rate),
``workers`` ``prefect worker start`` processes on a process work pool (they create it), a deployment of a flow
that runs ``run_batch`` over its documents with the limit named on its credentials block, and ``runs`` flow runs
of it at once, against an emulator account that answers 429 beyond its rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from prefect_pdfco.testing import PdfcoEmulator
from tests._e2e_support import PrefectServer, Processes, prefect_cli, start_prefect_server

__all__ = ["WorkersOutcome", "run_on_workers"]

POOL = "pdfco-scaling"
LIMIT = "pdfco-account"
FLOW_NAME = "pdfco-scaling-batch"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

#: The flow the workers run: every document of the run through run_batch, the account's limit on the block.
FLOW_SOURCE = '''"""One batch of HTML documents to PDF, paced by the global concurrency limit named on the block."""

import os

from prefect import flow

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.flows import run_batch


@flow(name="pdfco-scaling-batch")
def scaling_batch(tag: str, jobs: int) -> int:
    credentials = PdfcoCredentials(
        api_key=os.environ["PDFCO_API_KEY"],
        base_url=os.environ["PDFCO_BASE_URL"],
        rate_limit_name=os.environ.get("PDFCO_RATE_LIMIT_NAME") or None,
    )
    items = [{"html": f"<h1>{tag} {index}</h1>", "name": f"{tag}-{index}.pdf"} for index in range(jobs)]
    return len(run_batch(credentials, "html_to_pdf", items, raise_on_failure=True).items)
'''


@dataclass
class WorkersOutcome:
    """What the flow runs did.

    Attributes:
        states: The final state type of each flow run (``COMPLETED``...).
        workers_used: How many of the workers started at least one flow run.
        seconds: From the first flow run's start to the last one's end, by the server's clocks.
        start_spread: From the first flow run's start to the last one's start.
        stats: The emulator's counters afterwards.
    """

    states: list[str]
    workers_used: int
    seconds: float
    start_spread: float
    stats: dict[str, Any]


def _api(server: PrefectServer, method: str, path: str, **kwargs: Any) -> Any:
    # A server on SQLite answers 503 while its database is locked (the workers are writing): ask again.
    for _ in range(20):
        answer = httpx.request(method, f"{server.api_url}{path}", timeout=30, **kwargs)
        if answer.status_code != 503:
            break
        time.sleep(0.5)
    answer.raise_for_status()
    return answer.json()


def _wait_for_pool(server: PrefectServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{server.api_url}/work_pools/{POOL}", timeout=30).status_code == 200:
            return
        time.sleep(0.5)
    raise RuntimeError(f"no worker created the work pool {POOL} within {timeout:g} s")


def run_on_workers(
    processes: Processes,
    work: Path,
    emulator: PdfcoEmulator,
    *,
    runs: int,
    jobs: int,
    rate: float,
    workers: int = 2,
    global_limit: bool = True,
    timeout: float = 900.0,
) -> WorkersOutcome:
    """Runs ``runs`` flow runs of ``jobs`` documents each on ``workers`` process workers; see the module docstring.

    The emulator must answer 429 beyond ``rate`` requests/s (``PdfcoEmulator(rate_limit=rate)``); the global
    limit gets ``rate`` slots decaying at ``rate`` per second. Without ``global_limit`` the blocks name no limit:
    each process paces itself alone (its adaptive limiter, learning from 429s).
    """
    server = start_prefect_server(processes, work / "prefect-home")
    source = work / "flows"
    source.mkdir(parents=True, exist_ok=True)
    (source / "scaling_flow.py").write_text(FLOW_SOURCE)
    env = server.env(
        PDFCO_API_KEY=emulator.api_key,
        PDFCO_BASE_URL=emulator.base_url,
        PDFCO_RATE_LIMIT_NAME=LIMIT if global_limit else "",
        # Workers ask for work every second (Prefect's default is 10 s), so the runs start together.
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_WORKER_PREFETCH_SECONDS="1",
    )
    # Through the API rather than the CLI: each `prefect ...` command costs seconds of imports.
    _api(
        server,
        "POST",
        "/v2/concurrency_limits/",
        json={"name": LIMIT, "limit": max(1, int(rate)), "slot_decay_per_second": rate},
    )
    started = [
        # A worker creates its process pool if missing; two runs at most per worker, so both take a share.
        processes.start(
            f"worker-{number}",
            prefect_cli("worker", "start", "--pool", POOL, "--type", "process", "--limit", "2"),
            env=env,
            cwd=source,
        )
        for number in range(workers)
    ]
    _wait_for_pool(server, timeout)
    flow_id = _api(server, "POST", "/flows/", json={"name": FLOW_NAME})["id"]
    deployment = _api(
        server,
        "POST",
        "/deployments/",
        json={
            "name": "scaling",
            "flow_id": flow_id,
            "work_pool_name": POOL,
            "entrypoint": "scaling_flow.py:scaling_batch",
            "path": str(source),
            "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": str(source)}}],
            "enforce_parameter_schema": False,
        },
    )
    ids = [
        _api(
            server,
            "POST",
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": {"tag": f"run{number}", "jobs": jobs}},
        )["id"]
        for number in range(runs)
    ]
    deadline = time.monotonic() + timeout
    while True:
        found = _api(server, "POST", "/flow_runs/filter", json={"flow_runs": {"id": {"any_": ids}}})
        if all(run["state_type"] in TERMINAL for run in found) and len(found) == runs:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"flow runs not finished after {timeout:g} s: {[run['state_type'] for run in found]}")
        time.sleep(1.0)
    starts = [datetime.fromisoformat(run["start_time"]) for run in found if run["start_time"]]
    ends = [datetime.fromisoformat(run["end_time"]) for run in found if run["end_time"]]
    seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    used = sum(1 for worker in started if any(run_id in worker.log() for run_id in ids))
    spread = (max(starts) - min(starts)).total_seconds() if starts else float("nan")
    return WorkersOutcome([run["state_type"] for run in found], used, seconds, spread, emulator.stats())
