"""Many flow runs on many workers sharing one account's rate: how close to the rate's own minimum?

A real ``prefect server start``, one process work pool, two ``prefect worker start`` processes and R flow runs of
``run_batch`` over N HTML documents each, started at once against an emulator account that answers 429 beyond
2 requests/s; every run's credentials name a Prefect global concurrency limit of 2 slots decaying at 2/s
(``tests/_scaling_support.py``, which ``tests/test_scaling_workers.py`` asserts on).

Each document needs at least two API requests (its submit and one job check), so at 2 requests/s the batch cannot
end sooner than 2 x R x N / 2 seconds. Printed: the time from the first flow run's start to the last one's end
(the server's clocks), that minimum and the ratio (the issue's goal: 1.2 or less); also the requests actually
made, the 429 answers and the minimum those requests alone would take. The start of each flow run's process
(Python, Prefect and the package imported) counts, as it does for a user.

With ``--no-global-limit`` the blocks name no limit, so each process paces itself from the 429s it meets: the
comparison that shows what the shared limit costs or saves.

Run: python benchmarks/scaling_workers.py [--runs 4] [--jobs 25] [--rate 2] [--job-seconds 1] [--no-global-limit]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect_pdfco.testing import PdfcoEmulator  # noqa: E402
from tests._e2e_support import Processes  # noqa: E402
from tests._scaling_support import run_on_workers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4, help="flow runs started at once (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=25, help="documents per flow run (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=2.0, help="the account's requests/s (default: %(default)s)")
    parser.add_argument("--job-seconds", type=float, default=1.0, help="each job's duration (default: %(default)s)")
    parser.add_argument(
        "--no-global-limit", action="store_true", help="name no global limit on the block: each process paces itself"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdfco-scaling-") as work:
        processes = Processes(log_dir=Path(work))
        with PdfcoEmulator(job_duration=args.job_seconds, rate_limit=args.rate) as emulator:
            try:
                outcome = run_on_workers(
                    processes,
                    Path(work),
                    emulator,
                    runs=args.runs,
                    jobs=args.jobs,
                    rate=args.rate,
                    global_limit=not args.no_global_limit,
                )
                if any(state != "COMPLETED" for state in outcome.states):
                    print(processes.report(), file=sys.stderr)  # what the failed runs' workers said
            except BaseException:
                print(processes.report(), file=sys.stderr)
                raise
            finally:
                processes.stop_all()
    documents = args.runs * args.jobs
    minimum = 2 * documents / args.rate
    requests = sum(outcome.stats["requests"].values())
    failed = sum(1 for state in outcome.states if state != "COMPLETED")
    pacing = "each process alone" if args.no_global_limit else "a global concurrency limit"
    print(f"{args.runs} flow runs x {args.jobs} documents on 2 process workers, account at {args.rate:g} requests/s")
    print(f"paced by {pacing}")
    print(f"{'':<34}{'seconds':>10}")
    print(f"{'minimum (2 requests per document)':<34}{minimum:>10.1f}")
    print(
        f"{'first start to last end':<34}{outcome.seconds:>10.1f}   ratio {outcome.seconds / minimum:.2f} (goal <= 1.2)"
    )
    print(
        f"flow runs started over {outcome.start_spread:.1f} s; failed: {failed}; "
        f"workers used: {outcome.workers_used}; jobs: {outcome.stats['jobs_submitted']} "
        f"for {documents} documents; API requests: {requests} ({requests / args.rate:.1f} s at the rate), "
        f"job checks: {outcome.stats['job_checks']}, 429 answers: {outcome.stats['rate_limited']}"
    )


if __name__ == "__main__":
    main()
