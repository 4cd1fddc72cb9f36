"""Servers in processes of their own (a PDF.co emulator, a ``prefect server start``) and whole-process timing.

Benchmarks use these so that neither server's CPU is counted as the client's, and so that a way under test is
timed as a user runs it: a fresh ``python`` process, imports and flow start included.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "Timed",
    "free_port",
    "prefect_env",
    "prefect_server",
    "run_timed",
    "standalone_emulator",
    "warm_bytecode",
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[Any], timeout: float, **kwargs: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, **kwargs).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def _stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM to the process group (the server and what it started), SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def standalone_emulator(api_key: str, *options: str) -> Iterator[str]:
    """Runs ``python -m pdfco_emulator`` on a free loopback port until the block ends; yields its base URL.

    ``options`` are its command-line options (``--job-duration 3``, ``--rate-limit 2``, ``--lenient``...).
    """
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pdfco_emulator", "--port", str(port), "--api-key", api_key, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base_url}/v1/account/credit/balance", server, 60, headers={"x-api-key": api_key})
        yield base_url
    finally:
        _stop(server)


#: Where children keep their bytecode: a package installed from a wheel has its ``.pyc`` files, so a benchmark must
#: not make every process compile the library again (this machine sets PYTHONDONTWRITEBYTECODE).
PYCACHE = Path(tempfile.gettempdir()) / "pdfco-bench-pycache"


def prefect_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """This environment without its PREFECT_* settings, with a home of its own and (if given) the API URL; bytecode
    cached in ``PYCACHE`` (warm it with ``warm_bytecode``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PYTHONUNBUFFERED="1",
        PYTHONPYCACHEPREFIX=str(PYCACHE),
    )
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def warm_bytecode(env: Mapping[str, str]) -> None:
    """Imports what the children import once, so that each finds its bytecode cached (as after a pip install)."""
    code = "import prefect, prefect.main, prefect.flows, httpx, prefect_pdfco, prefect_pdfco.flows, pdfco_emulator"
    subprocess.run([sys.executable, "-c", code], env=dict(env), check=True)


@contextlib.contextmanager
def prefect_server(home: Path | None = None, *, timeout: float = 120.0) -> Iterator[str]:
    """Runs ``prefect server start`` (SQLite in ``home``, a temporary directory by default) on a free loopback port
    until the block ends; yields its API URL (``http://127.0.0.1:<port>/api``)."""
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pdfco-bench-server-")))
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = prefect_env(
            home,
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(port),
            PREFECT_UI_API_URL=api_url,
        )
        log = stack.enter_context((home / "server.log").open("wb"))
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for(f"{api_url}/health", server, timeout)
            yield api_url
        finally:
            _stop(server)


@dataclass(frozen=True)
class Timed:
    """One child process, timed from outside: wall seconds from start to reaping, its CPU (and that of the children
    it waited for) as the kernel counted it, its peak RSS, and the JSON object it printed last (if any)."""

    wall: float
    user: float
    system: float
    rss_mb: float
    returncode: int
    output: dict[str, Any]
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        """User + system seconds."""
        return self.user + self.system


def run_timed(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 3600
) -> Timed:
    """Runs ``command`` to its end and times it as a whole process (``os.wait4``: its own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(command), env=dict(env) if env is not None else None, cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=out, stderr=err,
        )  # fmt: skip
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    output: dict[str, Any] = {}
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                output = parsed
                break
    return Timed(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, child.returncode, output, stdout, stderr)
