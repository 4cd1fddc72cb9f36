"""The yardstick for batches: plain asyncio + httpx against a running PDF.co emulator, with or without Prefect.

Submits N HTML-to-PDF jobs (16 requests in flight), checks each job 2 s after its submit and then every second
(a 429 is retried after a second), and downloads each PDF as soon as its job succeeds, all on one
``httpx.AsyncClient``. Prints one JSON line: seconds, CPU seconds, files landed, failures and peak RSS.

With ``--flow`` the same loop runs inside a Prefect ``@flow`` of its own (Prefect imported, a flow run created
on the API in ``PREFECT_API_URL``): what a Prefect user would write instead of ``run_batch``. Without it, no
Prefect at all. ``fanout.py --compare`` runs both beside ``run_batch`` and the typed tasks, each as a whole
process.

Run: python benchmarks/raw_batch.py --base-url http://127.0.0.1:PORT --jobs 200 --output /tmp/raw [--flow]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path
from typing import Any

import httpx

IN_FLIGHT = 16


async def call(client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    while True:
        response = await client.post(path, json=payload)
        if response.status_code != 429:
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(1.0)


async def one(client: httpx.AsyncClient, slots: asyncio.Semaphore, index: int, output: Path) -> bool:
    async with slots:
        job = await call(
            client,
            "/v1/pdf/convert/from/html",
            {"html": f"<h1>Document {index}</h1>", "name": f"doc-{index}.pdf", "async": True},
        )
    await asyncio.sleep(2.0)
    while True:
        async with slots:
            status = await call(client, "/v1/job/check", {"jobid": job["jobId"]})
        if status["status"] != "working":
            break
        await asyncio.sleep(1.0)
    if status["status"] != "success":
        return False
    async with slots, client.stream("GET", status["url"]) as response:
        with (output / f"doc-{index}.pdf").open("wb") as file:
            async for chunk in response.aiter_bytes(1 << 16):
                file.write(chunk)
    return True


async def run(base_url: str, api_key: str, jobs: int, output: Path) -> dict[str, Any]:
    output.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), time.process_time()
    async with httpx.AsyncClient(base_url=base_url, headers={"x-api-key": api_key}, timeout=60) as client:
        slots = asyncio.Semaphore(IN_FLIGHT)
        done = await asyncio.gather(*(one(client, slots, index, output) for index in range(jobs)))
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "landed": sum(1 for path in output.iterdir() if path.suffix == ".pdf"),
        "failed": done.count(False),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_flow(base_url: str, api_key: str, jobs: int, output: Path) -> dict[str, Any]:
    """The same loop inside a Prefect flow of its own (Prefect imported only here)."""
    from prefect import flow

    @flow(name="plain-httpx-batch")
    async def plain_httpx_batch(jobs: int, output: str) -> dict[str, Any]:
        return await run(base_url, api_key, jobs, Path(output))

    figures: dict[str, Any] = asyncio.run(plain_httpx_batch(jobs, str(output)))
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--flow", action="store_true", help="run the loop inside a Prefect @flow")
    args = parser.parse_args()
    way = in_flow if args.flow else lambda *a: asyncio.run(run(*a))
    print(json.dumps(way(args.base_url, args.api_key, args.jobs, args.output)))
