"""No partial files, whatever happens: SIGTERM, SIGKILL, Prefect's own cancellation, with real processes.

Each subprocess downloads from the emulator and is held mid-transfer by fault injection (a dropped connection
followed by a long retry wait, or a link that answers only after minutes); the test waits until the
temporary file exists by polling the directory, then sends a real signal.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect import flow

from prefect_pdfco import download_result
from prefect_pdfco.files import adownload_result, aupload_file
from prefect_pdfco.files import tempfiles as _tempfiles
from prefect_pdfco.testing import PdfcoEmulator

from .test_files import FAST, only_files

CONTENT = os.urandom(1024 * 1024)

# Downloads in the main thread's event loop; after the injected drop it waits 10 minutes before retrying.
ASYNC_CHILD = """
import asyncio, sys
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco.files import adownload_result
slow = RetryPolicy(initial_delay=600, max_delay=600, jitter=0)
asyncio.run(adownload_result(sys.argv[1], sys.argv[2], retry_policy=slow))
"""

# A sync flow run on a Prefect API: Prefect's SIGTERM bridge is armed, the transfer runs in its loop thread.
FLOW_CHILD = """
import sys
from prefect import flow
from prefect_pdfco import download_result

@flow
def grab(url: str, destination: str) -> str:
    return download_result(url, destination).path

grab(sys.argv[1], sys.argv[2])
"""


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


async def uploaded(emu: PdfcoEmulator, tmp_path: Path) -> str:
    (tmp_path / "big.bin").write_bytes(CONTENT)
    async with emu.credentials().get_client() as client:
        return await aupload_file(client, tmp_path / "big.bin")


def parts(directory: Path) -> list[Path]:
    return sorted(directory.glob(".pdfco-*.part")) if directory.exists() else []


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[str] | None = None) -> None:
    """Polls ``condition`` until it holds; fails if the process ends first or nothing happens for a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the child ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def child(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stopped(process: subprocess.Popen[str], sig: int) -> int:
    process.send_signal(sig)
    try:
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # pragma: no cover - only when the test is failing anyway
            process.kill()
            process.wait()
    return process.returncode


def held_mid_transfer(emu: PdfcoEmulator, url: str, out: Path) -> subprocess.Popen[str]:
    """A child downloading ``url`` into ``out``, holding 300 KB in its temporary file, waiting to retry."""
    emu.inject_download_drop(after_bytes=300_000)
    process = child(ASYNC_CHILD, url, str(out))
    wait_for(lambda: emu.stats().get("downloads_dropped", 0) == 1, "the drop", process)
    wait_for(lambda: bool(parts(out)) and parts(out)[0].stat().st_size > 0, "bytes in the part file", process)
    return process


async def test_sigterm_during_a_download_leaves_no_partial_file(emu: PdfcoEmulator, tmp_path: Path) -> None:
    url = await uploaded(emu, tmp_path)
    out = tmp_path / "out"
    process = await asyncio.to_thread(held_mid_transfer, emu, url, out)
    assert await asyncio.to_thread(stopped, process, signal.SIGTERM) == -signal.SIGTERM  # the usual end, after all
    assert only_files(out) == []


async def test_sigkill_leaves_a_part_file_that_the_next_download_sweeps(emu: PdfcoEmulator, tmp_path: Path) -> None:
    url = await uploaded(emu, tmp_path)
    out = tmp_path / "out"
    process = await asyncio.to_thread(held_mid_transfer, emu, url, out)
    assert await asyncio.to_thread(stopped, process, signal.SIGKILL) == -signal.SIGKILL
    left = parts(out)
    assert len(left) == 1 and f"-{process.pid}-" in left[0].name  # nothing runs after a SIGKILL

    landed = await adownload_result(url, out, retry_policy=FAST)
    assert Path(landed.path).read_bytes() == CONTENT
    assert only_files(out) == ["big.bin"]


@pytest.mark.usefixtures("prefect_harness")
async def test_sigterm_to_a_prefect_flow_run_leaves_no_partial_file(emu: PdfcoEmulator, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    url = await uploaded(emu, tmp_path)
    out = tmp_path / "out"
    emu.inject("/pdf-temp-files", delay=300)  # the link answers in 5 minutes: the part file waits, empty
    process = child(FLOW_CHILD, url, str(out), env={**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())})
    await asyncio.to_thread(wait_for, lambda: bool(parts(out)), "the part file", process)
    await asyncio.to_thread(stopped, process, signal.SIGTERM)
    assert only_files(out) == []


@pytest.mark.usefixtures("prefect_harness")
def test_a_prefect_task_timeout_cancels_the_download_and_its_file(emu: PdfcoEmulator, tmp_path: Path) -> None:
    url = asyncio.run(uploaded(emu, tmp_path))
    out = tmp_path / "out"
    emu.inject("/pdf-temp-files", delay=300)

    @flow
    async def grab() -> None:
        await download_result.with_options(timeout_seconds=2)(url, str(out))

    state = asyncio.run(grab(return_state=True))
    assert state.is_failed() and "TimeoutError" in repr(state.result(raise_on_failure=False))
    assert only_files(out) == []


# --- the rules behind it ------------------------------------------------------------------------------------------


def stale_name(tag: str) -> str:
    return f"{_tempfiles.PART_PREFIX}{tag}-abc_123{_tempfiles.PART_SUFFIX}"


def test_the_sweep_removes_only_files_of_dead_owners_on_this_machine(tmp_path: Path) -> None:
    host, boot, pid, start = _tempfiles.owner_tag().split("-")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = gone.stdout.strip()  # reaped already: no such process any more
    names = {
        "dead": stale_name(f"{host}-{boot}-{dead_pid}-123"),
        "reused pid": stale_name(f"{host}-{boot}-{pid}-{int(start) + 1}"),  # our pid, an older process's file
        "previous boot": stale_name(f"{host}-{'f' * 8}-{pid}-{start}"),
        "mine, in flight": stale_name(f"{host}-{boot}-{pid}-{start}"),
        "another machine": stale_name(f"{'0' * 8}-{boot}-{dead_pid}-123"),
        "another tool": ".pdfco-legacy.part",
        "locked": stale_name(f"{host}-{boot}-{dead_pid}-456"),
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    holder = os.open(tmp_path / names["locked"], os.O_RDONLY)
    try:
        _tempfiles.lock(holder)  # as a live owner on a shared disk would hold it
        removed = _tempfiles.sweep(tmp_path, force=True)
    finally:
        os.close(holder)
    assert sorted(path.name for path in removed) == sorted(names[k] for k in ("dead", "reused pid", "previous boot"))
    assert sorted(only_files(tmp_path)) == sorted(
        names[k] for k in ("mine, in flight", "another machine", "another tool", "locked")
    )
    (tmp_path / names["dead"]).write_bytes(b"partial")
    assert _tempfiles.sweep(tmp_path) == [] and (tmp_path / names["dead"]).exists()  # once a minute at most


def test_sigterm_removes_registered_files_and_hands_the_signal_on(tmp_path: Path) -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        fd, path = _tempfiles.new_part_file(tmp_path)
        os.close(fd)
        with _tempfiles.track(path):
            assert signal.getsignal(signal.SIGTERM) is _tempfiles._on_sigterm
            os.kill(os.getpid(), signal.SIGTERM)
            assert received == [signal.SIGTERM] and not path.exists()
        assert signal.getsignal(signal.SIGTERM) is not _tempfiles._on_sigterm  # restored once no transfer runs
        assert _tempfiles.registered() == []
    finally:
        signal.signal(signal.SIGTERM, previous)
