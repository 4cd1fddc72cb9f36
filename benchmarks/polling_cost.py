"""What waiting for a PDF.co job costs: our capped backoff against the peers' fixed ticks.

Each /v1/job/check costs 2 credits. Part 1 counts checks analytically for job durations from 5 s to 45 min
(PDF.co's async limit). Part 2 measures real runs against the emulator: the same jobs waited for by
``wait_for_job``'s loop and by a fixed 1 s poller (the MCP server's default), counting the checks the emulator
billed and the time from "job done" to "caller knows".

Run: python benchmarks/polling_cost.py
"""

from __future__ import annotations

import asyncio
import math
import time

from prefect_pdfco import PdfcoClient
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY
from prefect_pdfco.jobs.wait import poll_until_done
from prefect_pdfco.testing import PdfcoEmulator

PEERS = {"MCP (1 s tick)": 1.0, "N8N (3 s tick)": 3.0}
DURATIONS = [5, 30, 120, 600, 1800, 2700]


def our_checks(duration: float) -> tuple[int, float]:
    """(checks until the first check at or after ``duration``, how late that check is)."""
    elapsed, checks = 0.0, 0
    while elapsed < duration:
        checks += 1
        elapsed += min(DEFAULT_POLL_POLICY.max_seconds, DEFAULT_POLL_POLICY.initial_seconds * 1.5 ** (checks - 1))
    return checks, elapsed - duration


def analytic() -> None:
    print("Part 1: checks (credits) to see a job finish, by job duration; +s: how late the caller learns it")
    print("        (ours: for exactly that duration; fixed ticks: up to one tick)")
    header = f"{'job takes':>10} | {'prefect-pdfco':>22} | " + " | ".join(f"{name:>22}" for name in PEERS)
    print(header)
    print("-" * len(header))
    for duration in DURATIONS:
        checks, late = our_checks(duration)
        cells = [f"{checks:4d} ({2 * checks:5d} cr) +{late:4.1f}s"]
        for tick in PEERS.values():
            peer = math.ceil(duration / tick)
            cells.append(f"{peer:4d} ({2 * peer:5d} cr) +{tick:4.1f}s")
        print(f"{duration:>9}s | " + " | ".join(f"{cell:>22}" for cell in cells))


async def fixed_tick(client: PdfcoClient, job_id: str, tick: float) -> None:
    while True:
        await asyncio.sleep(tick)
        if (await client.check_job(job_id)).status.is_terminal:
            return


async def measured(job_seconds: float = 6.0, jobs: int = 3) -> None:
    print(f"\nPart 2: {jobs} real jobs of {job_seconds:.0f} s on the emulator, each waited for both ways")
    rows = []
    with PdfcoEmulator(job_duration=job_seconds) as emu:
        async with PdfcoClient(emu.api_key, base_url=emu.base_url) as client:
            for name, waiter in (
                ("prefect-pdfco backoff", lambda job: poll_until_done(client, job, max_wait_seconds=120)),
                ("fixed 1 s tick (MCP)", lambda job: fixed_tick(client, job, 1.0)),
            ):
                before = emu.stats()["job_checks"]
                started = time.monotonic()
                for _ in range(jobs):
                    job = await client.submit("/v1/pdf/convert/from/html", {"html": "<p>bench</p>"})
                    await waiter(job.job_id)
                per_job = (time.monotonic() - started) / jobs
                checks = (emu.stats()["job_checks"] - before) / jobs
                rows.append((name, checks, 2 * checks, per_job - job_seconds))
    print(f"{'waiter':>24} | {'checks/job':>10} | {'credits/job':>11} | {'seconds late/job':>16}")
    for name, checks, credits, late in rows:
        print(f"{name:>24} | {checks:10.1f} | {credits:11.1f} | {late:16.2f}")


if __name__ == "__main__":
    analytic()
    asyncio.run(measured())
