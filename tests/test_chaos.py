"""Chaos soak, small: documents through real flows with faults at random; every promise about money and files holds.

The soak lives in ``benchmarks/_chaos.py`` and its tally in ``benchmarks/chaos.py`` (which runs 200 documents and
prints it); this test loads both files and runs 20 documents in one flow with a retry, shaken harder. It asserts
the invariants, never counts that depend on thread timing, and never time. Below it, the emulator faults the soak
relies on.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from prefect_pdfco import PdfcoClient, PdfcoConnectionError, ServerError
from prefect_pdfco.testing import PdfcoEmulator

HTML_PATH = "/v1/pdf/convert/from/html"


def load(file: str, name: str) -> ModuleType:
    """A module of ``benchmarks/`` (not a package: the benchmark imports ``_chaos`` from its own folder)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / file
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs; chaos.py imports _chaos
    spec.loader.exec_module(module)
    return module


soak = load("_chaos.py", "_chaos")
chaos = load("chaos.py", "pdfco_chaos_benchmark")
#: Draws every kind of fault into the first attempt for any count of accepted submits from 8 to 17 (the dice of a
#: step depend on the seed and on how many calls the step makes; a busy machine's spurious read timeouts lower it).
SEED = 316


@pytest.mark.usefixtures("prefect_harness")
async def test_a_small_soak_keeps_every_promise(tmp_path: Path) -> None:
    config = soak.SoakConfig(documents=20, batch_size=20, seed=SEED, flow_retries=1, timeout_seconds=1.0, fault_scale=2)
    tally = chaos.tally(await soak.run_soak(config, tmp_path))

    assert tally.violations() == [], tally.render()
    assert tally.untyped == [] and tally.partial_files == [] and tally.documents_with_two_jobs == 0
    assert tally.jobs_billed == tally.accepted + tally.ambiguous_with_job
    assert sum(tally.outcomes.values()) == 20
    assert tally.attempts == 2  # the flow retry ran: documents failed in the first attempt
    # The faults were felt, not only queued: submits whose outcome is unknown, drops mid-body, scripted answers.
    assert tally.ambiguous >= 1 and tally.outcomes["SubmitOutcomeUnknown"] == tally.ambiguous
    assert tally.stats["downloads_dropped"] >= 1 and tally.stats["faults_served"] >= 5
    assert tally.outcomes[soak.SUCCESS] >= 1 and tally.landed == tally.outcomes[soak.SUCCESS]
    assert {"submit 429", "submit read timeout", "submit 5xx", "submit dropped", "failed job"} <= set(tally.injected)
    assert {"check 429", "check 5xx", "check dropped", "download 503", "download dropped"} <= set(tally.injected)
    assert "invariants: all hold" in tally.render()


def test_the_tally_names_a_broken_promise() -> None:
    tally = chaos.Tally(soak.SoakConfig(documents=2))
    tally.outcomes.update({soak.SUCCESS: 1})
    tally.untyped.append("doc-2: KeyError: 'x'")
    tally.accepted, tally.jobs_billed, tally.documents_with_two_jobs = 1, 2, 1
    tally.partial_files.append(".pdfco-1234-doc.pdf.part")
    broken = tally.violations()
    assert any("untyped error: doc-2" in line for line in broken)
    assert any("jobs billed 2 != accepted 1" in line for line in broken)
    assert any("a submit sent again): 1" in line for line in broken)
    assert any("partial file left: .pdfco-1234-doc.pdf.part" in line for line in broken)
    assert any("0 files landed for 1 successes" in line for line in broken)


# --- the emulator faults the soak relies on ----------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.01) as emu:
        yield emu


async def test_a_fault_that_takes_effect_creates_the_job_and_loses_the_answer(emulator: PdfcoEmulator) -> None:
    emulator.inject(HTML_PATH, status=502, takes_effect=True)
    emulator.inject(HTML_PATH, drop=True, takes_effect=True)
    emulator.inject(HTML_PATH, status=503)  # the default: refused before any work, no job
    async with PdfcoClient(emulator.api_key, base_url=emulator.base_url) as client:
        with pytest.raises(ServerError):
            await client.submit(HTML_PATH, {"html": "<p>a</p>", "name": "a.pdf"})
        with pytest.raises(PdfcoConnectionError, match="may have reached"):
            await client.submit(HTML_PATH, {"html": "<p>b</p>", "name": "b.pdf"})
        with pytest.raises(ServerError):
            await client.submit(HTML_PATH, {"html": "<p>c</p>", "name": "c.pdf"})
        await client.submit(HTML_PATH, {"html": "<p>d</p>", "name": "d.pdf"})
    stats = emulator.stats()
    assert stats["jobs_by_name"] == {"a.pdf": 1, "b.pdf": 1, "d.pdf": 1}
    assert stats["jobs_submitted"] == 3 and stats["faults_served"] == 3


def test_a_dropped_answer_cuts_the_connection_and_the_next_call_is_answered(emulator: PdfcoEmulator) -> None:
    emulator.inject("/v1/account/credit/balance", drop=True)
    url, headers = f"{emulator.base_url}/v1/account/credit/balance", {"x-api-key": emulator.api_key}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, headers=headers)
    assert httpx.get(url, headers=headers).json() == {"remainingCredits": 100_000}


def test_drop_and_takes_effect_are_checked_and_reachable_over_http(emulator: PdfcoEmulator) -> None:
    with pytest.raises(ValueError, match="no body"):
        emulator.inject(HTML_PATH, drop=True, json={"error": False})
    with pytest.raises(ValueError, match="takes_effect replaces an answer"):
        emulator.inject(HTML_PATH, delay=0.1, takes_effect=True)
    answer = httpx.post(
        f"{emulator.base_url}/__emulator__/faults",
        json={"kind": "response", "path": HTML_PATH, "drop": True, "takes_effect": True},
    )
    assert answer.json()["pending_faults"]["response"] == 1
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            f"{emulator.base_url}{HTML_PATH}",
            json={"html": "<p>x</p>", "name": "x.pdf", "async": True},
            headers={"x-api-key": emulator.api_key},
        )
    assert emulator.stats()["jobs_by_name"] == {"x.pdf": 1}
