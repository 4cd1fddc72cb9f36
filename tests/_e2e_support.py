"""Process plumbing for the end-to-end tests: a real ``prefect server start``, CLI calls and served flows.

Every process is started in its own session (process group) with its output in a log file, so that teardown
can kill it with everything it spawned, and a failing test can print what each process said.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

__all__ = [
    "ManagedProcess",
    "PrefectServer",
    "Processes",
    "free_port",
    "prefect_cli",
    "processes",
    "start_prefect_server",
]

#: How much of each process's log a failure report shows (the end is where the error is).
LOG_TAIL_CHARS = 12_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the server binds it itself, so not atomic)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_cli(*args: str) -> list[str]:
    """The ``prefect`` CLI of the Python running the tests (``python -m prefect`` is the same Typer app)."""
    return [sys.executable, "-m", "prefect", *args]


def _children_by_parent() -> dict[int, list[int]]:
    """{ppid: [pid, ...]} read from /proc (Linux); empty elsewhere, where process groups must suffice."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Field 4 of /proc/<pid>/stat is the ppid; the command name (field 2) may contain spaces: split after ')'.
            ppid = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    tree = _children_by_parent()
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _signal(pids: Sequence[int], pgid: int | None, sig: signal.Signals) -> None:
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


@dataclass
class ManagedProcess:
    """A subprocess started in its own session, its output going to ``log_path``."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far (stdout and stderr, interleaved)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM to the process group and every descendant, then SIGKILL to whatever is left.

        Descendants are collected first because Prefect's runner starts each flow run in a new session
        (``start_new_session=True``), out of reach of a signal to our group.
        """
        pgid = self.popen.pid  # start_new_session=True made the child a session and group leader
        descendants = _descendants(self.popen.pid)
        if self.alive() or descendants:
            _signal(descendants, pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace_seconds)
            _signal([pid for pid in descendants if Path(f"/proc/{pid}").exists()], pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


@dataclass
class Processes:
    """Starts and runs subprocesses with logs in ``log_dir``; ``stop_all`` kills them, newest first."""

    log_dir: Path
    started: list[ManagedProcess] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> ManagedProcess:
        """Starts a long-running process (server, serve) in its own session."""
        log_path = self.log_dir / f"{len(self.started):02d}-{name}.log"
        with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                list(args),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = ManagedProcess(name, popen, log_path)
        self.started.append(process)
        return process

    def run(
        self, name: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Runs a command to completion; its output is kept for the failure report. Does not check the code."""
        process = self.start(name, args, env=env, cwd=cwd)
        try:
            returncode = process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.stop()
            raise AssertionError(f"{name} did not finish within {timeout:g} s:\n{process.log()}") from None
        return subprocess.CompletedProcess(list(args), returncode, process.log(), "")

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()

    def report(self) -> str:
        """The tail of every process's log, for a failing test's output."""
        parts = []
        for process in self.started:
            state = "running" if process.alive() else f"exit code {process.popen.returncode}"
            text = process.log()
            if len(text) > LOG_TAIL_CHARS:
                text = "[...]\n" + text[-LOG_TAIL_CHARS:]
            parts.append(f"===== {process.name} ({state}): {' '.join(process.popen.args)} =====\n{text}")  # type: ignore[arg-type]
        return "\n".join(parts)

    @contextlib.contextmanager
    def report_on_failure(self) -> Iterator[None]:
        """Prints the logs when the block raises, so a red CI run shows what the server and flows said."""
        try:
            yield
        except BaseException:
            print(self.report(), file=sys.stderr)
            raise


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    """Every subprocess a module starts, stopped (with their children) at its end whatever happens."""
    group = Processes(log_dir=tmp_path_factory.mktemp("e2e-logs"))
    try:
        yield group
    finally:
        group.stop_all()


@dataclass
class PrefectServer:
    """A running ``prefect server start`` with its own PREFECT_HOME and SQLite database."""

    port: int
    home: Path
    process: ManagedProcess | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for any process that must talk to this server (and to nothing else)."""
        # Drop the test session's own PREFECT_* settings (its PREFECT_HOME, a harness API URL...).
        env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            # Without this the UI served on our port would call the API on Prefect's default port, 4200.
            PREFECT_UI_API_URL=self.api_url,
            PREFECT_LOGGING_TO_API_BATCH_INTERVAL="0.5",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env


def start_prefect_server(
    processes: Processes, home: Path, *, timeout: float = 90.0, attempts: int = 3
) -> PrefectServer:
    """Starts ``prefect server start`` on a free port and returns once ``/api/health`` answers.

    The port is picked before the server binds it, so another process may take it in between (other test
    runs share this machine): the server then exits at once saying so, and we try again on another port.
    """
    home.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        server = PrefectServer(free_port(), home)
        args = prefect_cli("server", "start", "--host", "127.0.0.1", "--port", str(server.port))
        process = server.process = processes.start("prefect-server", args, env=server.env(), cwd=home)
        if _wait_healthy(server, process, timeout):
            return server
        if "already in use" not in process.log().lower():
            break
    raise RuntimeError(f"prefect server exited with code {process.popen.returncode}:\n{process.log()}")


def _wait_healthy(server: PrefectServer, process: ManagedProcess, timeout: float) -> bool:
    """True once /api/health answers; False if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            return False
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return True
        time.sleep(0.25)
    raise RuntimeError(f"prefect server did not answer /api/health within {timeout:g} s:\n{process.log()}")
