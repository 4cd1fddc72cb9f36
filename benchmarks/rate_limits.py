"""Rate limits with the defaults: 100 concurrent jobs on a 2 requests/s and on a 10 requests/s account.

PDF.co answers 429 past the plan's rate (2 requests/s free, 10 paid) and sends no Retry-After. Each run starts
a fresh emulator with that per-key rate limit (PDF.co's 429 body, no Retry-After), then submits N jobs at once
and waits for each (``submit_job`` then ``wait_for_job``, called through ``.fn`` in ``asyncio.gather``) with a
credentials block at its defaults: no ``requests_per_second``, so only the pacer (no pacing until the first 429,
then AIMD) stands between the burst and the account's limit. Each row gets a fresh pacer (a new API key), as a
new process would.

A second row runs the same jobs through one ``PdfcoClient`` at its defaults (submit, then ``client.wait``), a
third through ``run_batch`` in a flow (a Prefect test harness, started before the clock).

Beside them, plain asyncio + httpx scripts on the same server and the same polling schedule (first check after
2 s, then x1.5): one that knows the plan's rate and paces itself at exactly that (the best a script can do),
and one that does what PDF.co's help advises (retry a 429 after a 1 s pause, no pacing). Printed for each:
failures, wall time, requests that got through, 429s, and the least time the account's rate allows for the
requests that got through.

Run: python benchmarks/rate_limits.py [--jobs 100] [--job-seconds 1.0] [--rates 2 10] [--no-batch]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import httpx

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import PdfcoClient, PollPolicy, submit_job, wait_for_job
from prefect_pdfco.flows import run_batch
from prefect_pdfco.testing import credentials_for

DEFAULT_POLL_POLICY = PollPolicy()

ENDPOINT = "/v1/pdf/convert/from/html"
HTML = {"html": "<p>rate limits</p>", "name": "page.pdf"}


@dataclass
class Outcome:
    seconds: float
    failures: int
    accepted: int
    rate_limited: int


async def ours(emulator: PdfcoEmulator, jobs: int) -> int:
    """Our tasks with a default block; returns the number of jobs that failed."""
    credentials = credentials_for(emulator)
    assert credentials.requests_per_second is None

    async def one() -> None:
        submission = await submit_job.fn(credentials, ENDPOINT, HTML)
        await wait_for_job.fn(credentials, submission.job_id)

    results = await asyncio.gather(*(one() for _ in range(jobs)), return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    for error in errors[:3]:
        print(f"    failure: {type(error).__name__}: {error}")
    return len(errors)


async def our_client(emulator: PdfcoEmulator, jobs: int) -> int:
    """One ``PdfcoClient`` at its defaults shared by every job: the limiter alone, without a client per task."""
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:

        async def one() -> None:
            submission = await client.submit(ENDPOINT, HTML)
            await client.wait(submission.job_id, max_wait_seconds=1800)

        results = await asyncio.gather(*(one() for _ in range(jobs)), return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    for error in errors[:3]:
        print(f"    failure: {type(error).__name__}: {error}")
    return len(errors)


async def batch(emulator: PdfcoEmulator, jobs: int) -> int:
    """``run_batch`` over the same documents (no destination: the results' links only), in a flow of its own."""
    items = [{"html": HTML["html"], "name": f"page-{index}.pdf"} for index in range(jobs)]
    return len((await run_batch.aio(credentials_for(emulator), "html_to_pdf", items)).failed)


class Pace:
    """Spaces calls ``1 / rate`` apart on one event loop (what a script that knows the plan would write)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next)
        self.next = slot + self.interval
        await asyncio.sleep(slot - now)


def reference(rate: float | None) -> Callable[[PdfcoEmulator, int], Awaitable[int]]:
    """A plain asyncio + httpx script: paced at ``rate`` when given, a 429 retried after 1 s either way."""

    async def run(emulator: PdfcoEmulator, jobs: int) -> int:
        pace = Pace(rate)
        headers = {"x-api-key": emulator.api_key}
        async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers, timeout=60) as http:

            async def call(path: str, body: dict[str, object]) -> dict[str, object]:
                while True:
                    await pace.wait()
                    response = await http.post(path, json=body)
                    if response.status_code != 429:
                        response.raise_for_status()
                        data: dict[str, object] = response.json()
                        return data
                    await asyncio.sleep(1.0)

            async def one() -> None:
                job = await call(ENDPOINT, {**HTML, "async": True})
                delay = DEFAULT_POLL_POLICY.initial_seconds
                while True:
                    await asyncio.sleep(delay)
                    status = (await call("/v1/job/check", {"jobid": job["jobId"]}))["status"]
                    if status == "success":
                        return
                    if status != "working":
                        raise RuntimeError(f"job ended {status}")
                    delay = min(DEFAULT_POLL_POLICY.max_seconds, delay * DEFAULT_POLL_POLICY.multiplier)

            results = await asyncio.gather(*(one() for _ in range(jobs)), return_exceptions=True)
        return sum(isinstance(result, BaseException) for result in results)

    return run


def measure(way: Callable[[PdfcoEmulator, int], Awaitable[int]], rate: float, jobs: int, job_seconds: float) -> Outcome:
    # A new key per row: the pacer is per account and process, so each row starts as a fresh process would.
    key = f"bench-{uuid.uuid4().hex[:12]}"
    with PdfcoEmulator(api_key=key, rate_limit=rate, job_duration=job_seconds) as emulator:
        started = time.perf_counter()
        failures = asyncio.run(way(emulator, jobs))
        seconds = time.perf_counter() - started
        stats = emulator.stats()
    limited = stats["rate_limited"]
    return Outcome(seconds, failures, sum(stats["requests"].values()) - limited, limited)


@contextlib.contextmanager
def prefect_api(with_flows: bool) -> Iterator[None]:
    """A Prefect test harness when a row runs a flow (started before any clock), else nothing."""
    if not with_flows:
        yield
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def main(jobs: int, job_seconds: float, rates: list[float], with_batch: bool) -> None:
    logging.getLogger("prefect_pdfco").setLevel(logging.ERROR)
    print(f"{jobs} concurrent jobs (submit + wait), each {job_seconds:g} s long, HTML to PDF on the emulator")
    print(f"load average at start {os.getloadavg()[0]:.1f} (2 cores shared)")
    header = (
        f"{'account':>8} | {'who':<46} | {'failures':>8} | {'seconds':>7} | {'x minimum':>9} | {'requests ok':>11} | "
        f"{'429s':>5} | {'least the rate allows':>21}"
    )
    ways: list[tuple[str, Callable[[PdfcoEmulator, int], Awaitable[int]] | None]] = [
        ("prefect-pdfco tasks, default block", ours),
        ("prefect-pdfco, one PdfcoClient at its defaults", our_client),
        *([("prefect-pdfco run_batch (one flow run)", batch)] if with_batch else []),
        ("asyncio+httpx paced at the plan's rate", None),
        ("asyncio+httpx, 429 retried after 1 s", reference(None)),
    ]
    with prefect_api(with_batch):
        print(header)
        print("-" * len(header))
        for rate in rates:
            minimum = 2 * jobs / rate  # a submit and one check per document, at the account's rate
            for name, way in ways:
                outcome = measure(way or reference(rate), rate, jobs, job_seconds)
                least = outcome.accepted / rate
                print(
                    f"{rate:>4g} r/s | {name:<46} | {outcome.failures:>8d} | {outcome.seconds:7.1f} | "
                    f"{outcome.seconds / minimum:9.2f} | {outcome.accepted:>11d} | {outcome.rate_limited:>5d} | "
                    f"{least:>19.1f} s",
                    flush=True,
                )
    print(f"x minimum: the wall time over {2 * jobs} requests (a submit and one check per document) at the rate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--job-seconds", type=float, default=1.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[2.0, 10.0], help="account limits to try")
    parser.add_argument("--no-batch", action="store_true", help="leave out the run_batch row (no Prefect server)")
    args = parser.parse_args()
    main(args.jobs, args.job_seconds, args.rates, not args.no_batch)
