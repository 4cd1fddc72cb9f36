"""Runs the docs' Python blocks, each in a process of its own, forked from one interpreter that imported Prefect.

Importing prefect, prefect_pdfco and the emulator takes about 4 s of CPU; importing them once and forking a child
per block saves that for every block, while each block still runs alone in its process, from its own file, in its
own working directory, as ``python <file>`` (or ``pytest <file>`` for a test file) would run it.
Reads ``[{"key", "cwd", "script", "out", "timeout", "pytest"}, ...]`` as JSON on stdin and prints
``{key: [code, seconds]}`` (``code`` is the exit status, or ``"timeout"``).
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import signal
import sys
import time
import traceback

# Imported once, before the forks: what the blocks import, and what Prefect imports when a first flow runs. No
# thread is running yet, so forking is safe.
import prefect.engine
import prefect.flow_engine
import prefect.flows
import prefect.task_engine
import prefect.utilities.visualization
import pytest

import prefect_pdfco.callbacks
import prefect_pdfco.flows
import prefect_pdfco.testing
from pdfco_emulator import PdfcoEmulator

WARM = (prefect.engine, prefect.flow_engine, prefect.task_engine, prefect.utilities.visualization, PdfcoEmulator)
WARM_OURS = (prefect_pdfco.callbacks, prefect_pdfco.flows, prefect_pdfco.testing)

PARALLEL = int(os.environ.get("DOCS_BLOCKS_PARALLEL", "5"))


def _child(job: dict[str, object]) -> None:
    os.setsid()  # its own process group: a timeout kills whatever the block started too
    os.chdir(str(job["cwd"]))
    out = os.open(str(job["out"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    script = str(job["script"])
    sys.path[0] = str(job["cwd"])
    code = 0
    try:
        if job.get("pytest"):
            code = int(pytest.main([script, "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]))
        else:
            sys.argv = [script]
            runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    jobs: list[dict[str, object]] = json.load(sys.stdin)
    results: dict[str, object] = {}
    running: dict[int, tuple[dict[str, object], float, float]] = {}
    waiting = list(jobs)
    while waiting or running:
        while waiting and len(running) < PARALLEL:
            job = waiting.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(job)
            started = time.monotonic()
            running[pid] = (job, started, started + float(str(job["timeout"])))
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            job, started, _ = running.pop(pid)
            results[str(job["key"])] = [os.waitstatus_to_exitcode(status), round(time.monotonic() - started, 1)]
            _kill_group(pid)  # anything the block left running (an emulator thread's server is in-process)
            continue
        for pid, (job, started, deadline) in list(running.items()):
            if time.monotonic() > deadline:
                _kill_group(pid)
                os.waitpid(pid, 0)
                running.pop(pid)
                results[str(job["key"])] = ["timeout", round(time.monotonic() - started, 1)]
        time.sleep(0.02)
    json.dump(results, sys.stdout)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
