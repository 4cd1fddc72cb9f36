#!/usr/bin/env python
"""Screenshots of what a user sees in the Prefect UI, for README: refresh them with ``python .ci/screenshots.py``.

Starts a real ``prefect server start`` on a free loopback port (its own Prefect home and database) and the PDF.co
emulator, runs ``flows/quickstart.py`` against both, then takes PNG screenshots, 1280 px wide, with Debian's
headless Chromium (``apt-get install -y chromium``):

- ``flow-run.png``: the quickstart's flow run page (its run graph and logs);
- ``jobs-table.png``: the ``pdfco-jobs`` table artifact of that run.

Everything stays on 127.0.0.1: Chromium runs with its background networking off and every other host name
unresolvable. Needs the dev extras (``pip install -e '.[dev]'``). Run from anywhere; writes ``.ci/screenshots/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect_pdfco.testing import PdfcoEmulator  # noqa: E402
from tests._e2e_support import PrefectServer, Processes, start_prefect_server  # noqa: E402

#: The width README's images are made for: the jobs table must fit it.
WIDTH = 1280
#: Milliseconds of page time Chromium gives the UI to fetch its data and draw before the shot.
SETTLE_MS = 20_000
#: Every flag that keeps Chromium off the network: no update checks, no sync, no lookups of anything but loopback.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The Chromium binary, or exit with how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("Chromium not found: install it with `apt-get install -y chromium` (Debian's package).")


def shoot(browser: str, url: str, path: Path, height: int, profile: Path) -> None:
    """One PNG of ``url``, ``WIDTH`` x ``height``, after ``SETTLE_MS`` of page time."""
    args = [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{height}",
        f"--virtual-time-budget={SETTLE_MS}",
        f"--screenshot={path}",
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603 (our own argv)
    if done.returncode != 0 or not path.is_file():
        sys.exit(f"Chromium failed on {url}:\n{done.stderr[-4000:]}")
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")


def latest(server: PrefectServer, what: str, body: dict[str, object]) -> dict[str, object]:
    """The newest object of ``what`` (``flow_runs``, ``artifacts``) that ``body`` filters for."""
    answer = httpx.post(f"{server.api_url}/{what}/filter", json={**body, "limit": 1}, timeout=30)
    answer.raise_for_status()
    found = answer.json()
    if not found:
        sys.exit(f"No {what} matched {body}")
    return dict(found[0])


def run(out: Path, work: Path) -> None:
    browser = chromium()
    processes = Processes(log_dir=work)
    try:
        with processes.report_on_failure(), PdfcoEmulator(job_duration=1.0) as emulator:
            server = start_prefect_server(processes, work / "prefect-home")
            env = server.env(PDFCO_API_KEY=emulator.api_key, PDFCO_BASE_URL=emulator.base_url)
            quickstart = [sys.executable, "flows/quickstart.py", "--output", str(work / "output")]
            done = processes.run("quickstart", quickstart, env=env, cwd=ROOT, timeout=600)
            if done.returncode != 0:
                sys.exit(f"The quickstart failed:\n{done.stdout}")
            flow_run = latest(
                server, "flow_runs", {"flows": {"name": {"any_": ["pdfco-quickstart"]}}, "sort": "START_TIME_DESC"}
            )
            table = latest(
                server,
                "artifacts",
                {
                    "artifacts": {"key": {"any_": ["pdfco-jobs"]}, "flow_run_id": {"any_": [flow_run["id"]]}},
                    "sort": "CREATED_DESC",
                },
            )
            ui = server.api_url.removesuffix("/api")
            out.mkdir(parents=True, exist_ok=True)
            shots = [
                (f"{ui}/runs/flow-run/{flow_run['id']}", "flow-run.png", 900),
                (f"{ui}/artifacts/artifact/{table['id']}", "jobs-table.png", 640),
            ]
            for number, (url, name, height) in enumerate(shots):
                shoot(browser, url, out / name, height, work / f"chromium-{number}")
    finally:
        processes.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / ".ci" / "screenshots", help="where the PNGs go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, Prefect home)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pdfco-screenshots-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    try:
        run(args.out.resolve(), work)
    finally:
        if args.keep:
            print(f"Work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
