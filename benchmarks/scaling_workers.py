"""Many flow runs on many workers sharing one account's rate: how close to the rate's own minimum?

A real ``prefect server start``, one process work pool, two ``prefect worker start`` processes and R flow runs of
``run_batch`` over N HTML documents each, created at once against an emulator account that answers 429 beyond
2 requests/s (``_workers.run_on_workers``). Nothing coordinates the processes: each one's pacer learns the rate
from the 429s it meets (no pacing until the first 429, then AIMD), and a 429 is a refusal, safe to send again.

Each document needs at least two API requests (its submit and one job check), so at 2 requests/s the batch cannot
end sooner than 2 x R x N / 2 seconds. Printed: the time from the first flow run's start to the last one's end
(the server's clocks), that minimum and the ratio (#18's goal: 1.2 or less, with no failed run); also the jobs
made (one per document is the promise), the requests actually made, the 429 answers and the minimum those
requests alone would take. The start of each flow run's process (Python, Prefect and the package imported)
counts, as it does for a user.

Run: python benchmarks/scaling_workers.py [--runs 4] [--jobs 25] [--rate 2] [--job-seconds 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from _standalone import prefect_env, prefect_server, warm_bytecode
from _workers import Processes, run_on_workers

from pdfco_emulator import PdfcoEmulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=4, help="flow runs started at once (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=25, help="documents per flow run (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=2.0, help="the account's requests/s (default: %(default)s)")
    parser.add_argument("--job-seconds", type=float, default=1.0, help="each job's duration (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: %(default)s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pdfco-scaling-") as work:
        processes = Processes(log_dir=Path(work))
        home = Path(work) / "server"
        home.mkdir()
        with (
            prefect_server(home) as api_url,
            PdfcoEmulator(job_duration=args.job_seconds, rate_limit=args.rate) as emulator,
        ):
            env = prefect_env(Path(work) / "client-home", api_url)
            warm_bytecode(env)
            try:
                outcome = run_on_workers(
                    processes, Path(work), api_url, env, emulator, runs=args.runs, jobs=args.jobs, workers=args.workers
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
    jobs_by_name = outcome.stats["jobs_by_name"]
    print(
        f"{args.runs} flow runs x {args.jobs} documents on {args.workers} process workers, account at {args.rate:g} r/s"
    )
    print(f"load average now {os.getloadavg()[0]:.1f} (2 cores shared)")
    print(f"{'':<34}{'seconds':>10}")
    print(f"{'minimum (2 requests per document)':<34}{minimum:>10.1f}")
    ratio = outcome.seconds / minimum
    print(f"{'first start to last end':<34}{outcome.seconds:>10.1f}   ratio {ratio:.2f} (goal <= 1.2, 0 failed runs)")
    print(
        f"flow runs started over {outcome.start_spread:.1f} s; failed: {failed}; workers used: {outcome.workers_used}; "
        f"jobs: {outcome.stats['jobs_submitted']} for {documents} documents "
        f"({sum(1 for count in jobs_by_name.values() if count > 1)} documents with two or more); "
        f"API requests: {requests} ({requests / args.rate:.1f} s at the rate), job checks: "
        f"{outcome.stats['job_checks']}, 429 answers: {outcome.stats['rate_limited']}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
