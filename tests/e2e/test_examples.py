"""End to end: the examples as a newcomer runs them, on one real ``prefect server start`` and a PDF.co emulator.

The server (its own PREFECT_HOME under tmp, telemetry off) and every example run in processes of their own
sessions; the emulator runs in this process, on 127.0.0.1. A failing test prints what every process said. Nothing
here asserts how long anything took: pytest-timeout guards against a hang.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from pypdf import PdfReader

from pdfco_emulator import PdfcoEmulator, make_sample_invoice_pdf, make_sample_pdf
from tests.e2e._support import (
    FLOWS,
    REPO,
    PrefectServer,
    Processes,
    answers,
    base_env,
    flow_run_states,
    prefect_cli,
    start_prefect_server,
)

pytestmark = pytest.mark.e2e

#: Longer than a cold wait's first delay (2 s), so that check_job retries at least once in the quickstart.
JOB_SECONDS = 3.0
RUN_ID = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")
#: What Prefect says of an ordinary wait when nothing rewrites it, and the lines of internal hooks (#21.6).
ALARMING = re.compile(r"failed with exception|JobStillWorking\(|\bhooks?\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    """Every subprocess of the module, stopped at its end whatever happens."""
    group = Processes(log_dir=tmp_path_factory.mktemp("e2e-logs"))
    try:
        yield group
    finally:
        group.stop_all()


@pytest.fixture(scope="module")
def server(processes: Processes, tmp_path_factory: pytest.TempPathFactory) -> PrefectServer:
    """One real ``prefect server start`` for the module."""
    with processes.report_on_failure():
        return start_prefect_server(processes, tmp_path_factory.mktemp("prefect-home"))


@pytest.fixture(scope="module")
def api(server: PrefectServer) -> Iterator[httpx.Client]:
    """The server's REST API, read with plain httpx (no Prefect client state in the test process)."""
    with httpx.Client(base_url=server.api_url, timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def emulator() -> Iterator[PdfcoEmulator]:
    # A key unlike any default: finding it in an output or a log would be a leak.
    with PdfcoEmulator(api_key=f"e2e-{secrets.token_hex(12)}", job_duration=JOB_SECONDS) as emu:
        yield emu


def _env(server: PrefectServer, emulator: PdfcoEmulator, **extra: str) -> dict[str, str]:
    return server.env(**{"PDFCO_API_KEY": emulator.api_key, "PDFCO_BASE_URL": emulator.base_url, **extra})


def _example(name: str, *args: str) -> list[str]:
    return [sys.executable, str(FLOWS / f"{name}.py"), *args]


def _run_id(output: str) -> str:
    found = RUN_ID.search(output)
    assert found, f"no flow run link in:\n{output}"
    return found.group(1)


def _logs(api: httpx.Client, run_id: str) -> list[str]:
    answer = api.post("/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200})
    return [log["message"] for log in answer.raise_for_status().json()]


def test_every_example_answers_help_on_a_base_install(tmp_path: Path) -> None:
    # The emulator extra made unimportable, as on a machine that installed prefect-pdfco alone.
    script = textwrap.dedent(
        f"""
        import runpy, sys
        class NoExtra:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("pdfco_emulator", "pypdf", "fpdf"):
                    raise ImportError(f"{{name}} is not installed")
        sys.meta_path.insert(0, NoExtra())
        sys.path.insert(0, {str(FLOWS)!r})
        for name in {sorted(p.stem for p in FLOWS.glob("[!_]*.py"))!r}:
            sys.argv = [name + ".py", "--help"]
            try:
                runpy.run_path({str(FLOWS)!r} + "/" + name + ".py", run_name="__main__")
            except SystemExit as exit:
                print("EXIT", name, exit.code)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    exits = re.findall(r"EXIT (\w+) (\S+)", done.stdout)
    assert sorted(exits) == sorted((p.stem, "0") for p in FLOWS.glob("[!_]*.py")), done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert text.count("block `pdfco`") == len(exits) and "PDFCO_API_KEY" in text and "--serve" in text


def test_quickstart_lands_its_files_and_its_log_tells_only_the_documents(
    processes: Processes, server: PrefectServer, api: httpx.Client, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    output = tmp_path / "output"
    with processes.report_on_failure():
        code, said = processes.run(
            "quickstart", _example("quickstart", "--output", str(output)), env=_env(server, emulator), cwd=tmp_path
        )
        assert code == 0, said
    assert sorted(path.name for path in output.iterdir()) == ["merged.pdf", "merged.txt", "page-1.pdf", "page-2.pdf"]
    assert len(PdfReader(output / "merged.pdf").pages) == 2
    assert "INV-1001" in (output / "merged.txt").read_text()
    port = emulator.base_url.rsplit(":", 1)[1]
    assert f"Credentials: PDFCO_API_KEY, for 127.0.0.1:{port}" in said  # #21.2: which credentials, never the key
    assert emulator.api_key not in said

    run_id = _run_id(said)
    assert api.get(f"/flow_runs/{run_id}").json()["state_type"] == "COMPLETED"
    logs = _logs(api, run_id)
    # #21.6: a check_job retry reads as waiting (the library's rewrite), never as a failure; no hook lines.
    assert any("still working" in line for line in said.splitlines()), "no check_job retry happened: test too weak"
    assert [line for line in said.splitlines() + logs if ALARMING.search(line)] == []
    done = [line for line in logs if " is done: job " in line]
    assert len(done) == 5 and len({line.split(" is done")[0] for line in done}) == 5, done  # each success once
    assert not [line for line in logs if emulator.api_key in line]
    tables = api.post(
        "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}, "key": {"any_": ["pdfco-jobs"]}}}
    )
    assert tables.raise_for_status().json(), "the flow run has no pdfco-jobs table"


def test_a_stale_block_fails_the_example_once_in_a_short_paragraph_that_says_what_to_do(
    processes: Processes, server: PrefectServer, api: httpx.Client, tmp_path: Path
) -> None:
    with PdfcoEmulator(api_key="stale-key") as stopped:
        base_url, port = stopped.base_url, stopped.port  # nothing answers there once the block is saved
    env = server.env(PDFCO_API_KEY="stale-key")
    save = [sys.executable, str(REPO / "blocks" / "create_credentials.py"), "--base-url", base_url, "--no-check"]
    with processes.report_on_failure():
        code, said = processes.run("save-stale-block", save, env=env, cwd=tmp_path)
        assert code == 0, said
        try:
            code, said = processes.run("stale-block", _example("quickstart"), env=server.env(), cwd=tmp_path)
        finally:
            block = api.get("/block_types/slug/pdfco-credentials/block_documents/name/pdfco").json()
            api.delete(f"/block_documents/{block['id']}").raise_for_status()
    assert code == 1, said
    # #21.3: the whole output, Prefect's own lines included, fits 15 lines and says the error once.
    assert len(said.strip().splitlines()) <= 15, said
    assert said.count("could not connect to 127.0.0.1") == 1 and "Traceback" not in said, said
    assert "Spent: no job was submitted" in said
    # #21.2: which credentials the run took, and what to do about them.
    assert "Credentials: block 'pdfco' (127.0.0.1)" in said
    words = " ".join(said.split())
    assert f"block 'pdfco' points at {base_url}, where nothing answers" in words, said
    assert f"pdfco-emulator --port {port}" in words and "prefect block delete pdfco-credentials/pdfco" in words
    assert any("Traceback" in line for line in _logs(api, _run_id(said))), "the traceback must stay in the logs"


@pytest.mark.timeout(240)
def test_ctrl_c_ends_the_example_with_the_paid_jobs_and_stops_its_own_server(
    server: PrefectServer, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    # No PREFECT_API_URL: the example starts its own server (a copy of the module's database spares the migrations).
    home = server.warm_home(tmp_path / "home")
    env = base_env(home, PDFCO_API_KEY=emulator.api_key, PDFCO_BASE_URL=emulator.base_url)
    output = tmp_path / "output"
    emulator.set_job_duration(600)  # the run is waiting for its first job when Ctrl-C comes
    said: list[str] = []
    example = subprocess.Popen(
        _example("quickstart", "--output", str(output)),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # As in a terminal: a background job of a non-interactive shell ignores SIGINT, and its children inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert example.stdout is not None
        paid = None
        for line in example.stdout:
            said.append(line)
            if paid is None and (submitted := re.search(r"Submitted \S+ as job (\S+)", line)):
                paid = submitted.group(1)
                os.killpg(example.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole process group
        code = example.wait()
    finally:
        emulator.set_job_duration(JOB_SECONDS)
        if example.poll() is None:  # the test failed (timed out): show what the example said, leave nothing running
            print("".join(said))
            os.killpg(example.pid, signal.SIGKILL)
    text = "".join(said)
    assert paid is not None, text
    assert code == 130, text
    assert f"  {paid}  invoice.pdf" in text and "had been submitted, and paid for" in text, text
    assert "on_job_succeeded.py --job-id <job id>" in text
    assert not list(tmp_path.rglob("*.part"))
    assert not output.exists() or not list(output.iterdir())  # nothing landed before the interrupt
    own = re.search(r"Starting a local Prefect server on (http://127.0.0.1:\d+)", text)
    assert own, text
    assert not answers(f"{own.group(1)}/api/health"), "the example left its Prefect server running"
    state = flow_run_states(home)[_run_id(text)]
    assert state[0] in ("CRASHED", "CANCELLED"), state
    assert "Error logging to API" not in text and "Traceback" not in text


@pytest.mark.timeout(240)
def test_the_served_trigger_downloads_a_job_when_its_callback_event_comes(
    processes: Processes, server: PrefectServer, api: httpx.Client, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    job = httpx.post(
        f"{emulator.base_url}/v1/pdf/convert/from/html",
        headers={"x-api-key": emulator.api_key, "x-emulator-job-duration": "0"},  # done when the event comes
        json={"html": "<h1>Triggered</h1>", "name": "triggered.pdf", "async": True},
    ).json()["jobId"]
    env = _env(server, emulator, PREFECT_RUNNER_POLL_FREQUENCY="1")
    with processes.report_on_failure():
        serve = processes.start("serve-trigger", _example("on_job_succeeded", "--serve"), env=env, cwd=tmp_path)
        deployment = _until(lambda: _deployment(api, "pdfco-on-job-succeeded/triggered"), serve.alive)
        # The server's trigger service learns of a new automation a moment after it is saved, and an event posted in
        # between starts nothing: the event goes again (as PDF.co retries a callback) until a run is there.
        while not _until(lambda: _runs(api, deployment["id"]), serve.alive, seconds=10):
            api.post("/events", json=[_callback_event(job)]).raise_for_status()
        run = _until(lambda: _finished_run(api, deployment["id"]), serve.alive)
        serve.stop()
        for automation in api.post("/automations/filter", json={}).json():  # a clean slate for the deploy test
            if any(action.get("deployment_id") == deployment["id"] for action in automation["actions"]):
                _deleted(api, f"/automations/{automation['id']}")
        _deleted(api, f"/deployments/{deployment['id']}")
    assert run["state_type"] == "COMPLETED" and run["parameters"]["job_id"] == job, run
    landed = list((tmp_path / "output" / "triggered" / job).glob("*.pdf"))
    assert [path.name for path in landed] == ["triggered.pdf"]
    assert "Triggered" in PdfReader(landed[0]).pages[0].extract_text()


def _deleted(api: httpx.Client, path: str) -> None:
    """DELETE ``path``, again while the server's SQLite is busy (it answers 503 then, under load)."""
    for _ in range(20):
        response = api.delete(path)
        if response.status_code != 503:
            response.raise_for_status()
            return
        time.sleep(0.5)
    response.raise_for_status()


def _documented(pattern: str) -> list[str]:
    """Every command matching ``pattern`` that the docs, README, prefect.yaml or an example's docstring shows."""
    sources = [*REPO.glob("docs/**/*.md"), REPO / "README.md", REPO / "prefect.yaml", *FLOWS.glob("*.py")]
    found = (m.group(1).strip() for path in sources if path.is_file() for m in re.finditer(pattern, path.read_text()))
    return sorted(set(found))


def test_every_deploy_command_the_docs_show_works(
    processes: Processes, server: PrefectServer, api: httpx.Client, tmp_path: Path
) -> None:
    deploys = _documented(r"(?m)^\s*(?:#\s*)?(?:\$ )?(prefect deploy [^#`\n]*)")
    names = [name for command in deploys for name in re.findall(r"--name\s+(\S+)", command)]
    assert names, deploys
    # A copy of the repository's prefect.yaml and flows/, so that deploying never writes into the working tree.
    shutil.copy2(REPO / "prefect.yaml", tmp_path / "prefect.yaml")
    shutil.copytree(FLOWS, tmp_path / "flows", ignore=shutil.ignore_patterns("__pycache__", "output"))
    specs = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]
    env = server.env()
    with processes.report_on_failure():
        # The documented `prefect work-pool create local-process --type process`, through the API: a CLI call less.
        api.post("/work_pools/", json={"name": "local-process", "type": "process"}).raise_for_status()
        # Every documented --name in one invocation: each resolves on its own, and each prefect call costs seconds.
        every = [["--all"]] if "prefect deploy --all" in deploys else []
        for args in [*every, [arg for name in names for arg in ("--name", name)]]:
            code, said = processes.run("deploy", prefect_cli("--no-prompt", "deploy", *args), env=env, cwd=tmp_path)
            assert code == 0, said
    found = api.post("/deployments/filter", json={}).raise_for_status().json()
    by_name = {deployment["name"]: deployment for deployment in found}
    assert sorted(by_name) == sorted(spec["name"] for spec in specs)  # unique names (#21.4)
    for spec in specs:
        deployment = by_name[spec["name"]]
        assert deployment["entrypoint"] == spec["entrypoint"] and deployment["work_pool_name"] == "local-process"
        assert set(deployment["parameters"]) <= set(deployment["parameter_openapi_schema"]["properties"])
    for name in names:  # `<flow>/<deployment>` as the docs write them name that flow's deployment
        flow, _, deployment = name.rpartition("/")
        assert not flow or api.get(f"/flows/{by_name[deployment]['flow_id']}").json()["name"] == flow, name
    referenced = _documented(r"prefect deployment (?:run|schedule (?:ls|resume)) ([\w-]+/[\w-]+)")
    for name in referenced:
        flow, deployment = name.split("/")
        assert api.get(f"/deployments/name/{flow}/{deployment}").status_code == 200, f"the docs name {name}"
    schedules = by_name["nightly"]["schedules"]
    assert [s["active"] for s in schedules] == [False] and schedules[0]["schedule"]["timezone"] == "UTC"
    automations = [a["name"] for a in api.post("/automations/filter", json={}).json()]
    assert "triggered__automation_1" in automations, automations


def _deployment(api: httpx.Client, name: str) -> dict[str, Any] | None:
    answer = api.get(f"/deployments/name/{name}")
    return answer.json() if answer.status_code == 200 else None


def _callback_event(job: str) -> dict[str, Any]:
    """What the callback receiver emits for PDF.co's POST (tests/prefect covers the receiver itself)."""
    return {
        "id": str(uuid.uuid4()),
        "occurred": datetime.now(timezone.utc).isoformat(),
        "event": "pdfco.job.succeeded",
        "resource": {"prefect.resource.id": f"pdfco.job.{job}", "prefect.resource.name": "callback"},
        "payload": {"job_id": job, "status": "success", "source": "callback"},
    }


def _runs(api: httpx.Client, deployment_id: str) -> list[dict[str, Any]]:
    return list(api.post("/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}}).json())


def _finished_run(api: httpx.Client, deployment_id: str) -> dict[str, Any] | None:
    done = [run for run in _runs(api, deployment_id) if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
    return done[0] if done else None


def _until(probe: Any, alive: Any, seconds: float | None = None) -> Any:
    """Polls ``probe`` until it returns something while ``alive()`` holds; None after ``seconds`` (if given: else
    pytest-timeout is the deadline)."""
    started = time.monotonic()
    while seconds is None or time.monotonic() - started < seconds:
        found = probe()
        if found:
            return found
        assert alive(), "the process it waits on has exited"
        time.sleep(0.5)  # a server and a process we do not control: nothing to wait on but their answers
    return None


def test_the_other_examples_keep_successes_beside_failures(
    processes: Processes, server: PrefectServer, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    docs, invoices = tmp_path / "documents", tmp_path / "invoices"
    docs.mkdir()
    invoices.mkdir()
    (docs / "one.html").write_text("<h1>One</h1>")
    (docs / "notes.txt").write_text("plain text notes")
    (docs / "sample.pdf").write_bytes(make_sample_pdf(1))
    (docs / "letter.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # not converted: fails
    (invoices / "march.pdf").write_bytes(make_sample_invoice_pdf(invoice_number="INV-0303"))
    # The three flows in one process: one interpreter start instead of three.
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(FLOWS)!r})
        from batch_convert import pdfco_batch_convert
        from invoice_to_json import pdfco_invoice_to_json
        from protect_and_compress import pdfco_protect_and_compress
        batch = pdfco_batch_convert(source="documents", output="out/batch")
        rows = pdfco_invoice_to_json(source="invoices", output="out/invoices")
        protected = pdfco_protect_and_compress(output="out/protected")
        print("RESULT " + json.dumps({{"batch": batch, "rows": rows, "protected": protected}}))
        """
    )
    env = _env(server, emulator, PDFCO_PDF_PASSWORD="open-sesame")
    emulator.set_job_duration(0.2)
    try:
        with processes.report_on_failure():
            code, said = processes.run("examples", [sys.executable, "-c", script], env=env, cwd=tmp_path)
            assert code == 0, said
    finally:
        emulator.set_job_duration(JOB_SECONDS)
    import json

    result = json.loads(said.split("RESULT ", 1)[1].splitlines()[0])
    assert sorted(result["batch"]["converted"]) == ["notes.txt", "one.html", "sample.pdf"]
    assert list(result["batch"]["failed"]) == ["letter.doc"]
    assert sorted(p.name for p in (tmp_path / "out" / "batch").glob("*.pdf")) == ["notes.pdf", "one.pdf", "sample.pdf"]
    assert "Finished in state 1 of 3 failed(" in said  # the partly failed batch does not read as clean
    assert result["rows"][0]["invoice"] == "INV-0303" and result["rows"][0]["total"] == "296.95"
    reader = PdfReader(tmp_path / "out" / "protected" / "protected.pdf")
    assert reader.is_encrypted and reader.decrypt("open-sesame") and len(reader.pages) == 1


BUSY_LOOP = "while True:\n    pass\n"


@pytest.mark.needs_env("PDFCO_E2E_BUSY")  # minutes of busy CPUs: PDFCO_E2E_BUSY=1 to run it
@pytest.mark.timeout(900)
def test_the_first_steps_survive_a_busy_fresh_machine(processes: Processes, tmp_path: Path) -> None:
    # #21.8: a fresh PREFECT_HOME (the first server start creates the database) while every CPU is busy: saving the
    # block (Prefect's temporary server, given 120 s instead of 20) and the quickstart (its own server) both succeed.
    home, output = tmp_path / "home", tmp_path / "output"
    env = base_env(home)
    busy = Processes(log_dir=tmp_path)
    try:
        with PdfcoEmulator(api_key="busy-key", job_duration=0.5) as emulator, processes.report_on_failure():
            for number in range(max(2, os.cpu_count() or 2)):
                busy.start(f"busy-{number}", [sys.executable, "-c", BUSY_LOOP], env=env, cwd=tmp_path)
            save = [sys.executable, str(REPO / "blocks" / "create_credentials.py"), "--base-url", emulator.base_url]
            code, said = processes.run("first-save", save, env={**env, "PDFCO_API_KEY": "busy-key"}, cwd=tmp_path)
            assert code == 0, said
            quickstart = _example("quickstart", "--output", str(output))
            code, said = processes.run("first-quickstart", quickstart, env=env, cwd=tmp_path)
            assert code == 0, said
            assert all(process.alive() for process in busy.started)  # the CPUs stayed busy throughout
    finally:
        busy.stop_all()
    assert "Credentials: block 'pdfco' (127.0.0.1)" in said and "Starting a local Prefect server" in said
    assert sorted(path.name for path in output.iterdir()) == ["merged.pdf", "merged.txt", "page-1.pdf", "page-2.pdf"]
