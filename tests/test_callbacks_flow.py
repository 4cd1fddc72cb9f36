"""flows/on_job_succeeded.py, the flow a job's success event starts: one check, then the download; its trigger in
--serve and in prefect.yaml is the same. (The whole chain on a real server: tests/test_e2e_trigger.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pypdf import PdfReader

from prefect_pdfco import JobNotFound
from prefect_pdfco.testing import PdfcoEmulator
from tests.test_examples import emulator_in_env, load

REPO = Path(__file__).resolve().parents[1]


def _flow_module() -> Any:
    return load("on_job_succeeded")


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[PdfcoEmulator]:
    with emulator_in_env(monkeypatch, job_duration=30) as emu:
        yield emu


@pytest.mark.usefixtures("prefect_harness")
def test_the_flow_confirms_with_one_check_and_downloads(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    with httpx.Client(base_url=emulator.base_url, headers={"x-api-key": emulator.api_key}, trust_env=False) as api:
        answer = api.post("/v1/pdf/convert/from/html", json={"html": "<h1>Chained</h1>", "async": True}).json()
    emulator.advance_clock(31)
    landed = _flow_module().on_job_succeeded(job_id=answer["jobId"], operation="html_to_pdf", output=str(tmp_path))
    assert [item["name"] for item in landed] == [Path(p).name for p in (tmp_path / answer["jobId"]).iterdir()]
    assert "Chained" in PdfReader(next((tmp_path / answer["jobId"]).iterdir())).pages[0].extract_text()
    assert emulator.stats()["job_checks"] == 1


@pytest.mark.usefixtures("prefect_harness")
def test_a_forged_job_id_costs_one_check_and_downloads_nothing(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    with pytest.raises(JobNotFound):
        _flow_module().on_job_succeeded(job_id="FORGED--151-300", output=str(tmp_path))
    assert emulator.stats()["job_checks"] == 1 and list(tmp_path.iterdir()) == []


def test_prefect_yaml_has_the_trigger_that_serve_uses() -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text())
    (deployment,) = [
        d for d in config["deployments"] if d["entrypoint"].endswith("on_job_succeeded.py:on_job_succeeded")
    ]
    (trigger,) = deployment["triggers"]
    served = _flow_module().TRIGGER
    assert trigger["type"] == "event" and trigger["enabled"] is True
    assert set(trigger["expect"]) == served.expect == {"pdfco.job.succeeded"}
    assert (
        trigger["match"]
        == served.match.model_dump()
        == {"prefect.resource.id": "pdfco.job.*", "prefect.resource.name": "callback"}
    )
    assert trigger["parameters"] == served.parameters
