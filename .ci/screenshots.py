#!/usr/bin/env python
"""Screenshots of what a user sees in the Prefect UI, for the docs: ``python .ci/screenshots.py`` refreshes them.

Starts a real ``prefect server start`` on a free loopback port (its own Prefect home) and the PDF.co emulator, runs
``flows/batch_convert.py`` over 200 HTML documents of which three fail (two failed jobs, one aborted) and
``flows/quickstart.py``, then takes PNGs, 1280 px wide, with Debian's headless Chromium (``apt-get install -y
chromium``; never part of CI):

- ``batch-flow-run.png``: the user's own batch flow run, on its Subflow Runs tab: the batch reads "3 of 200 failed";
- ``batch-artifacts.png``: the same flow run's Artifacts tab, where its ``pdfco-jobs`` table is;
- ``batch-jobs-table.png``: that table, failed documents first (the second click);
- ``quickstart-flow-run.png`` and ``quickstart-jobs-table.png``: a clean quickstart run and its jobs.

Everything stays on 127.0.0.1: Chromium runs with background networking off and every other host unresolvable.
Needs the dev extras. Run from anywhere; writes ``docs/images/`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pdfco_emulator import PdfcoEmulator  # noqa: E402
from tests.e2e._support import PrefectServer, Processes, start_prefect_server  # noqa: E402

#: The width the docs' images are made for: the jobs table must fit it.
WIDTH = 1280
#: Seconds a page may take to show what a shot waits for.
PATIENCE = 60.0
DOCUMENTS = 200
#: (outcome, PDF.co's message) of the jobs made to fail, once the batch is under way.
FAILURES = (
    ("failed", "Rendering failed: the page did not finish loading (a stylesheet timed out)"),
    ("failed", "Rendering failed: the page did not finish loading (a stylesheet timed out)"),
    ("aborted", "The job was aborted"),
)
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


class Browser:
    """Headless Chromium driven over the DevTools protocol: real time, real clicks, one page."""

    def __init__(self, binary: str, profile: Path) -> None:
        args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603
        assert self.process.stderr is not None
        for line in self.process.stderr:  # Chromium says where its DevTools endpoint is
            if found := re.search(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)", line):
                break
        else:
            sys.exit("Chromium did not start its DevTools endpoint")
        pages = httpx.get(f"http://127.0.0.1:{found.group(2)}/json/list", trust_env=False).json()
        page = next(target for target in pages if target["type"] == "page")
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None)
        self.calls = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.calls:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, script: str) -> Any:
        return self.call("Runtime.evaluate", expression=script, returnByValue=True).get("result", {}).get("value")

    def open(self, url: str, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", url=url)

    def wait_for(self, text: str) -> None:
        """Until the page shows ``text`` (and the data around it has had a moment to draw)."""
        deadline = time.monotonic() + PATIENCE
        while not self.evaluate(f"document.body && document.body.innerText.includes({json.dumps(text)})"):
            if time.monotonic() > deadline:
                self.shoot(Path(tempfile.gettempdir()) / "pdfco-screenshots-timeout.png")
                sys.exit(f"The page never showed {text!r} (what it showed: the PNG above)")
            time.sleep(0.25)
        time.sleep(1.5)

    def click(self, text: str, *, action: str = "click()") -> None:
        """Clicks the innermost visible element whose text is ``text`` (a tab, a card's title)."""
        script = f"""(() => {{
            const all = [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
                && e.innerText && e.innerText.trim() === {json.dumps(text)});
            const inner = all.filter(e => ![...e.children].some(c => all.includes(c)));
            if (!inner.length) return false;
            inner[0].{action};
            return true;
        }})()"""
        if not self.evaluate(script):
            sys.exit(f"Nothing on the page reads {text!r}")
        time.sleep(0.5)

    def scroll_to(self, text: str) -> None:
        """Scrolls the element reading ``text`` to the top of the window."""
        self.click(text, action='scrollIntoView({block: "start"})')

    def shoot(self, path: Path) -> None:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(png)
        print(f"{path}: {len(png) // 1024} KiB")

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)


def latest(server: PrefectServer, what: str, body: dict[str, Any]) -> dict[str, Any]:
    """The newest object of ``what`` (``flow_runs``, ``artifacts``) that ``body`` filters for."""
    answer = httpx.post(f"{server.api_url}/{what}/filter", json={**body, "limit": 1}, timeout=30, trust_env=False)
    found = answer.raise_for_status().json()
    if not found:
        sys.exit(f"No {what} matched {body}")
    return dict(found[0])


def jobs_table(server: PrefectServer, flow_run_id: str) -> dict[str, Any]:
    """The newest ``pdfco-jobs`` table of a flow run."""
    body = {"artifacts": {"key": {"any_": ["pdfco-jobs"]}, "flow_run_id": {"any_": [flow_run_id]}}}
    return latest(server, "artifacts", {**body, "sort": "CREATED_DESC"})


def fail_a_few_once_under_way(emulator: PdfcoEmulator, stop: threading.Event) -> None:
    """Makes three jobs fail once a third of the batch is submitted, so that they are not the first rows anyway."""
    while not stop.wait(0.2):
        if emulator.stats()["jobs_submitted"] >= DOCUMENTS // 3:
            for outcome, message in FAILURES:
                emulator.inject_job_outcome(outcome, message=message)  # type: ignore[arg-type]
            return


def run_example(processes: Processes, name: str, args: list[str], env: dict[str, str], work: Path) -> None:
    code, said = processes.run(name, [sys.executable, str(ROOT / "flows" / f"{name}.py"), *args], env=env, cwd=work)
    if code != 0:
        sys.exit(f"{name} failed ({code}):\n{said}")


def run(out: Path, work: Path) -> None:
    binary = chromium()
    processes = Processes(log_dir=work)
    documents = work / "documents"
    documents.mkdir()
    for number in range(1, DOCUMENTS + 1):
        html = f"<h1>Statement {number:03d}</h1><p>Account summary for customer {number:03d}.</p>"
        (documents / f"statement-{number:03d}.html").write_text(html)
    stop = threading.Event()
    try:
        with processes.report_on_failure(), PdfcoEmulator(job_duration=1.0) as emulator:
            server = start_prefect_server(processes, work / "prefect-home")
            env = server.env(PDFCO_API_KEY=emulator.api_key, PDFCO_BASE_URL=emulator.base_url)
            injector = threading.Thread(target=fail_a_few_once_under_way, args=(emulator, stop), daemon=True)
            injector.start()
            run_example(processes, "batch_convert", ["--source", str(documents), "--output", "batch"], env, work)
            run_example(processes, "quickstart", ["--output", "quickstart"], env, work)
            flows = {"sort": "START_TIME_DESC"}
            batch = latest(server, "flow_runs", {**flows, "flows": {"name": {"any_": ["pdfco-batch-convert"]}}})
            quickstart = latest(server, "flow_runs", {**flows, "flows": {"name": {"any_": ["pdfco-quickstart"]}}})
            ui = server.api_url.removesuffix("/api")
            out.mkdir(parents=True, exist_ok=True)
            browser = Browser(binary, work / "chromium")
            try:
                browser.open(f"{ui}/runs/flow-run/{batch['id']}", 1000)
                browser.wait_for("Subflow Runs")
                browser.click("Subflow Runs")
                browser.wait_for(f"of {DOCUMENTS} failed")
                browser.shoot(out / "batch-flow-run.png")
                browser.click("Artifacts")  # the first click from the user's own flow run page
                browser.wait_for("failed, listed first")
                browser.shoot(out / "batch-artifacts.png")
                browser.click("pdfco-jobs")  # the second: the table, failed documents first
                browser.wait_for("JobFailed")
                browser.shoot(out / "batch-jobs-table.png")
                browser.open(f"{ui}/runs/flow-run/{quickstart['id']}", 900)
                browser.wait_for("Finished in state Completed")
                browser.shoot(out / "quickstart-flow-run.png")
                browser.open(f"{ui}/artifacts/artifact/{jobs_table(server, quickstart['id'])['id']}", 560)
                browser.wait_for("merged.pdf")
                browser.shoot(out / "quickstart-jobs-table.png")
            finally:
                browser.close()
    finally:
        stop.set()
        processes.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, Prefect home)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pdfco-screenshots-"))
    try:
        run(args.out.resolve(), work)
    finally:
        if args.keep:
            print(f"Work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
