"""README's quickstart, as a newcomer runs it, on a fresh Prefect home while both CPUs are busy (issue 13, item 1).

``python flows/quickstart.py`` with no ``PREFECT_API_URL`` starts Prefect's ephemeral server, whose first start
also creates its database: on a busy 2-core machine that took longer than Prefect's default 20 s and the first
run failed. Two busy-loop processes keep the CPUs busy for the whole run; the test asserts the run succeeds and
its files land, never how long it took.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests._e2e_support import Processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
#: A safety net for a stuck run, not a measure: the run takes well under a minute here even under load.
GIVE_UP_SECONDS = 600.0
BUSY_LOOP = "while True:\n    pass\n"


def test_quickstart_first_run_on_a_fresh_prefect_home_with_both_cpus_busy(tmp_path: Path) -> None:
    home, output = tmp_path / "prefect-home", tmp_path / "output"
    home.mkdir()
    # A newcomer's shell: no Prefect settings at all (so no API URL: the ephemeral server starts), no PDF.co key
    # (so the embedded emulator runs the jobs), a Prefect home that has never been used.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "PDFCO_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1")
    processes = Processes(log_dir=tmp_path)
    try:
        for number in range(max(2, os.cpu_count() or 2)):
            processes.start(f"busy-{number}", [sys.executable, "-c", BUSY_LOOP], env=env, cwd=tmp_path)
        with processes.report_on_failure():
            done = processes.run(
                "quickstart",
                [sys.executable, "flows/quickstart.py", "--output", str(output)],
                env=env,
                cwd=ROOT,
                timeout=GIVE_UP_SECONDS,
            )
            assert done.returncode == 0, done.stdout
            assert "Starting Prefect's local server" in done.stdout  # it says what it waits for
            assert all(process.alive() for process in processes.started[:-1])  # the CPUs stayed busy
    finally:
        processes.stop_all()
    landed = sorted(path.name for path in output.iterdir())
    assert landed == ["merged.pdf", "merged.txt", "page-1.pdf", "page-2.pdf"]
    assert len(PdfReader(output / "merged.pdf").pages) == 2
    assert "INV-1001" in (output / "merged.txt").read_text()
    assert (home / "prefect.db").is_file()  # the database the first start created
