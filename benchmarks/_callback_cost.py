"""What waiting costs with callbacks: checks per job and how late the waiting code learns that the job ended.

Everything is real but the passing of job time: the emulator calls back like PDF.co, a ``CallbackReceiver``
turns the callback into ``pdfco.job.succeeded`` on a real Prefect API (``prefect_test_harness``: a server in a
subprocess), and the library's own wait path, ``PdfcoClient.wait`` with the job end events as its ``end_signal``
(what ``wait_for_job`` runs when the credentials carry a ``callback_url``), sleeps on the event and checks once it
comes. Job
time is the emulator's clock: each job gets its own duration (the row's time, varied up to 20% either way) and
the clock is advanced to one job's end at a time, so two-minute jobs take no two minutes. The detection delay
is the real time from that advance to the wait's return: callback, receiver, event, websocket, check.

``benchmarks/polling_cost.py`` prints it as its "callbacks" column; alone:

Run: python benchmarks/_callback_cost.py [--jobs 20] [--burst 300]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import time
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect.testing.utilities import prefect_test_harness

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco._events import subscription, wait_for_end
from prefect_pdfco._submit_guard import submit_once
from prefect_pdfco.callbacks import CallbackReceiver
from prefect_pdfco.credentials import PdfcoCredentials, shared_client
from prefect_pdfco.testing import credentials_for

ENDPOINT = "/v1/pdf/convert/from/html"
JOBS = 20
SPREAD = 0.2
#: Real time between two job ends: events of a batch ending at once are measured by tests/test_callbacks_events.
PAUSE = 0.3
Row = tuple[float, float]  # (checks per job, p95 detection delay in seconds)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _submit(credentials: PdfcoCredentials) -> Any:
    """One submit as the typed tasks make it (with the credentials' per-job ``callback``), outside a task run."""
    return await submit_once(
        credentials, ENDPOINT, {"html": "<p>bench</p>"}, operation="html_to_pdf", submit_key=None,
        resend_if_unknown=False,
    )  # fmt: skip


class _EmulatorClock:
    """The emulator's clock as this process sees it: wall time plus what the benchmark advanced it by."""

    def __init__(self) -> None:
        self.advanced = 0.0

    def now(self) -> float:
        return time.time() + self.advanced


async def _row(
    emu: PdfcoEmulator,
    credentials: PdfcoCredentials,
    clock: _EmulatorClock,
    seconds: float,
    jobs: int,
    rand: random.Random,
) -> Row:
    # The emulator's clock is wall time plus what advance_clock added (only this code adds): each job's end on
    # it is known from when it was submitted. Short jobs may end by wall time alone before their turn: their
    # end is then in the past, and the delay is counted from it, not from the advance.
    durations = [seconds * (1 + rand.uniform(-SPREAD, SPREAD)) for _ in range(jobs)]
    ends: dict[str, float] = {}
    returned: dict[str, float] = {}
    before = emu.stats()["job_checks"]

    async def wait(job_id: str) -> None:
        client = await shared_client(credentials)
        await client.wait(job_id, max_wait_seconds=3600, end_signal=wait_for_end)
        returned[job_id] = clock.now()

    waits = []
    for duration in durations:  # each waited for right after its submit, as wait_for_job in a flow would
        emu.set_job_duration(duration)
        sent = clock.now()
        job_id = (await _submit(credentials)).job_id
        ends[job_id] = (sent + clock.now()) / 2 + duration
        waits.append(asyncio.ensure_future(wait(job_id)))
    for job_id in sorted(ends, key=ends.__getitem__):
        step = ends[job_id] - clock.now()
        if step > 0:
            emu.advance_clock(step)
            clock.advanced += step
        await asyncio.sleep(PAUSE)
    await asyncio.gather(*waits)
    checks = (emu.stats()["job_checks"] - before) / jobs
    return checks, p95([returned[job_id] - ends[job_id] for job_id in ends])


async def _open_subscription() -> None:
    """Opens the process's event subscription first: the first wait of a process otherwise pays for it (about
    a second here: when its job is shorter than that, the event comes in the connect's replay)."""
    sub = await subscription()
    warm_up = asyncio.ensure_future(sub.wait("warm-up", 60))
    await asyncio.wait_for(sub.connected.wait(), 60)
    warm_up.cancel()


async def _burst(emu: PdfcoEmulator, credentials: PdfcoCredentials, clock: _EmulatorClock, jobs: int) -> Row:
    emu.set_job_duration(600)
    job_ids = [submission.job_id for submission in await asyncio.gather(*(_submit(credentials) for _ in range(jobs)))]
    returned: dict[str, float] = {}

    async def wait(job_id: str) -> None:
        client = await shared_client(credentials)
        await client.wait(job_id, max_wait_seconds=3600, end_signal=wait_for_end)
        returned[job_id] = clock.now()

    before = emu.stats()["job_checks"]
    waits = [asyncio.ensure_future(wait(job_id)) for job_id in job_ids]
    await asyncio.sleep(1)  # every wait registered
    emu.advance_clock(601)
    clock.advanced += 601
    ended = clock.now()
    await asyncio.gather(*waits)
    return (emu.stats()["job_checks"] - before) / jobs, p95([returned[job_id] - ended for job_id in job_ids])


def measure(job_seconds: list[float], *, jobs: int = JOBS, seed: int = 1, burst: int = 0) -> dict[float, Row]:
    """(checks per job, p95 detection delay in s) per job time, for waits with callbacks (see the docstring).

    ``burst``: also ``burst`` jobs that end at the same instant, as key ``0.0`` (upper bound: the emulator,
    the receiver and the waits share one process and its GIL here).
    """
    rand = random.Random(seed)
    rows: dict[float, Row] = {}
    with (
        prefect_test_harness(server_startup_timeout=120),
        PdfcoEmulator(job_duration=1) as emu,
        CallbackReceiver(credentials_for(emu)) as receiver,
    ):
        credentials = credentials_for(emu, callback_url=receiver.url)
        clock = _EmulatorClock()

        async def run() -> None:
            await _open_subscription()
            for seconds in job_seconds:
                rows[seconds] = await _row(emu, credentials, clock, seconds, jobs, rand)
            if burst:
                rows[0.0] = await _burst(emu, credentials, clock, burst)

        asyncio.run(run())
        assert receiver.stats["checks"] == 0, "the receiver passes on what PDF.co posted: no check of its own"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS, help="jobs per job time (default %(default)s)")
    parser.add_argument("--burst", type=int, default=0, help="also this many jobs ending at once (default none)")
    args = parser.parse_args()
    rows = measure([1.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0], jobs=args.jobs, burst=args.burst)
    print(f"{'job':>6} | {'checks/job':>10} | {'p95 detection':>13} | goal: <= 1 check, p95 <= 2 s")
    for seconds, (checks, late) in rows.items():
        verdict = "ok" if checks <= 1 and late <= 2 else "MISSED"
        label = f"{seconds:>5.0f}s" if seconds else f"{args.burst} at once"
        print(f"{label:>6} | {checks:10.2f} | {late:12.2f}s | {verdict}")


if __name__ == "__main__":
    main()
