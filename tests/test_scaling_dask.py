"""prefect-dask's DaskTaskRunner on a real LocalCluster of 2 worker processes (issue 11, item 6).

The typed tasks and ``run_batch`` run on the workers against the emulator (bound to 127.0.0.1, reachable from
them): the credentials block pickles to them, every request of every process takes a slot of the Prefect global
concurrency limit named on the block (``rate_limit_name``), and no two documents share a submit (the emulator
counts the jobs made for each output name). Clients are per process as far as an event loop allows: prefect-dask
runs each async task run in a loop of its own, so each has its own client, built on the process's one SSL
context. Tasks are pinned to each worker with ``dask.annotate``, so both processes work whatever the scheduler
would have chosen.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
prefect_dask = pytest.importorskip("prefect_dask")

from prefect import flow, task  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate  # noqa: E402

from prefect_pdfco import PdfcoCredentials, html_to_pdf, wait_for_job  # noqa: E402
from prefect_pdfco._apipool import open_api_clients, shared_client  # noqa: E402
from prefect_pdfco.flows import run_batch  # noqa: E402
from prefect_pdfco.testing import PdfcoEmulator  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

#: The global concurrency limit named on the block: room for every request, and a decay so slow that each slot
#: taken is still taken when the test counts them (one slot per request, whichever process sent it).
LIMIT = "pdfco-dask-rate"
DOCUMENTS_PER_WORKER = 3
#: Task runs a worker process runs at once (each in a thread of its own).
THREADS_PER_WORKER = 2


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=THREADS_PER_WORKER, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.2) as emu:
        yield emu


@task
async def client_of_this_process(credentials: PdfcoCredentials) -> tuple[int, int, int]:
    """(pid, how many API clients the process holds, the id of the SSL context its client verifies with)."""
    async with shared_client(credentials) as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]  # httpx's transport and httpcore's pool
        return os.getpid(), open_api_clients(), id(pool._ssl_context)


def runner(cluster: Any) -> Any:
    return prefect_dask.DaskTaskRunner(address=cluster.scheduler_address)


async def global_limit(credentials: PdfcoCredentials) -> PdfcoCredentials:
    async with get_client() as client:
        await client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=LIMIT, limit=100_000, slot_decay_per_second=0.001)
        )
    return credentials.model_copy(update={"rate_limit_name": LIMIT})


async def slots_taken() -> int:
    async with get_client() as client:
        return (await client.read_global_concurrency_limit_by_name(LIMIT)).active_slots


def api_requests(emulator: PdfcoEmulator) -> int:
    return sum(emulator.stats()["requests"].values())


async def test_typed_tasks_and_run_batch_on_two_dask_worker_processes(
    cluster: Any, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    credentials = await global_limit(emulator.credentials())
    copy = pickle.loads(pickle.dumps(credentials))  # what each worker gets
    assert copy == credentials and copy.api_key.get_secret_value() == emulator.api_key
    workers = sorted(cluster.scheduler_info["workers"])
    assert len(workers) == 2

    @flow(task_runner=runner(cluster))
    def typed() -> dict[str, Any]:
        jobs, probes = [], []
        for number, worker in enumerate(workers):
            with dask.annotate(workers=[worker], allow_other_workers=False):
                for index in range(DOCUMENTS_PER_WORKER):
                    name = f"typed-{number}-{index}.pdf"
                    jobs.append(html_to_pdf.submit(credentials, f"<h1>{name}</h1>", name=name))
        results = [
            wait_for_job.submit(credentials, job.result().job_id, initial_poll_seconds=0.2, max_poll_seconds=0.5)
            for job in jobs
        ]
        done = [result.result() for result in results]
        for worker in workers:  # after the typed tasks: each process still holds one client
            with dask.annotate(workers=[worker], allow_other_workers=False):
                probes += [client_of_this_process.submit(credentials) for _ in range(3)]
        return {"results": done, "probes": [probe.result() for probe in probes]}

    outcome = typed()
    assert [result.status.value for result in outcome["results"]] == ["success"] * 2 * DOCUMENTS_PER_WORKER
    # prefect-dask runs each async task run in its own event loop (asyncio.run), so each task run has its own
    # client (a connection pool lives on one loop), closed with that loop: never more open in a process than
    # task runs running there at once (its threads), and every client of a process verifies with the process's
    # one SSL context (the costly part to build).
    contexts: dict[int, set[int]] = {}
    for pid, held, context in outcome["probes"]:
        contexts.setdefault(pid, set()).add(context)
        assert 1 <= held <= THREADS_PER_WORKER
    assert len(contexts) == 2 and os.getpid() not in contexts
    assert all(len(ids) == 1 for ids in contexts.values())

    # run_batch with its task runner on the cluster: its one batch task runs on a worker process.
    items = [{"html": f"<h1>batch {index}</h1>", "name": f"batch-{index}.pdf"} for index in range(8)]
    batch = await run_batch.with_options(task_runner=runner(cluster))(credentials, "html_to_pdf", items, tmp_path)
    assert not batch.failed and len(batch.items) == len(items)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(item["name"] for item in items)

    stats = emulator.stats()
    # One job per document, typed or batched: no submit was shared, none was sent twice.
    expected = {f"typed-{n}-{i}.pdf" for n in range(2) for i in range(DOCUMENTS_PER_WORKER)}
    expected |= {item["name"] for item in items}
    assert stats["jobs_by_name"] == dict.fromkeys(sorted(expected), 1)
    assert stats["jobs_submitted"] == len(expected)
    # Every API request of every process went through the global limit named on the block.
    assert await slots_taken() == api_requests(emulator)
