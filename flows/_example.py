"""What the examples share (credentials, ``--help``, a local Prefect server, errors told once), so each shows one idea.

Not part of prefect-pdfco. The emulator extra is imported only when a run needs the embedded emulator.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, NoReturn, cast

import httpx
from prefect import Flow
from prefect.client.schemas.objects import State
from prefect.context import refresh_global_settings_context
from prefect.logging import get_run_logger
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.settings import PREFECT_API_URL, PREFECT_HOME

from prefect_pdfco import AuthenticationError, BlockNotFoundError, PdfcoConnectionError, PdfcoCredentials
from prefect_pdfco._ui import submitted_jobs  # the jobs this process paid for (not part of the public API)

BLOCK = "pdfco"
#: A first start also creates the database; on a busy 2-core machine that outlasts Prefect's own 20 s limit.
SERVER_START_SECONDS = 120
WIDTH = 110
CREDENTIALS_HELP = (
    "Credentials: the saved PdfcoCredentials block `pdfco` if there is one (prefect-pdfco credentials save), else "
    "PDFCO_API_KEY (and PDFCO_BASE_URL for another API root), else an embedded PDF.co emulator (no account, no "
    "credits; needs the emulator extra). Without PREFECT_API_URL the example starts a local Prefect server for the "
    f"run (a first start creates its database: up to {SERVER_START_SECONDS} s) and stops it at the end; the runs "
    "stay in PREFECT_HOME for `prefect server start` to show."
)


@dataclass
class Used:
    """Which credentials the run took: what the log says, and what an error message needs to say what to do."""

    described: str
    base_url: str
    block: str | None = None
    embedded: bool = False


used: Used | None = None


def parser(doc: str | None, needs: str) -> argparse.ArgumentParser:
    """The example's ``--help``: its docstring, what else it needs, and where its credentials come from."""
    summary, _, usage = (doc or "").partition("\n\n")
    epilog = "\n\n".join(
        [textwrap.dedent(usage).strip(), textwrap.fill(needs, WIDTH), textwrap.fill(CREDENTIALS_HELP, WIDTH)]
    )
    formatter = argparse.RawDescriptionHelpFormatter  # keeps the usage lines and paragraphs apart
    return argparse.ArgumentParser(description=summary.strip(), epilog=epilog, formatter_class=formatter)


@contextlib.contextmanager
def credentials(*, embedded: bool = True) -> Iterator[PdfcoCredentials]:
    """The saved block ``pdfco``, else ``PDFCO_API_KEY``, else (when ``embedded``) an emulator for the run.

    The run's log says which, by block name and API host; never the key.
    """
    global used
    logger = get_run_logger()
    try:
        block = PdfcoCredentials.load(BLOCK)
    except BlockNotFoundError:
        key, base_url = os.environ.get("PDFCO_API_KEY", "").strip(), os.environ.get("PDFCO_BASE_URL", "").strip()
        if key:
            block = PdfcoCredentials.model_validate({"api_key": key, **({"base_url": base_url} if base_url else {})})
            used = Used(f"PDFCO_API_KEY, for {httpx.URL(block.base_url).netloc.decode()}", block.base_url)
        elif not embedded:
            raise
        else:
            with _embedded_emulator() as (block, described):
                logger.info("Credentials: %s", described)
                yield block
            return
    else:
        used = Used(block.described, block.base_url, block=BLOCK)
    logger.info("Credentials: %s", used.described)
    yield block


@contextlib.contextmanager
def _embedded_emulator() -> Iterator[tuple[PdfcoCredentials, str]]:
    """A PDF.co emulator for the length of the run (the emulator extra): its credentials, and how the log names it."""
    global used
    try:
        from pdfco_emulator import PdfcoEmulator
        from prefect_pdfco.testing import credentials_for
    except ImportError as error:
        raise RuntimeError(
            f"No credentials: no block `{BLOCK}` is saved and PDFCO_API_KEY is not set, and the embedded emulator "
            f"needs the emulator extra ({error}). Save a block (prefect-pdfco credentials save), set PDFCO_API_KEY, "
            "or pip install 'prefect-pdfco[emulator]'."
        ) from None
    with PdfcoEmulator(api_key="embedded-emulator-key") as emulator:
        described = f"the embedded PDF.co emulator on 127.0.0.1:{emulator.port} (no account, no credits)"
        used = Used(described, emulator.base_url, embedded=True)
        yield credentials_for(emulator), described


# --- running an example ------------------------------------------------------------------------------------------


def run(flow: Flow[..., Any], parameters: dict[str, Any], *, serve: dict[str, Any] | None = None) -> NoReturn:
    """Runs ``flow`` once (or serves it), on a local Prefect server when none is configured, and exits.

    A failure ends with one short paragraph (what failed, what was spent, what to do) and exit code 1; Ctrl-C ends
    within seconds with the jobs already paid for and how to pick them up, and exit code 130.
    """
    code = 0
    try:
        local = start_local_server()
        _quiet_console()
        if serve is not None:
            flow.serve(**serve)
        else:
            state = cast("State[Any]", flow(**parameters, return_state=True))
            if not state.is_completed():
                code = 1
                print(_failure(flow.name, state), file=sys.stderr)
        if local and code == 0:
            home = PREFECT_HOME.value()
            print(f"(The local Prefect server stops now; `prefect server start` shows the run, kept in {home}.)")
    except KeyboardInterrupt:
        code = 130
        print(f"Stopped serving {flow.name}." if serve is not None else _interrupted(), file=sys.stderr)
    sys.stdout.flush()
    sys.exit(code)


def _failure(flow_name: str, state: State[Any]) -> str:
    """At most 15 lines: what failed, what was spent, what to do, where the traceback is."""
    error = state.result(raise_on_failure=False)
    lines = [f"{flow_name} failed: {type(error).__name__}"]
    message = textwrap.wrap(str(error), WIDTH - 2, initial_indent="  ", subsequent_indent="  ")
    if any(str(error)[:100] in line for line in _OnceOnConsole.warned):
        message = ["  (the warning above says why)"]  # once on the screen is enough
    lines += message[:6] + (["  [...]"] if len(message) > 6 else [])
    lines += textwrap.wrap(_spent(), WIDTH)
    advice = _what_to_do(error)
    lines += textwrap.wrap(advice, WIDTH) if advice else []
    run_id = state.state_details.flow_run_id
    lines += textwrap.wrap(f"The traceback is in the flow run's logs: prefect flow-run logs {run_id}", WIDTH)
    return "\n".join(lines[:15])


def _what_to_do(error: BaseException) -> str:
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, (PdfcoConnectionError, AuthenticationError)):
        cause = cause.__cause__ or cause.__context__
    if used is None or cause is None:
        return ""
    where = used.base_url
    if used.block is not None:
        fix = (
            f"fix the block (PDFCO_API_KEY=... prefect-pdfco credentials save --name {used.block} --base-url "
            f"<API root> --overwrite), or delete it (prefect block delete pdfco-credentials/{used.block}) to run "
            "against the embedded emulator."
        )
        if isinstance(cause, AuthenticationError):
            return f"What to do: the key of block '{used.block}' ({where}) was refused: {fix}"
        port = httpx.URL(where).port
        start = f"start it (pdfco-emulator --port {port} --api-key <the block's key>), " if port else "check it, "
        return f"What to do: block '{used.block}' points at {where}, where nothing answers: {start}or {fix}"
    if isinstance(cause, AuthenticationError):
        return f"What to do: PDFCO_API_KEY was refused by {where}: set the right key, or unset it for the emulator."
    return f"What to do: nothing answers at {where} (PDFCO_BASE_URL): start the emulator there, or unset it."


def _spent() -> str:
    jobs = submitted_jobs()
    if not jobs:
        return "Spent: no job was submitted."
    credits = sum(int(job.row()["credits"]) for job in jobs)
    paid = "pretend credits of the embedded emulator" if used and used.embedded else "credits"
    named = ", ".join(f"{job.document or job.operation} (job {job.job_id}, {job.status})" for job in jobs)
    return f"Spent: {credits} {paid} on {len(jobs)} job(s), checks included: {named}"


def _interrupted() -> str:
    """What Ctrl-C left behind: the jobs already paid for, and how to pick them up instead of paying again."""
    if used is None:
        return "Interrupted before the flow started its work: nothing was spent."
    jobs = submitted_jobs()
    lines = ["Interrupted: the flow run is marked Crashed; nothing half-written is left in the output."]
    if not jobs:
        return "\n".join([*lines, "No job had been submitted: nothing was spent."])
    if used.embedded:
        lines.append(f"{len(jobs)} job(s) ran on the embedded emulator, which stopped with this run: nothing was paid.")
        return "\n".join(lines)
    lines.append(f"{len(jobs)} job(s) had been submitted, and paid for:")
    lines += [f"  {job.job_id}  {job.document or job.operation}  ({job.status})" for job in jobs]
    lines += [
        "Pick them up instead of paying again (a check costs 2 credits; PDF.co keeps results about an hour):",
        f"  python {_here('on_job_succeeded.py')} --job-id <job id>     # one check, then the files land in ./output",
        '  or, in a flow: download_result(wait_for_job(credentials, "<job id>"), "./output")',
    ]
    return "\n".join(lines)


def _here(name: str) -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path


# --- the console: the story of the documents, and errors once ---------------------------------------------------


class _OnceOnConsole(logging.Filter):
    """Tracebacks and repeated error messages stay in the flow run's logs (the API handler has sent them already:
    it belongs to the run loggers, which pass records up to the console only after); the console keeps the rest."""

    #: Warnings the console showed, so that the closing paragraph does not repeat one.
    warned: deque[str] = deque(maxlen=100)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        message = record.getMessage()
        if record.exc_info or message.startswith("Task run failed with"):
            return False
        if message.startswith("Finished in state Failed("):
            record.msg, record.args = "Finished in state Failed", ()
        elif record.levelno >= logging.WARNING:
            self.warned.append(message)
        return True


def _quiet_console() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _OnceOnConsole) for f in handler.filters
        ):
            handler.addFilter(_OnceOnConsole())


# --- a local Prefect server of our own ----------------------------------------------------------------------------


def start_local_server() -> bool:
    """When no Prefect API is configured, starts ``prefect server start`` for this process; False when one is.

    Prefect's own temporary server shares our process group, so Ctrl-C killed it with the flow and the client then
    spent minutes failing to send its last logs; this one has a session of its own, telemetry off, and is stopped
    at exit, after Prefect has sent those logs (its services drain before ``atexit`` handlers run).
    """
    if PREFECT_API_URL.value():
        return False
    for _attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}/api"
        log = tempfile.TemporaryFile()  # noqa: SIM115 (read on failure, closed with the process)
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": url}
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(_stop, process)
        print(
            f"Starting a local Prefect server on http://127.0.0.1:{port} (a first start creates its database: allow up "
            f"to {SERVER_START_SECONDS} s; set PREFECT_API_URL to use a server of your own)...",
            flush=True,
        )
        if _healthy(url, process, log):
            os.environ["PREFECT_API_URL"] = url  # for this process's settings and every process it starts
            refresh_global_settings_context()
            return True
    raise SystemExit("Could not start a local Prefect server: every port tried was taken.")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> bool:
    """True once the server answers; False when its port was taken meanwhile; exits when it fails or is too slow."""
    started = time.monotonic()
    while time.monotonic() - started < SERVER_START_SECONDS:
        if process.poll() is not None:
            log.seek(0)
            said = log.read().decode(errors="replace")
            if "already in use" in said:
                return False
            raise SystemExit(f"The local Prefect server exited ({process.returncode}):\n{said[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200:
                return True
        time.sleep(0.2)
    raise SystemExit(f"The local Prefect server did not answer within {SERVER_START_SECONDS} s.")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL after 3 s (it stops in well under a second when idle)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
