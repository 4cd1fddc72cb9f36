"""Process plumbing for the end-to-end tests: a real ``prefect server start``, CLI calls and example runs.

Every process starts in its own session with its output in a log file, so that teardown can stop it with whatever
it spawned and a failing test can print what each process said. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "flows"
#: How much of each process's log a failure report shows (the end is where the error is).
LOG_TAIL_CHARS = 12_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the server binds it itself, so not atomic)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_cli(*args: str) -> list[str]:
    """The ``prefect`` CLI of the Python running the tests."""
    return [sys.executable, "-m", "prefect", *args]


def answers(url: str) -> bool:
    """Whether something answers HTTP at ``url``."""
    try:
        httpx.get(url, timeout=2, trust_env=False)
    except httpx.HTTPError:
        return False
    return True


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc: Linux)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


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

    def stop(self) -> None:
        """SIGTERM to the process group and every descendant, then SIGKILL to whatever is left after 10 s
        (Prefect's runner starts each flow run in a new session, out of reach of a signal to the group)."""
        below = _descendants(self.popen.pid)
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)  # start_new_session made it the leader of its own group
            for pid in below:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)


@dataclass
class Processes:
    """Starts and runs subprocesses with logs in ``log_dir``; ``stop_all`` stops them, newest first."""

    log_dir: Path
    started: list[ManagedProcess] = field(default_factory=list)

    def start(self, name: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> ManagedProcess:
        """Starts a process in its own session."""
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
        self, name: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 180.0
    ) -> tuple[int, str]:
        """Runs a command to completion: its exit code and output (not checked here)."""
        process = self.start(name, args, env=env, cwd=cwd)
        try:
            code = process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.stop()
            raise AssertionError(f"{name} did not finish within {timeout:g} s:\n{process.log()}") from None
        return code, process.log()

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
            parts.append(f"===== {process.name} ({state}) =====\n{text}")
        return "\n".join(parts)

    @contextlib.contextmanager
    def report_on_failure(self) -> Iterator[None]:
        """Prints the logs when the block raises, so a red CI run shows what the server and examples said."""
        try:
            yield
        except BaseException:
            print(self.report(), file=sys.stderr)
            raise


@dataclass
class PrefectServer:
    """A running ``prefect server start`` with its own PREFECT_HOME and SQLite database."""

    port: int
    home: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process that must talk to this server (and to nothing else)."""
        return base_env(self.home, PREFECT_API_URL=self.api_url, PREFECT_UI_API_URL=self.api_url, **extra)

    def warm_home(self, home: Path) -> Path:
        """A Prefect home holding a copy of this server's database: a server started there skips the migrations."""
        home.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.home / "prefect.db") as source, sqlite3.connect(home / "prefect.db") as copy:
            source.backup(copy)
        return home


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """The test run's environment without its Prefect and PDF.co settings, with ``home`` as PREFECT_HOME."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "PDFCO_"))}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_LOGGING_TO_API_BATCH_INTERVAL="0.3",
        PDFCO_EMULATOR_STRICT="1",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def start_prefect_server(processes: Processes, home: Path, *, attempts: int = 3) -> PrefectServer:
    """``prefect server start`` on a free port, returned once ``/api/health`` answers.

    The port is picked before the server binds it, so another process may take it in between: the server then
    exits saying so, and another port is tried.
    """
    home.mkdir(parents=True, exist_ok=True)
    said = ""
    for _ in range(attempts):
        server = PrefectServer(free_port(), home)
        args = prefect_cli("server", "start", "--host", "127.0.0.1", "--port", str(server.port))
        process = processes.start("prefect-server", args, env=server.env(), cwd=home)
        while process.alive():
            if answers(f"{server.api_url}/health"):
                return server
            time.sleep(0.25)  # polling a process we do not control: no event to wait on
        said = f"prefect server exited with code {process.popen.returncode}:\n{process.log()}"
        if "already in use" not in said.lower():
            break
    raise RuntimeError(said)


def flow_run_states(home: Path) -> dict[str, tuple[str, str]]:
    """{flow run id: (state type, state name)} read from the SQLite database of a stopped server's home."""
    with contextlib.closing(sqlite3.connect(home / "prefect.db")) as db:
        rows = db.execute("SELECT id, state_type, state_name FROM flow_run").fetchall()
    return {str(run_id): (str(kind), str(name)) for run_id, kind, name in rows}
