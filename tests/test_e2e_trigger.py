"""End to end: a job's callback starts the prefect.yaml deployment that downloads its result, nobody waiting.

On one real ``prefect server start``: the `pdfco` block saved, ``prefect deploy`` of the ``triggered``
deployment from a copy of the repository's prefect.yaml (its trigger becomes an automation), a process worker,
and the standalone receiver ``python -m prefect_pdfco.callbacks``. The test submits a job with a callback to the
emulator (in this process) and ends it with the emulator's clock; the emulator calls the receiver, which emits
``pdfco.job.succeeded``; the automation runs the deployment, whose flow confirms the job with one check and
downloads the PDF. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings
from pypdf import PdfReader

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.jobs.submit import submit_and_record
from prefect_pdfco.testing import PdfcoEmulator
from tests._e2e_support import PrefectServer, Processes, free_port, prefect_cli, start_prefect_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
DEPLOYMENT = "pdfco-on-job-succeeded/triggered"
#: Generous for a slow machine: deploy, worker start and a flow run subprocess. No test measures it.
PATIENCE = 240.0


def _check(result: object, what: str) -> None:
    assert getattr(result, "returncode", 1) == 0, f"{what} failed:\n{getattr(result, 'stdout', '')}"


async def _until(what: str, probe: object, processes: Processes) -> object:
    deadline = time.monotonic() + PATIENCE
    while True:
        value = await probe()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        for process in processes.started:
            if process.name != "deploy" and process.popen.poll() is not None and process.name != "work-pool":
                raise AssertionError(f"{process.name} exited with {process.popen.returncode}")
        await asyncio.sleep(0.5)


async def _runs_of(client: PrefectClient, deployment_id: object) -> list[FlowRun]:
    return await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(),
    )


async def test_a_callback_starts_the_triggered_deployment_which_downloads_the_result(
    processes: Processes, tmp_path: Path
) -> None:
    copy = tmp_path / "repo"
    (copy / "flows").mkdir(parents=True)
    shutil.copy2(REPO / "prefect.yaml", copy / "prefect.yaml")
    shutil.copy2(REPO / "flows" / "on_job_succeeded.py", copy / "flows" / "on_job_succeeded.py")
    # A key unlike any default, so finding it in logs or output would mean a leak.
    with (
        processes.report_on_failure(),
        PdfcoEmulator(api_key=f"e2e-{secrets.token_hex(12)}", job_duration=60) as emulator,
    ):
        server: PrefectServer = start_prefect_server(processes, tmp_path / "prefect-home")
        env = server.env(PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="1")
        env.pop("PDFCO_API_KEY", None)  # the saved block, and nothing else, says where to go
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            await PdfcoCredentials(api_key=emulator.api_key, base_url=emulator.base_url).save("pdfco")
        pool = ["work-pool", "create", "local-process", "--type", "process", "--overwrite"]
        _check(processes.run("work-pool", prefect_cli(*pool), env=env, cwd=copy), "work-pool create")
        deploy = processes.run("deploy", prefect_cli("--no-prompt", "deploy", "--name", "triggered"), env=env, cwd=copy)
        _check(deploy, "prefect deploy")
        processes.start("worker", prefect_cli("worker", "start", "--pool", "local-process"), env=env, cwd=copy)
        port = free_port()
        receiver_args = [sys.executable, "-m", "prefect_pdfco.callbacks", "--port", str(port), "--block", "pdfco"]
        processes.start("receiver", receiver_args, env=env, cwd=copy)
        receiver_url = f"http://127.0.0.1:{port}"

        async def receiver_up() -> bool:
            try:
                async with httpx.AsyncClient(trust_env=False) as http:
                    return (await http.get(f"{receiver_url}/x")).status_code == 404
            except httpx.HTTPError:
                return False

        await _until("the receiver answers", receiver_up, processes)
        credentials = PdfcoCredentials(api_key=emulator.api_key, base_url=emulator.base_url, callback_url=receiver_url)
        job = await submit_and_record(credentials, "/v1/pdf/convert/from/html", {"html": "<h1>Triggered</h1>"})

        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            async with get_client() as client:
                deployment = await client.read_deployment_by_name(DEPLOYMENT)
                automations = [a.name for a in await client.read_automations()]
                assert f"{deployment.name}__automation_1" in automations, automations
                assert await _runs_of(client, deployment.id) == []
                emulator.advance_clock(61)  # the job ends; the emulator calls the receiver back

                async def finished() -> FlowRun | None:
                    runs = await _runs_of(client, deployment.id)
                    done = [run for run in runs if run.state is not None and run.state.is_final()]
                    return done[0] if done else None

                run = await _until("the triggered flow run ends", finished, processes)
                assert isinstance(run, FlowRun)
                assert run.state is not None and run.state.is_completed(), run.state
                assert run.parameters["job_id"] == job.job_id and run.parameters["operation"] == "job"
                assert len(await _runs_of(client, deployment.id)) == 1
        stats = emulator.stats()

    landed = list((copy / "output" / "triggered" / job.job_id).glob("*.pdf"))
    assert len(landed) == 1, sorted(str(p) for p in (copy / "output").rglob("*"))
    assert "Triggered" in PdfReader(landed[0]).pages[0].extract_text()
    # One check in all, the flow's: the receiver passes on what PDF.co posted (not --confirm).
    assert stats["callbacks_delivered"] == 1 and stats["job_checks"] == 1, stats
    assert stats["result_link_requests_with_api_key"] == 0 and stats["unauthorized"] == 0, stats
    assert not [p.name for p in processes.started if emulator.api_key in p.log()], "the API key is in a log"
