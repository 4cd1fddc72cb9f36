"""Nothing half-done on disk: owner-tagged temporary files, the sweep of dead owners' leftovers, and SIGTERM.

The termination tests run real child processes that download from a slow HTTP server on 127.0.0.1 started here,
and send them a real SIGTERM (or SIGKILL) while three downloads are under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest

from prefect_pdfco import _tempfiles
from prefect_pdfco._download import download
from prefect_pdfco._linkguard import new_link_client
from prefect_pdfco._transfer import CHUNK_SIZE, Links
from tests.core._clock import VirtualClock

# Three downloads at once through the real guarded client. "main": in the main thread's event loop (the handler is
# installed by the transfers themselves). "thread": in a worker thread, as Prefect runs a .submit()ted task, while
# the main thread waits; the handler the transfers' handler chains to raises, as Prefect's does.
CHILD = """
import asyncio, signal, sys, threading
from prefect_pdfco import _tempfiles
from prefect_pdfco._download import download
from prefect_pdfco._linkguard import new_link_client
from prefect_pdfco._transfer import Links

async def three(base, out):
    async with new_link_client() as http:
        await asyncio.gather(*(download(Links(http), f"{base}/{n}.bin", out) for n in range(3)))

base, out, mode = sys.argv[1:]
if mode == "main":
    asyncio.run(three(base, out))
else:
    def like_prefect(signum, frame):
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, like_prefect)
    assert _tempfiles.install_termination_handler()
    worker = threading.Thread(target=asyncio.run, args=(three(base, out),))
    worker.start()
    worker.join()
"""


class Trickle(BaseHTTPRequestHandler):
    """Declares 100 MB, sends 2 MiB at once (so bytes reach the temporary file), then 1 KB every 50 ms for ever."""

    server: SlowServer  # pyright: ignore[reportIncompatibleVariableOverride]  # the server it was made by

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(100 * 1024 * 1024))
        self.send_header("ETag", '"slow"')
        self.end_headers()
        try:
            self.wfile.write(b"x" * (2 * CHUNK_SIZE))
            self.wfile.flush()
            with self.server.changed:
                self.server.started += 1
                self.server.changed.notify_all()
            while not self.server.stopping.wait(0.05):
                self.wfile.write(b"x" * 1024)
                self.wfile.flush()
        except OSError:
            pass  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        return None


class SlowServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Trickle)
        self.started = 0
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.started >= count, timeout=60), "the downloads never started"


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def parts(directory: Path) -> list[Path]:
    return sorted(directory.glob(".pdfco-*.part")) if directory.exists() else []


def start(server: SlowServer, out: Path, mode: str) -> subprocess.Popen[str]:
    base = f"http://127.0.0.1:{server.server_address[1]}/job"
    command = [sys.executable, "-c", CHILD, base, str(out), mode]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server.wait_for(3)
    deadline = time.monotonic() + 30
    while len([part for part in parts(out) if part.stat().st_size >= CHUNK_SIZE]) < 3:  # the child's writes land
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no bytes in the temporary files: {parts(out)}"
        time.sleep(0.02)
    return process


def stop(process: subprocess.Popen[str], sig: int) -> int:
    """Sends ``sig``; the child must be gone within 15 s (it would hang for ever on the slow server otherwise)."""
    process.send_signal(sig)
    try:
        process.communicate(timeout=15)
    finally:
        if process.poll() is None:  # pragma: no cover - only when the test fails anyway
            process.kill()
            process.wait()
    return process.returncode


@pytest.mark.parametrize("mode", ["main", "thread"])
def test_sigterm_during_concurrent_downloads_leaves_no_part_file_and_ends_the_process(
    slow_server: SlowServer, tmp_path: Path, mode: str
) -> None:
    """#17.7 and #17.10: the handler cancels every transfer on its own loop and unlinks every temporary file, then
    hands the signal on: the default action ("main"), or a handler that raises while the downloads run in a worker
    thread the interpreter waits for at exit ("thread")."""
    process = start(slow_server, tmp_path, mode)
    code = stop(process, signal.SIGTERM)
    assert code == (-signal.SIGTERM if mode == "main" else 143)
    assert os.listdir(tmp_path) == []


def test_sigkill_leaves_part_files_that_the_next_download_sweeps(
    slow_server: SlowServer, tmp_path: Path, clock: VirtualClock
) -> None:
    process = start(slow_server, tmp_path, "main")
    assert stop(process, signal.SIGKILL) == -signal.SIGKILL
    left = parts(tmp_path)
    assert len(left) == 3 and all(f"-{process.pid}-" in part.name for part in left)  # nothing runs after a SIGKILL

    async def next_download() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"fresh"))
        async with new_link_client(transport=transport) as http:
            await download(Links(http, clock=clock), "https://files.example/job/r.pdf", tmp_path)

    asyncio.run(next_download())
    assert os.listdir(tmp_path) == ["r.pdf"]


# --- the rules behind it -------------------------------------------------------------------------------------------


def stale_name(tag: str) -> str:
    return f"{_tempfiles.PART_PREFIX}{tag}-abc_123{_tempfiles.PART_SUFFIX}"


def dead_pid() -> str:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return gone.stdout.strip()  # reaped already: no such process any more


def test_the_sweep_removes_only_files_of_dead_owners_on_this_machine(tmp_path: Path) -> None:
    host, boot, pid, begun = _tempfiles.owner_tag().split("-")
    dead = dead_pid()
    names = {
        "dead": stale_name(f"{host}-{boot}-{dead}-123"),
        "reused pid": stale_name(f"{host}-{boot}-{pid}-{int(begun) + 1}"),  # our pid, an older process's file
        "previous boot": stale_name(f"{host}-{'f' * 8}-{pid}-{begun}"),
        "mine, in flight": stale_name(f"{host}-{boot}-{pid}-{begun}"),
        "another machine": stale_name(f"{'0' * 8}-{boot}-{dead}-123"),
        "another tool": ".pdfco-legacy.part",
        "locked": stale_name(f"{host}-{boot}-{dead}-456"),
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    holder = os.open(tmp_path / names["locked"], os.O_RDONLY)
    try:
        assert _tempfiles.lock(holder)  # as a live owner on a shared disk would hold it
        removed = _tempfiles.sweep(tmp_path, force=True)
    finally:
        os.close(holder)
    assert sorted(path.name for path in removed) == sorted(names[k] for k in ("dead", "reused pid", "previous boot"))
    kept = ("mine, in flight", "another machine", "another tool", "locked")
    assert sorted(os.listdir(tmp_path)) == sorted(names[k] for k in kept)
    (tmp_path / names["dead"]).write_bytes(b"partial")
    assert _tempfiles.sweep(tmp_path) == [] and (tmp_path / names["dead"]).exists()  # once a minute at most


def test_private_directories_of_dead_owners_are_swept(tmp_path: Path) -> None:
    mine = _tempfiles.new_private_dir(str(tmp_path))
    host, boot, _, _ = _tempfiles.owner_tag().split("-")
    left = tmp_path / f"pdfco-{host}-{boot}-{dead_pid()}-1-abc"
    left.mkdir()
    (left / "staged.pdf").write_bytes(b"x")
    assert len(_tempfiles.sweep_private_dirs(str(tmp_path), force=True)) == 1
    assert os.listdir(tmp_path) == [mine.name]


def test_part_files_are_owner_tagged_locked_and_get_the_usual_mode(tmp_path: Path) -> None:
    file, path = _tempfiles.open_part(tmp_path / "new")
    with file:
        assert path.parent == tmp_path / "new"
        assert path.name.startswith(f"{_tempfiles.PART_PREFIX}{_tempfiles.owner_tag()}-")
        assert _tempfiles.sweep(path.parent, force=True) == []  # its owner is alive and holds the lock
        umask = os.umask(0o022)
        os.umask(umask)
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.fixture
def sigterm_restored() -> Iterator[list[int]]:
    """A recording SIGTERM handler, as Prefect's or a user's would be; the original is restored afterwards."""
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    original = signal.signal(signal.SIGTERM, record)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, original)


def test_the_handler_cancels_transfers_on_their_loops_removes_files_then_chains(
    tmp_path: Path, sigterm_restored: list[int]
) -> None:
    assert _tempfiles.install_termination_handler() and _tempfiles.install_termination_handler()  # idempotent
    file, part = _tempfiles.open_part(tmp_path)
    file.close()
    entered, outcome = threading.Event(), list[str]()

    async def transfer() -> None:
        with _tempfiles.transfer():
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise

    worker = threading.Thread(target=_run_quietly, args=(transfer,))
    worker.start()
    assert entered.wait(10)
    with _tempfiles.track(part):
        assert _tempfiles.in_flight() == ([part], 1)
        os.kill(os.getpid(), signal.SIGTERM)  # runs the handler in this (the main) thread
        worker.join(10)
    assert outcome == ["cancelled"] and not part.exists()
    assert sigterm_restored == [signal.SIGTERM]  # handed on exactly once
    assert _tempfiles.in_flight() == ([], 0)


def _run_quietly(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(make())


def test_the_handler_is_installed_only_from_the_main_thread(sigterm_restored: list[int]) -> None:
    before, answers = signal.getsignal(signal.SIGTERM), list[bool]()
    thread = threading.Thread(target=lambda: answers.append(_tempfiles.install_termination_handler()))
    thread.start()
    thread.join()
    assert answers == [False] and signal.getsignal(signal.SIGTERM) is before
