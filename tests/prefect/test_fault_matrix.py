"""Issue #17's fault matrix: one test (or a few) per numbered defect, each failing on 663a49f for that defect.

Real Prefect (one session harness), a real PDF.co emulator on 127.0.0.1 counting every request, real signals.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
import math
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from prefect import flow

import prefect_pdfco
from prefect_pdfco import (
    InvalidParametersError,
    JobResult,
    JobTimeout,
    PdfcoCredentials,
    PdfcoError,
    SubmitOutcomeUnknown,
    download_results,
    html_to_pdf,
    wait_for_job,
    wait_for_jobs,
)
from prefect_pdfco.flows import check_job_for, run_batch, run_operation

try:  # the emulator's own package (issue #19); before it, the library's testing module
    from pdfco_emulator import PdfcoEmulator
except ImportError:  # pragma: no cover - only on trees without pdfco_emulator
    from prefect_pdfco.testing import PdfcoEmulator  # type: ignore[no-redef,attr-defined]

HTML = "/v1/pdf/convert/from/html"
SCRIPTS = Path(__file__).parent / "fault_scripts"
#: Long enough for any result link to outlive a retry two hours later: expiry is not what these tests are about.
THREE_DAYS = 3 * 24 * 3600


# --- fixtures and helpers ------------------------------------------------------------------------------------


def api_url() -> str:
    """The session harness's Prefect API (conftest's ``prefect_harness``), for child processes."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


def start_emulator(**options: Any) -> PdfcoEmulator:
    """A running emulator with an API key of its own (no pacer or record shared with another test)."""
    options = {"api_key": f"fm-{uuid4().hex}", "job_duration": 0.2, "link_ttl": THREE_DAYS, **options}
    return PdfcoEmulator(**options).start()


@pytest.fixture
def emulators() -> Iterator[Callable[..., PdfcoEmulator]]:
    """Starts emulators on demand (``port=`` to take over a stopped one's address); stops them all at the end."""
    started: list[PdfcoEmulator] = []

    def start(**options: Any) -> PdfcoEmulator:
        started.append(start_emulator(**options))
        return started[-1]

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emu(emulators: Callable[..., PdfcoEmulator]) -> PdfcoEmulator:
    return emulators()


def credentials_for(emu: PdfcoEmulator, **fields: Any) -> PdfcoCredentials:
    return PdfcoCredentials(api_key=emu.api_key, base_url=emu.base_url, **fields)


def forget_every_job(emu: PdfcoEmulator, emulators: Callable[..., PdfcoEmulator]) -> PdfcoEmulator:
    """PDF.co after it dropped its jobs: a fresh emulator on the same address, same key, knowing no job."""
    port, api_key = emu.port, emu.api_key
    emu.stop()
    return emulators(api_key=api_key, port=port)


def api_requests(emu: PdfcoEmulator) -> dict[str, int]:
    """Every API request the emulator answered, by path."""
    return dict(emu.stats()["requests"])


def all_requests(emu: PdfcoEmulator) -> int:
    """API requests and file-link requests together."""
    stats = emu.stats()
    return int(sum(stats["requests"].values()) + stats["result_link_requests"])


def upload(emu: PdfcoEmulator, content: bytes, name: str) -> str:
    """Stores ``content`` on the emulator as an uploaded file; returns its presigned link."""
    answer = httpx.post(
        f"{emu.base_url}/v1/file/upload/base64",
        headers={"x-api-key": emu.api_key},
        json={"file": base64.b64encode(content).decode(), "name": name},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["url"])


def files_in(directory: Path) -> list[Path]:
    """Every file under ``directory``, hidden and temporary ones included (not run_batch's own manifest of what
    landed, ``.pdfco-manifest.jsonl``: it is no document)."""
    found = directory.rglob("*") if directory.exists() else iter(())
    return sorted(path for path in found if path.is_file() and path.name != ".pdfco-manifest.jsonl")


def is_whole_pdf(path: Path) -> bool:
    content = path.read_bytes()
    return content.startswith(b"%PDF") and content.rstrip().endswith(b"%%EOF")


def page(text: str, paragraphs: int = 1) -> str:
    return f"<h1>{text}</h1>" + "".join(
        f"<p>{text}, paragraph {n}: {'lorem ipsum ' * 40}</p>" for n in range(paragraphs)
    )


@contextmanager
def hours_later(hours: float) -> Iterator[None]:
    """Every clock of this process (Prefect's, the library's, the in-process emulator's) ``hours`` ahead."""
    import time_machine

    with time_machine.travel(datetime.now(timezone.utc) + timedelta(hours=hours), tick=True):
        yield


def rerun(flow_obj: Any, flow_run_id: str, *, hours: float = 0) -> Any:
    """Runs an ended flow run again, as the UI's Retry and a worker do, ``hours`` later; returns its final state."""
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run_id, Scheduled(), force=True)
        flow_run = client.read_flow_run(UUID(flow_run_id))
    later: AbstractContextManager[None] = hours_later(hours) if hours else nullcontext()
    with later:
        return run_flow(flow_obj, flow_run=flow_run, return_type="state")


def html_operation() -> Any:
    """html_to_pdf's catalogue entry: what ``check_job_for`` takes in both versions (the rebuilt one, a name too)."""
    return prefect_pdfco.get_operation("html_to_pdf")


def current_flow_run_id() -> str:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    assert ctx is not None and ctx.flow_run is not None
    return str(ctx.flow_run.id)


def raised(state: Any) -> BaseException | None:
    """The exception a failed state holds."""
    outcome = state.result(raise_on_failure=False)
    return outcome if isinstance(outcome, BaseException) else None


# --- 1. a retry after an hour never pays again ---------------------------------------------------------------


def invoices(count: int) -> list[dict[str, Any]]:
    return [{"html": page(f"Invoice {n}"), "name": f"invoice-{n}.pdf"} for n in range(count)]


def batch_with_two_refused(emu: PdfcoEmulator, out: Path) -> tuple[Any, str]:
    """A flow run whose batch of 10 landed 8 documents: PDF.co refused two submits (unbilled), so it failed."""
    credentials = credentials_for(emu)
    run_ids: list[str] = []

    @flow(name="fault-matrix-nightly")
    def nightly() -> int:
        run_ids.append(current_flow_run_id())
        batch = run_batch(
            credentials, "html_to_pdf", invoices(10), destination=str(out),
            max_concurrency=1, max_wait_seconds=60, raise_on_failure=True,
        )  # fmt: skip
        return len(batch.items)

    emu.inject(HTML, status=400, times=2)
    assert nightly(return_state=True).is_failed()
    assert emu.stats()["jobs_submitted"] == 8 and api_requests(emu)[HTML] == 10
    assert len([path for path in files_in(out) if is_whole_pdf(path)]) == 8
    return nightly, run_ids[0]


@pytest.mark.e2e  # whole flows that wait real deadlines and re-runs against the server: minutes, not seconds
def test_17_1_batch_retried_two_hours_later_sends_only_the_two_missing_documents(
    emu: PdfcoEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    nightly, run_id = batch_with_two_refused(emu, out)

    state = rerun(nightly, run_id, hours=2)

    stats = emu.stats()
    assert api_requests(emu)[HTML] == 12, f"the retry sent {api_requests(emu)[HTML] - 10} submits, not 2"
    assert stats["jobs_submitted"] == 10, f"{stats['jobs_submitted']} jobs billed for 10 documents"
    assert state.is_completed(), raised(state)
    assert len([path for path in files_in(out) if is_whole_pdf(path)]) == 10


@pytest.mark.e2e  # whole flows that wait real deadlines and re-runs against the server: minutes, not seconds
def test_17_1_landed_documents_are_not_sent_again_after_pdfco_forgot_their_jobs(
    emu: PdfcoEmulator, emulators: Callable[..., PdfcoEmulator], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    nightly, run_id = batch_with_two_refused(emu, out)
    landed = {path: path.read_bytes() for path in files_in(out)}
    pdfco = forget_every_job(emu, emulators)

    rerun(nightly, run_id, hours=2)

    assert api_requests(pdfco).get(HTML, 0) == 2, f"the retry sent {api_requests(pdfco).get(HTML, 0)} submits, not 2"
    assert pdfco.stats()["jobs_submitted"] == 2
    assert all(path.read_bytes() == content for path, content in landed.items())


def typed_flow_whose_wait_crashed(emu: PdfcoEmulator, opt_in: dict[str, bool]) -> tuple[Any, str, list[str]]:
    """A flow run that paid for one document, then died while waiting for it."""
    credentials = credentials_for(emu)
    run_ids: list[str] = []
    job_ids: list[str] = []

    @flow(name="fault-matrix-report")
    def report() -> str:
        run_ids.append(current_flow_run_id())
        job = html_to_pdf(credentials, page("Quarterly report"), name="report.pdf", resend_if_unknown=opt_in["resend"])
        job_ids.append(job.job_id)
        if len(job_ids) == 1:
            raise RuntimeError("the worker died while waiting for the job")
        return str(wait_for_job(credentials, job, max_wait_seconds=60).url)

    assert report(return_state=True).is_failed()
    assert emu.stats()["jobs_submitted"] == 1
    return report, run_ids[0], job_ids


@pytest.mark.e2e  # whole flows that wait real deadlines and re-runs against the server: minutes, not seconds
def test_17_1_typed_task_rerun_two_hours_later_reattaches_to_its_job(emu: PdfcoEmulator) -> None:
    report, run_id, job_ids = typed_flow_whose_wait_crashed(emu, {"resend": False})

    state = rerun(report, run_id, hours=2)

    assert emu.stats()["jobs_submitted"] == 1, "the re-run paid for a second job"
    assert job_ids[1] == job_ids[0]
    assert state.is_completed(), raised(state)


@pytest.mark.e2e  # whole flows that wait real deadlines and re-runs against the server: minutes, not seconds
def test_17_1_typed_task_rerun_after_pdfco_forgot_the_job_names_it_instead_of_paying(
    emu: PdfcoEmulator, emulators: Callable[..., PdfcoEmulator]
) -> None:
    opt_in = {"resend": False}
    before = datetime.now(timezone.utc)
    report, run_id, job_ids = typed_flow_whose_wait_crashed(emu, opt_in)
    submitted_on = {f"{moment:%Y-%m-%d}" for moment in (before, datetime.now(timezone.utc))}  # midnight-proof
    pdfco = forget_every_job(emu, emulators)

    state = rerun(report, run_id, hours=2)

    assert pdfco.stats()["jobs_submitted"] == 0, "the re-run paid again without being asked to"
    from prefect_pdfco import SubmittedJobGone  # type: ignore[attr-defined,unused-ignore]

    error = raised(state)
    assert isinstance(error, SubmittedJobGone), repr(error)
    assert error.job_id == job_ids[0] and job_ids[0] in str(error)
    assert any(day in str(error) for day in submitted_on) and "resend_if_unknown" in str(error)

    opt_in["resend"] = True  # the explicit opt-in pays for a new job
    state = rerun(report, run_id, hours=2)
    assert state.is_completed(), raised(state)
    assert pdfco.stats()["jobs_submitted"] == 1


# --- 2. every argument is checked before the first request ---------------------------------------------------

BAD_WAITS = [math.nan, math.inf, 0, -1]


@pytest.mark.parametrize("value", BAD_WAITS, ids=repr)
@pytest.mark.parametrize("argument", ["max_wait_seconds", "initial_poll_seconds"])
def test_17_2_run_operation_refuses_bad_wait_settings_before_the_submit(
    emu: PdfcoEmulator, argument: str, value: float
) -> None:
    credentials = credentials_for(emu)

    options: dict[str, Any] = {argument: value}
    with pytest.raises(InvalidParametersError) as info:
        run_operation(credentials, "html_to_pdf", {"html": page("Bad wait")}, **options)
    assert api_requests(emu) == {}, f"a job was billed before the wait settings were checked: {info.value}"
    assert argument in str(info.value)


def test_17_2_a_tiny_first_poll_is_refused_or_floored_never_billed_then_untyped(emu: PdfcoEmulator) -> None:
    credentials = credentials_for(emu)

    try:
        outcome = run_operation(credentials, "html_to_pdf", {"html": page("Tiny poll")}, initial_poll_seconds=1e-9)
    except InvalidParametersError:
        assert api_requests(emu) == {}, "refused, but only after a request"
    else:
        assert outcome.result.status == "success"
        assert emu.stats()["job_checks"] <= 3, f"{emu.stats()['job_checks']} checks for a 0.2 s job"


#: A valid value for each required argument of a public task or flow, by name.
def sample_arguments(emu: PdfcoEmulator, tmp_path: Path) -> dict[str, Any]:
    link = upload(emu, b"%PDF-1.4\n%%EOF\n", "sample.pdf")
    local = tmp_path / "local.pdf"
    local.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return {
        "credentials": credentials_for(emu),
        "url": link,
        "urls": [link, link],
        "html": page("Walk"),
        "pages": "1",
        "search_string": "x",
        "value": "x",
        "password": "pw",
        "search": "a",
        "replace": "b",
        "angle": 90,
        "endpoint": HTML,
        "params": {"html": page("Walk")},
        "job_id": "fault-matrix-job",
        "job_ids": ["fault-matrix-job"],
        "result": link,
        "results": [link],
        "destination": str(tmp_path / "walk"),
        "path": str(local),
        "operation": "html_to_pdf",
        "items": [{"html": page("Walk")}],
    }


def numeric_parameters(fn: Callable[..., Any]) -> list[str]:
    """Parameters annotated with int or float (identifiers such as ``template_id`` aside)."""
    names = []
    for parameter in inspect.signature(fn).parameters.values():
        text = str(parameter.annotation).replace("typing.", "")
        words = {word.strip(" '\"[]()") for word in text.replace("|", ",").replace("[", ",").split(",")}
        if words & {"int", "float"} and not parameter.name.endswith("_id"):  # ids are names, not quantities
            names.append(parameter.name)
    return names


def public_callables() -> dict[str, Callable[..., Any]]:
    """Every task and flow of ``prefect_pdfco.__all__``, with ``run_operation``, ``run_batch`` and ``check_job_for``."""
    found: dict[str, Callable[..., Any]] = {}
    for name in prefect_pdfco.__all__:
        value = getattr(prefect_pdfco, name)
        if callable(getattr(value, "fn", None)):
            found[name] = value
    found.update(run_operation=run_operation, run_batch=run_batch, check_job_for=check_job_for)
    return found


@pytest.mark.e2e  # whole flows that wait real deadlines and re-runs against the server: minutes, not seconds
def test_17_2_every_public_task_and_flow_checks_its_numbers_before_any_request(
    emu: PdfcoEmulator, tmp_path: Path
) -> None:
    samples = sample_arguments(emu, tmp_path)
    callables = public_callables()
    cases: list[tuple[str, str, Any]] = []
    for name, target in callables.items():
        fn = getattr(target, "fn", target)
        for parameter in numeric_parameters(fn):
            # inf is the tempting value for a deadline; elsewhere nan already tells a missing finiteness check.
            values = (math.nan, math.inf, -1) if parameter.endswith("seconds") else (math.nan, -1)
            cases.extend((name, parameter, value) for value in values)
    assert {"run_operation", "run_batch", "wait_for_job", "fetch_result_text"} <= {case[0] for case in cases}
    offenders: list[str] = []

    @flow(name="fault-matrix-walk")
    def walk() -> None:
        for name, parameter, value in cases:
            target = callables[name]
            fn = getattr(target, "fn", target)
            required = [
                p.name
                for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            missing = [arg for arg in required if arg not in samples and arg != parameter]
            if missing:
                offenders.append(f"{name}: no sample value for {missing} (extend sample_arguments)")
                continue
            arguments = {arg: samples[arg] for arg in required if arg != parameter}
            if name == "check_job_for":
                arguments["operation"] = html_operation()
            arguments[parameter] = value
            if name == "run_operation" and "params" in required:
                arguments["params"] = {"html": page("Walk")}
            before = all_requests(emu)
            try:
                target(**arguments)
            except PdfcoError:
                outcome = "typed error"
            except Exception as error:  # what escaped is the finding
                outcome = f"untyped {type(error).__name__}: {str(error)[:80]}"
            else:
                outcome = "no error"
            made = all_requests(emu) - before
            if made or outcome != "typed error":
                offenders.append(f"{name}({parameter}={value!r}): {outcome}, {made} request(s)")

    walk()
    assert offenders == [], "\n".join(offenders)


# --- 3. an ambiguous submit says so the first time ------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 500])
@pytest.mark.parametrize("how", ["typed task", "run_operation"])
def test_17_3_a_submit_answered_5xx_says_the_job_may_exist_not_try_again_later(
    emu: PdfcoEmulator, how: str, status: int
) -> None:
    credentials = credentials_for(emu)
    emu.inject(HTML, status=status)

    @flow(name="fault-matrix-render")
    def render() -> None:
        if how == "typed task":
            html_to_pdf(credentials, page("Ambiguous"))
        else:
            run_operation(credentials, "html_to_pdf", {"html": page("Ambiguous")})

    with pytest.raises(PdfcoError) as info:
        render()
    message = str(info.value)
    assert "try again later" not in message.lower(), message
    assert isinstance(info.value, SubmitOutcomeUnknown), f"{type(info.value).__name__}: {message}"
    assert "may exist" in message and "job history" in message
    assert api_requests(emu)[HTML] == 1


# --- 4. a floor under poll intervals ---------------------------------------------------------------------------


@pytest.mark.e2e  # each waits out a 5 s deadline on the real clock, counting checks
@pytest.mark.parametrize("how", ["wait_for_job", "wait_for_jobs", "run_operation"])
def test_17_4_one_microsecond_polls_check_no_more_than_once_a_second(emu: PdfcoEmulator, how: str) -> None:
    credentials = credentials_for(emu)
    jobs = 2 if how == "wait_for_jobs" else 1
    # Jobs that never end: whatever the library learnt of earlier jobs' durations, the whole deadline is polled.
    emu.inject_job_outcome("never", times=jobs)
    tiny: dict[str, Any] = {"initial_poll_seconds": 1e-6, "max_poll_seconds": 1e-6, "max_wait_seconds": 5}

    @flow(name="fault-matrix-poll")
    def poll() -> None:
        if how == "run_operation":
            run_operation(
                credentials, "html_to_pdf", {"html": page("Poll")}, max_wait_seconds=5, initial_poll_seconds=1e-6
            )
        elif how == "wait_for_job":
            wait_for_job(credentials, html_to_pdf(credentials, page("Poll")), **tiny)
        else:
            submitted = [html_to_pdf(credentials, page(f"Poll {n}")) for n in range(jobs)]
            for outcome in wait_for_jobs(credentials, submitted, **tiny):
                if isinstance(outcome, BaseException):
                    raise outcome

    with pytest.raises(PdfcoError) as info:  # JobTimeout; or refused up front (InvalidParametersError)
        poll()
    assert isinstance(info.value, (JobTimeout, InvalidParametersError)), repr(info.value)
    checks = emu.stats()["job_checks"]
    # One check a second over a 5 s deadline, and the forced one before giving up.
    assert checks <= 7 * jobs, f"{checks} checks (2 credits each) in 5 s for {jobs} job(s)"


# --- 5. incremental batches --------------------------------------------------------------------------------------


def test_17_5_skip_done_submits_only_the_missing_and_changed_documents(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = credentials_for(emu)
    out = tmp_path / "out"
    first = [
        {"html": page("Alpha"), "name": "alpha.pdf"},
        {"html": page("Beta"), "name": "beta.pdf"},
        {"html": page("Gamma"), "name": "gamma.pdf"},
    ]
    batch = run_batch(credentials, "html_to_pdf", first, destination=str(out), skip_done=True)
    assert not batch.failed and emu.stats()["jobs_submitted"] == 3
    alpha = (out / "alpha.pdf").read_bytes()

    second = [
        first[0],  # landed, same input and parameters: done
        {**first[1], "orientation": "Landscape"},  # a changed parameter: not done
        {"html": page("Gamma, corrected"), "name": "gamma.pdf"},  # a changed input: not done
        {"html": page("Delta"), "name": "delta.pdf"},  # new
    ]
    batch = run_batch(credentials, "html_to_pdf", second, destination=str(out), skip_done=True)

    assert not batch.failed
    by_name = emu.stats()["jobs_by_name"]
    assert by_name == {"alpha.pdf": 1, "beta.pdf": 2, "gamma.pdf": 2, "delta.pdf": 1}, by_name
    assert (out / "alpha.pdf").read_bytes() == alpha


# --- 6. results that share a name ---------------------------------------------------------------------------------


def test_17_6_an_unnamed_batch_lands_one_file_per_successful_document(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = credentials_for(emu)
    out = tmp_path / "out"
    items = [{"html": page(title)} for title in ("One", "Two", "Three")]

    batch = run_batch(credentials, "html_to_pdf", items, destination=str(out))

    reported = [Path(file.path) for item in batch.items if item.error is None for file in item.files]
    landed = files_in(out)
    assert len(landed) == len(batch.succeeded) == 3, f"{len(batch.succeeded)} reported, on disk: {landed}"
    assert sorted(reported) == sorted(landed)
    assert len({path.read_bytes() for path in landed}) == 3, "a landed file was overwritten by another"


def test_17_6_download_results_keeps_every_result_that_shares_a_name(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = credentials_for(emu)
    out = tmp_path / "out"

    @flow(name="fault-matrix-download-many")
    def convert() -> list[Any]:
        jobs = [html_to_pdf(credentials, page(title)) for title in ("One", "Two", "Three")]
        results = wait_for_jobs(credentials, jobs, max_wait_seconds=60)
        return list(download_results(results, str(out)))

    downloaded = convert()

    landed = files_in(out)
    assert all(not isinstance(file, BaseException) for file in downloaded), downloaded
    assert len(landed) == len(downloaded) == 3, f"3 downloads reported, on disk: {landed}"
    assert len({path.read_bytes() for path in landed}) == 3


# --- slow links for the signal tests (7, 10) -------------------------------------------------------------------


class SlowLink:
    """A TCP proxy on 127.0.0.2:<port> to the emulator's 127.0.0.1:<port> that trickles answers to clients.

    An emulator started with ``link_host="127.0.0.2"`` puts its file links here, so downloads crawl while API calls
    (on 127.0.0.1) run at full speed. ``delivered`` counts the bytes handed to clients.
    """

    def __init__(self, port: int, bytes_per_second: int, chunk: int = 1024) -> None:
        self.port, self.rate, self.chunk = port, bytes_per_second, chunk
        self.delivered = 0
        self.streams: dict[int, int] = {}  # open connection -> bytes delivered on it
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.2", port))
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closing = True
        self._listener.close()

    def flowing(self) -> int:
        """Connections open now that have delivered some bytes."""
        with self._lock:
            return sum(1 for count in self.streams.values() if count > 0)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._trickle, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _trickle(self, source: socket.socket, target: socket.socket) -> None:
        key = id(target)
        with self._lock:
            self.streams[key] = 0
        try:
            while data := source.recv(self.chunk):
                target.sendall(data)
                with self._lock:
                    self.delivered += len(data)
                    self.streams[key] += len(data)
                time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            with self._lock:
                self.streams.pop(key, None)
            for sock in (source, target):
                with suppress(OSError):
                    sock.close()


@pytest.fixture
def slow_emu(emulators: Callable[..., PdfcoEmulator]) -> Iterator[tuple[PdfcoEmulator, Callable[[int], SlowLink]]]:
    """An emulator whose file links go through a ``SlowLink`` (made by the callable, at the rate given)."""
    emu = emulators(link_host="127.0.0.2")
    links: list[SlowLink] = []

    def slow(bytes_per_second: int) -> SlowLink:
        links.append(SlowLink(emu.port, bytes_per_second))
        return links[-1]

    yield emu, slow
    for link in links:
        link.close()


def child(script: str, *args: str, api_url: str) -> subprocess.Popen[str]:
    """Runs ``fault_scripts/<script>`` against the harness's Prefect API, with this process's PYTHONPATH."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str], limit: float = 120) -> None:
    """Polls ``condition``; fails when the child ends first or nothing happens within ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the child ended before {what}: rc={process.returncode}\n{out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def terminated(process: subprocess.Popen[str], limit: float = 120) -> str:
    """Sends SIGTERM and waits for the end; returns the child's stderr. A child still running ``limit`` seconds
    later is killed and the test fails: what a SIGKILL leaves behind is not what SIGTERM is judged on."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the child was still running {limit:g} s after SIGTERM") from None
    return err


# --- 7. SIGTERM during a batch's downloads -------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(400)
def test_17_7_sigterm_during_batch_downloads_leaves_no_partial_file(
    slow_emu: tuple[PdfcoEmulator, Callable[[int], SlowLink]], tmp_path: Path
) -> None:
    emu, slow = slow_emu
    link = slow(2048)
    out = tmp_path / "out"
    process = child("batch_downloads.py", emu.api_key, emu.base_url, str(out), "4", api_url=api_url())

    wait_until(lambda: link.flowing() >= 2, "two downloads under way", process)
    terminated(process)

    left = [path.name for path in files_in(out) if not is_whole_pdf(path)]
    assert left == [], f"partial files left behind: {left}"


# --- 8. a rate cap never outlasts the deadline ---------------------------------------------------------------------


@pytest.mark.e2e  # waits out a 10 s deadline on the real clock
@pytest.mark.timeout(120)
def test_17_8_a_rate_cap_counts_against_the_wait_deadline(emu: PdfcoEmulator) -> None:
    credentials = credentials_for(emu, requests_per_second=0.1)
    emu.inject_job_outcome("never")

    @flow(name="fault-matrix-capped")
    def capped() -> None:
        job = html_to_pdf(credentials, page("Capped"))
        wait_for_job(credentials, job, max_wait_seconds=10)

    with pytest.raises(JobTimeout):
        capped()
    # At 0.1 request/s, 10 s hold the submit and at most one check: a third request means the wait ran past its
    # deadline behind the limiter.
    made = api_requests(emu)
    assert sum(made.values()) <= 2, made


@pytest.mark.timeout(120)
@pytest.mark.parametrize("rate", [0.02, 1e-9])
def test_17_8_an_absurd_rate_cap_is_refused_before_any_request(emu: PdfcoEmulator, rate: float) -> None:
    @flow(name="fault-matrix-absurd-rate")
    def absurd() -> None:
        html_to_pdf(credentials_for(emu, requests_per_second=rate), page("Absurd"))

    with pytest.raises(PdfcoError) as info:
        absurd()
    assert isinstance(info.value, InvalidParametersError) and "requests_per_second" in str(info.value)
    assert api_requests(emu) == {}


# --- 9. a huge deadline -------------------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["run_operation", "check_job_for", "wait_for_job"])
def test_17_9_a_huge_deadline_is_refused_at_once_with_no_request(emu: PdfcoEmulator, how: str) -> None:
    def limited() -> None:  # a schedule built item by item would take all the memory there is
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))

    env = {**os.environ, "PREFECT_API_URL": api_url()}
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "huge_deadline.py"), how, emu.api_key, emu.base_url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limited,  # no threads are started before it runs
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"{how}(max_wait_seconds=1e308) still busy after 90 s; {api_requests(emu)} requests made")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"no outcome printed: rc={process.returncode}\n{err[-3000:]}"
    outcome = json.loads(lines[-1])
    assert outcome["typed"] or outcome["returned"], outcome
    assert api_requests(emu) == {}, api_requests(emu)


# --- 10. SIGTERM during a submitted download --------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(400)
def test_17_10_sigterm_ends_a_submitted_download_before_it_completes(
    slow_emu: tuple[PdfcoEmulator, Callable[[int], SlowLink]], tmp_path: Path
) -> None:
    emu, slow = slow_emu
    content = os.urandom(1536 * 1024)
    url = upload(emu, content, "big.bin")
    link = slow(64 * 1024)  # 24 s for the whole file
    out = tmp_path / "out"
    process = child("submitted_download.py", url, str(out), api_url=api_url())

    wait_until(lambda: link.delivered >= 64 * 1024, "the download under way", process)
    err = terminated(process)

    delivered = link.delivered
    assert delivered < len(content), f"the process ran the whole download ({delivered} bytes) before it ended"
    left = [path.name for path in files_in(out) if path.read_bytes() != content]
    assert left == [], f"half-written files: {left}\n{err[-2000:]}"


# --- 11. the callback receiver drops half-open connections ----------------------------------------------------


#: Far more half-open connections than any receiver should hold at once (the issue's run held 3,000).
FLOOD = 1000


@pytest.mark.e2e
@pytest.mark.timeout(400)
def test_17_11_the_callback_receiver_drops_connections_that_never_finish_their_headers(emu: PdfcoEmulator) -> None:
    from prefect_pdfco.callbacks import CallbackReceiver

    options: dict[str, Any] = {"port": 0}
    if "credentials" in inspect.signature(CallbackReceiver).parameters:  # a receiver may not need the block
        options["credentials"] = credentials_for(emu)
    receiver = CallbackReceiver(**options)
    answers: dict[socket.socket, bytes] = {}
    with receiver, selectors.DefaultSelector() as selector:
        address = httpx.URL(receiver.url)
        assert address.port is not None
        for index in range(FLOOD):
            sock = socket.create_connection((address.host, address.port))
            if index % 2:  # a slow-loris request line and one header, never finished
                sock.sendall(b"POST /token HTTP/1.1\r\nHost: receiver\r\n")
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            answers[sock] = b""
        held = set(answers)
        deadline = time.monotonic() + 180
        while held and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    data = ready.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                answers[ready] += data
                if not data:
                    selector.unregister(ready)
                    held.discard(ready)
        answer = httpx.get(f"{receiver.url}/not-a-token", timeout=30)  # and it still serves
        for sock in answers:
            sock.close()
    assert not held, f"{len(held)} of {FLOOD} connections that never sent their headers still held after 180 s"
    refused = sum(1 for data in answers.values() if data.startswith(b"HTTP/1.1 503"))
    assert refused, f"all {FLOOD} connections were taken in at once: no cap on open connections"
    assert answer.status_code < 500


# --- 12. nothing untyped escapes ---------------------------------------------------------------------------------


def test_17_12_an_octal_looking_host_ends_in_a_typed_error(emu: PdfcoEmulator) -> None:
    @flow(name="fault-matrix-octal")
    def octal() -> None:
        html_to_pdf(PdfcoCredentials(api_key=emu.api_key, base_url="https://0177.0.0.1/"), page("Octal"))

    with pytest.raises(Exception) as info:  # which type it is, is the finding
        octal()
    assert isinstance(info.value, PdfcoError), f"untyped {type(info.value).__module__}.{type(info.value).__name__}"
    assert api_requests(emu) == {}


def test_17_12_a_number_too_big_for_a_float_ends_in_a_typed_error(emu: PdfcoEmulator) -> None:
    credentials = credentials_for(emu)
    huge = 10**400
    calls: dict[str, Callable[[], Any]] = {
        "run_operation(max_wait_seconds)": lambda: run_operation(
            credentials, "html_to_pdf", {"html": page("Huge")}, max_wait_seconds=huge
        ),
        "run_batch(max_wait_seconds)": lambda: run_batch(
            credentials, "html_to_pdf", [{"html": page("Huge")}], max_wait_seconds=huge
        ),
        "check_job_for(max_wait_seconds)": lambda: check_job_for(html_operation(), huge),
        "wait_for_job(max_wait_seconds)": lambda: flow(name="fault-matrix-huge")(
            lambda: wait_for_job(credentials, "fault-matrix-job", max_wait_seconds=huge)
        )(),
        "PdfcoCredentials(timeout_seconds)": lambda: credentials_for(emu, timeout_seconds=huge),
        "PdfcoCredentials(requests_per_second)": lambda: credentials_for(emu, requests_per_second=huge),
    }
    escaped = {}
    for what, call in calls.items():
        try:
            call()
        except PdfcoError:
            continue
        except Exception as error:  # what escaped is the finding
            escaped[what] = f"{type(error).__name__}: {str(error)[:100]}"
        else:
            escaped[what] = "accepted"
    assert escaped == {}, "\n".join(f"{what}: {how}" for what, how in escaped.items())
    assert api_requests(emu) == {}


@pytest.mark.parametrize(
    "fields",
    [
        {"timeout_seconds": math.nan},
        {"timeout_seconds": "soon"},
        {"requests_per_second": -1},
        {"base_url": "not a url"},
    ],
    ids=["nan-timeout", "text-timeout", "negative-rate", "bad-url"],
)
def test_17_12_bad_block_fields_end_in_a_typed_error(emu: PdfcoEmulator, fields: dict[str, Any]) -> None:
    with pytest.raises(Exception) as info:  # which type it is, is the finding
        PdfcoCredentials(**{"api_key": emu.api_key, "base_url": emu.base_url, **fields})
    assert isinstance(info.value, PdfcoError), f"untyped {type(info.value).__name__}: {info.value}"
    assert next(iter(fields)) in str(info.value)


def test_17_12_mapping_a_typed_task_with_a_bare_credentials_block(emu: PdfcoEmulator) -> None:
    credentials = credentials_for(emu)

    @flow(name="fault-matrix-map")
    def convert() -> list[str]:
        futures = html_to_pdf.map(credentials, [page("Mapped one"), page("Mapped two")])
        return [future.result().job_id for future in futures]

    try:
        job_ids = convert()
    except PdfcoError as error:
        assert "unmapped(credentials)" in str(error)
        assert emu.stats()["jobs_submitted"] == 0
    except Exception as error:  # which type it is, is the finding
        pytest.fail(f"untyped {type(error).__name__}: {str(error)[:300]}")
    else:
        assert len(set(job_ids)) == 2 and emu.stats()["jobs_submitted"] == 2


# --- 13. presigned links stay out of httpx's own log lines ------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_17_13_presigned_links_never_appear_in_httpx_log_lines(emu: PdfcoEmulator, tmp_path: Path) -> None:
    credentials = credentials_for(emu)
    httpx_logger = logging.getLogger("httpx")
    lines = _Lines()
    level = httpx_logger.level
    httpx_logger.addHandler(lines)
    httpx_logger.setLevel(logging.INFO)
    try:
        outcome = run_operation(credentials, "html_to_pdf", {"html": page("Logged")}, destination=str(tmp_path))
    finally:
        httpx_logger.removeHandler(lines)
        httpx_logger.setLevel(level)
    assert isinstance(outcome.result, JobResult) and "X-Amz-Signature" in str(outcome.result.url)
    downloads = [line for line in lines.lines if "/pdf-temp-files/" in line]
    assert downloads, f"httpx logged no line for the download: {lines.lines}"
    leaked = [line for line in lines.lines if "X-Amz-Signature" in line or "X-Amz-Credential" in line]
    assert leaked == [], leaked
