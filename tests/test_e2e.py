"""End to end on a real Prefect server: the CLI set-up, a served quickstart deployment, and ``prefect deploy``.

What a newcomer does, in the order they do it, with nothing mocked:

1. ``prefect server start`` on a free port, with its own PREFECT_HOME and SQLite database;
2. ``prefect block register -m prefect_pdfco`` and ``python blocks/create_credentials.py --base-url <emulator>``;
3. ``python flows/quickstart.py --serve``, then ``run_deployment("pdfco-quickstart/quickstart")``;
4. ``prefect work-pool create`` and ``prefect --no-prompt deploy --all`` with the root ``prefect.yaml``.

The emulator runs in this process; everything else is a subprocess in its own session, killed with its
children at the end. A failing test prints every subprocess's log.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Deployment, FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from pypdf import PdfReader

from prefect_pdfco.testing import PdfcoEmulator
from tests._e2e_support import ManagedProcess, PrefectServer, Processes, prefect_cli, start_prefect_server

#: A real `prefect server start` and subprocess flows: left out of the fast loop, `pytest -m "not e2e"`.
pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
# PDFCO_E2E_QUICKSTART runs the same test against another flow file with the quickstart's contract.
QUICKSTART = Path(os.environ.get("PDFCO_E2E_QUICKSTART", REPO / "flows" / "quickstart.py")).resolve()
DEPLOYMENT = "pdfco-quickstart/quickstart"
#: Longer than the first delay of a wait with nothing learnt (2 s): the first jobs' first checks find them
#: working, so check_job goes through AwaitingRetry (later jobs are checked first at their learnt end).
JOB_SECONDS = 3.0
#: Generous for a slow CI machine; the whole chain takes about 20 s here.
RUN_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def server(processes: Processes, tmp_path_factory: pytest.TempPathFactory) -> PrefectServer:
    """One real ``prefect server start`` for the module (about 10 s to start here)."""
    with processes.report_on_failure():
        return start_prefect_server(processes, tmp_path_factory.mktemp("prefect-home"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[PdfcoEmulator]:
    # A key unlike any default, so finding it in logs or output would mean a leak.
    with PdfcoEmulator(api_key=f"e2e-{secrets.token_hex(12)}", job_duration=JOB_SECONDS) as emu:
        yield emu


def _check(result: Any, what: str) -> None:
    assert result.returncode == 0, f"{what} exited with {result.returncode}:\n{result.stdout}"


async def _wait_for_deployment(client: PrefectClient, name: str, serve: ManagedProcess, timeout: float) -> Deployment:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await client.read_deployment_by_name(name)
        except ObjectNotFound:
            if not serve.alive():
                raise AssertionError(f"the serve process exited with {serve.popen.returncode}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"deployment {name} did not appear within {timeout:g} s") from None
            await asyncio.sleep(0.5)


async def _logs_of(client: PrefectClient, flow_run_id: Any) -> list[str]:
    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    # Logs are shipped in batches: give the last ones a moment to arrive.
    for _ in range(20):
        logs = await client.read_logs(log_filter=log_filter)
        if logs:
            break
        await asyncio.sleep(0.5)
    return [log.message for log in logs]


def _table_rows(artifact: Any) -> list[dict[str, Any]]:
    data = artifact.data
    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list), f"table artifact data is {type(rows).__name__}"
    return rows


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w{3,}", text)}


def _html_words(flow_file: Path) -> set[str]:
    """The words of the HTML documents the flow renders: the text of its HTML string literals."""
    literals = [
        node.value
        for node in ast.walk(ast.parse(flow_file.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"<(h1|p|table)\b", node.value)
    ]
    return _words(re.sub(r"<[^>]+>", " ", " ".join(literals)))


def _assert_files_landed(output: Path, html_words: set[str]) -> None:
    landed = sorted(str(path.relative_to(output)) for path in output.rglob("*"))
    pdfs = sorted(output.rglob("*.pdf"))
    texts = sorted(output.rglob("*.txt"))
    assert pdfs and texts, f"expected PDFs and a text file in {output}: {landed}"
    pdf_words: set[str] = set()
    for pdf in pdfs:
        reader = PdfReader(pdf)  # raises on anything that is not a PDF
        assert len(reader.pages) >= 1, pdf
        pdf_words |= {word for page in reader.pages for word in _words(page.extract_text())}
    for text_file in texts:
        words = _words(text_file.read_text(encoding="utf-8"))
        # PDF to text of PDFs rendered from the flow's HTML: the words of the HTML, and of the PDFs that landed.
        assert len(words & pdf_words) >= 3, f"{text_file.name} shares no text with the PDFs: {sorted(words)[:20]}"
        if html_words:
            assert len(words & html_words) >= 3, f"{text_file.name}: {sorted(words)[:20]} vs {sorted(html_words)}"


async def _assert_run_left_its_trace(client: PrefectClient, flow_run: FlowRun, api_key: str) -> None:
    task_runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    checks = [run for run in task_runs if run.name.startswith("check-job-")]
    assert checks, f"no check-job-* task runs among {sorted(run.name for run in task_runs)}"
    histories = {run.name: await client.read_task_run_states(run.id) for run in checks}
    retried = [name for name, states in histories.items() if any(s.name == "AwaitingRetry" for s in states)]
    assert retried, {name: [s.name for s in states] for name, states in histories.items()}
    assert all(run.state_type == StateType.COMPLETED for run in checks), [(r.name, r.state_name) for r in checks]

    artifacts = await client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
    )
    keys = sorted({artifact.key for artifact in artifacts if artifact.key})
    tables = [artifact for artifact in artifacts if artifact.key == "pdfco-jobs"]
    assert tables, f"no pdfco-jobs table among {keys}"
    rows = _table_rows(max(tables, key=lambda artifact: artifact.created))
    jobs = [row for row in rows if row.get("operation") != "total"]
    assert jobs and all(row["status"] == "success" for row in jobs), rows
    assert len(tables) == 1 and tables[0].task_run_id is None, "one jobs table, written when the run ends"
    links = [a for a in artifacts if a.type == "markdown" and "Result of PDF.co job" in str(a.description)]
    described = " ".join(str(link.description) for link in links)
    assert all(row["job"].rstrip("…") in described for row in jobs), described
    assert all(link.key is None for link in links), "result links carry no per-job key"

    logs = await _logs_of(client, flow_run.id)
    assert logs, "the flow run sent no logs to the server"
    assert not [line for line in logs if api_key in line], "the API key appears in the flow run's logs"


async def test_served_quickstart_runs_to_completion_on_a_real_server(
    processes: Processes, server: PrefectServer, emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    if not QUICKSTART.exists():
        pytest.skip(f"{QUICKSTART} has not landed yet (the example flows are a separate change)")
    output = tmp_path / "out"
    with processes.report_on_failure():
        register = processes.run(
            "block-register", prefect_cli("block", "register", "-m", "prefect_pdfco"), env=server.env(), cwd=REPO
        )
        _check(register, "prefect block register")
        assert "PDF.co Credentials" in register.stdout, register.stdout
        create = processes.run(
            "create-credentials",
            [
                sys.executable,
                str(REPO / "blocks" / "create_credentials.py"),
                "--base-url",
                emulator.base_url,
                "--no-prompt",
                "--overwrite",
            ],
            env=server.env(PDFCO_API_KEY=emulator.api_key),
            cwd=REPO,
        )
        _check(create, "blocks/create_credentials.py")
        assert emulator.api_key not in create.stdout

        serve_env = server.env(PREFECT_RUNNER_POLL_FREQUENCY="1")  # the default 10 s poll would dominate the test
        serve_env.pop("PDFCO_API_KEY", None)  # the saved block, and nothing else, must tell the flow where to go
        # Served from an empty directory: a run with default parameters (a schedule firing) cannot litter the
        # repository, and the flow must not depend on the current directory.
        workdir = tmp_path / "workdir"
        workdir.mkdir()
        serve = processes.start(
            "serve-quickstart", [sys.executable, str(QUICKSTART), "--serve"], env=serve_env, cwd=workdir
        )

        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            async with get_client() as client:
                block_type = await client.read_block_type_by_slug("pdfco-credentials")
                assert block_type.name == "PDF.co Credentials"
                document = await client.read_block_document_by_name("pdfco", "pdfco-credentials")
                assert document.data["base_url"] == emulator.base_url
                await _wait_for_deployment(client, DEPLOYMENT, serve, timeout=60)

            flow_run = await run_deployment(
                DEPLOYMENT, parameters={"output": str(output)}, timeout=RUN_TIMEOUT, poll_interval=1
            )
            assert flow_run.state is not None and flow_run.state.is_completed(), (
                f"flow run {flow_run.name} ended {flow_run.state!r}"
            )
            async with get_client() as client:
                await _assert_run_left_its_trace(client, flow_run, emulator.api_key)

        _assert_files_landed(output, _html_words(QUICKSTART))
        stats = emulator.stats()
        assert stats["jobs_submitted"] >= 1 and stats["result_link_requests"] >= 1, stats
        assert stats["result_link_requests_with_api_key"] == 0, "the API key was sent to a result link host"
        assert stats["unauthorized"] == 0, stats


def _placeholder_flow(function: str, parameters: dict[str, Any]) -> str:
    signature = ", ".join(f"{name}={value!r}" for name, value in parameters.items())
    return (
        f'"""Placeholder written by tests/test_e2e.py: the real entrypoint has not landed."""\n'
        f"from prefect import flow\n\n\n@flow\ndef {function}({signature}) -> None:\n    pass\n"
    )


def _repo_copy(destination: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """prefect.yaml and flows/ copied to ``destination``; placeholders for entrypoints that do not exist yet."""
    shutil.copy2(REPO / "prefect.yaml", destination / "prefect.yaml")
    if (REPO / "flows").is_dir():
        shutil.copytree(REPO / "flows", destination / "flows", ignore=shutil.ignore_patterns("__pycache__", "output"))
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    placeholders = []
    for deployment in config["deployments"]:
        path, function = deployment["entrypoint"].rsplit(":", 1)
        target = destination / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_placeholder_flow(function, deployment.get("parameters") or {}))
            placeholders.append(path)
    return config["deployments"], placeholders


async def test_prefect_deploy_all_accepts_prefect_yaml(
    processes: Processes, server: PrefectServer, tmp_path: Path
) -> None:
    # A copy, so that deploying never writes into the working tree (and placeholders never land in flows/).
    copy = tmp_path / "repo"
    copy.mkdir()
    expected, placeholders = _repo_copy(copy)
    if placeholders:
        warnings.warn(f"deployed placeholders for entrypoints not yet written: {placeholders}", stacklevel=1)
    env = server.env()
    with processes.report_on_failure():
        pool = processes.run(
            "work-pool-create",
            prefect_cli("work-pool", "create", "local-process", "--type", "process", "--overwrite"),
            env=env,
            cwd=copy,
        )
        _check(pool, "prefect work-pool create")
        deploy = processes.run("deploy-all", prefect_cli("--no-prompt", "deploy", "--all"), env=env, cwd=copy)
        _check(deploy, "prefect --no-prompt deploy --all")

        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            async with get_client() as client:
                names = sorted({spec["name"] for spec in expected})
                found = await client.read_deployments(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=names))
                )
        by_entrypoint = {deployment.entrypoint: deployment for deployment in found}
        assert sorted(by_entrypoint) == sorted(spec["entrypoint"] for spec in expected), sorted(by_entrypoint)
        for spec in expected:
            deployment = by_entrypoint[spec["entrypoint"]]
            assert deployment.name == spec["name"]
            assert deployment.work_pool_name == "local-process"
            assert "pdfco" in deployment.tags
            # The parameters in prefect.yaml must be parameters of the flow (the server does not check).
            accepted = set(deployment.parameter_openapi_schema.get("properties", {}))
            assert set(deployment.parameters) <= accepted, (spec["entrypoint"], sorted(deployment.parameters), accepted)
            # No git clone, no build: the worker runs the code in place, where it was deployed from.
            assert deployment.pull_steps == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(copy.resolve())}}
            ], deployment.pull_steps
        crons = [s for d in found for s in d.schedules if getattr(s.schedule, "cron", None)]
        assert crons, "no deployment has a cron schedule"
        # Deployed paused on purpose (see prefect.yaml): deploying must not start runs by surprise.
        assert all(not schedule.active and schedule.schedule.timezone == "UTC" for schedule in crons), crons
