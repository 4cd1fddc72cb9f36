"""Many flow runs on many workers: a ``prefect server start``, process workers, a deployment of ``run_batch``.

``run_on_workers`` is what ``scaling_workers.py`` times: ``workers`` ``prefect worker start`` processes on a process
work pool (they create it), a deployment of a flow that runs ``run_batch`` over its documents, and ``runs`` flow runs
of it created at once, against an emulator account that answers 429 beyond its rate. Every process runs in its own
session with its output in a log file, and is stopped with everything it started (the e2e tests' ``Processes``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.e2e._support import Processes

__all__ = ["FLOW_SOURCE", "Processes", "WorkersOutcome", "run_on_workers"]

POOL = "pdfco-scaling"
FLOW_NAME = "pdfco-scaling-batch"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

#: The flow the workers run: every document of the run through run_batch, nothing but the credentials configured.
FLOW_SOURCE = '''"""One batch of HTML documents to PDF; each process paces itself from the 429s it meets."""

import os

from prefect import flow

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.flows import run_batch


@flow(name="pdfco-scaling-batch")
def scaling_batch(tag: str, jobs: int) -> int:
    credentials = PdfcoCredentials(api_key=os.environ["PDFCO_API_KEY"], base_url=os.environ["PDFCO_BASE_URL"])
    items = [{"html": f"<h1>{tag} {index}</h1>", "name": f"{tag}-{index}.pdf"} for index in range(jobs)]
    return len(run_batch(credentials, "html_to_pdf", items, raise_on_failure=True).items)
'''


@dataclass
class WorkersOutcome:
    """What the flow runs did: final state types, workers used, first start to last end and the spread of the starts
    (the server's clocks), and the emulator's counters afterwards."""

    states: list[str]
    workers_used: int
    seconds: float
    start_spread: float
    stats: dict[str, Any]


def _api(api_url: str, method: str, path: str, **kwargs: Any) -> Any:
    # A server on SQLite answers 503 while its database is locked (the workers are writing): ask again.
    for _ in range(20):
        answer = httpx.request(method, f"{api_url}{path}", timeout=30, **kwargs)
        if answer.status_code != 503:
            break
        time.sleep(0.5)
    answer.raise_for_status()
    return answer.json()


def run_on_workers(
    processes: Processes,
    work: Path,
    api_url: str,
    env: Mapping[str, str],
    emulator: Any,
    *,
    runs: int,
    jobs: int,
    workers: int = 2,
    timeout: float = 900.0,
) -> WorkersOutcome:
    """Runs ``runs`` flow runs of ``jobs`` documents each on ``workers`` process workers (see the module docstring);
    ``env`` is the environment of a process that talks to the server at ``api_url``."""
    source = work / "flows"
    source.mkdir(parents=True, exist_ok=True)
    (source / "scaling_flow.py").write_text(FLOW_SOURCE)
    env = {
        **env,
        "PDFCO_API_KEY": emulator.api_key,
        "PDFCO_BASE_URL": emulator.base_url,
        # Workers ask for work every second (Prefect's default is 10 s), so the runs start together.
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
    }
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process", "--limit", "2"]
    started = [processes.start(f"worker-{n}", command, env=env, cwd=source) for n in range(workers)]
    deadline = time.monotonic() + timeout
    while httpx.get(f"{api_url}/work_pools/{POOL}", timeout=30).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no worker created the work pool {POOL} within {timeout:g} s")
        time.sleep(0.5)
    flow_id = _api(api_url, "POST", "/flows/", json={"name": FLOW_NAME})["id"]
    deployment = _api(
        api_url,
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
            api_url,
            "POST",
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": {"tag": f"run{number}", "jobs": jobs}},
        )["id"]
        for number in range(runs)
    ]
    while True:
        found = _api(api_url, "POST", "/flow_runs/filter", json={"flow_runs": {"id": {"any_": ids}}})
        if len(found) == runs and all(run["state_type"] in TERMINAL for run in found):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"flow runs not finished after {timeout:g} s: {[run['state_type'] for run in found]}")
        time.sleep(1.0)
    starts = [datetime.fromisoformat(run["start_time"]) for run in found if run["start_time"]]
    ends = [datetime.fromisoformat(run["end_time"]) for run in found if run["end_time"]]
    seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    spread = (max(starts) - min(starts)).total_seconds() if starts else float("nan")
    used = sum(1 for worker in started if any(run_id in worker.log() for run_id in ids))
    return WorkersOutcome([run["state_type"] for run in found], used, seconds, spread, emulator.stats())
