"""The pytest plugin (``pdfco_emulator.pytest_plugin``), run in inner pytest sessions, and its import cost."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "pdfco_emulator.pytest_plugin"

TESTS = """
import httpx
import pytest

from pdfco_emulator import PdfcoEmulator


@pytest.fixture
def pdfco_emulator_options():
    return {"credits": 77, "job_duration": 0.01}


def balance(emulator):
    answer = httpx.get(emulator.base_url + "/v1/account/credit/balance", headers={"x-api-key": emulator.api_key})
    return answer.json()["remainingCredits"]


def refused_names(emulator):
    answer = httpx.post(
        emulator.base_url + "/v1/pdf/merge", json={"url": "x", "bogus": 1}, headers={"x-api-key": emulator.api_key}
    )
    return answer.json().get("unknownParameters")


def test_options_fixture(pdfco_emulator):
    assert isinstance(pdfco_emulator, PdfcoEmulator) and balance(pdfco_emulator) == 77
    assert pdfco_emulator.strict is STRICT and refused_names(pdfco_emulator) == (["bogus"] if STRICT else None)


@pytest.mark.pdfco_emulator(credits=5, api_key="marked", strict=False)
def test_marker_wins(pdfco_emulator):
    assert pdfco_emulator.api_key == "marked" and balance(pdfco_emulator) == 5
    assert refused_names(pdfco_emulator) is None


PORTS = []


def test_session_emulator_is_shared(pdfco_emulator_session):
    PORTS.append(pdfco_emulator_session.port)
    assert balance(pdfco_emulator_session) == 100_000 and pdfco_emulator_session.strict is STRICT


def test_session_emulator_again(pdfco_emulator_session):
    assert PORTS == [pdfco_emulator_session.port]
"""


def _run(pytester: pytest.Pytester, ini: str, strict: bool) -> pytest.RunResult:
    pytester.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{ini}")
    pytester.makepyfile(test_user=TESTS.replace("STRICT", str(strict)))
    registered = any(point.value == PLUGIN for point in entry_points(group="pytest11"))
    plugin = [] if registered else ["-p", PLUGIN]
    flags = ["-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning"]
    return pytester.runpytest_inprocess(*plugin, *flags)


@pytest.mark.parametrize(("ini", "strict"), [("", True), ("pdfco_emulator_strict = false\n", False)])
def test_fixtures_marker_options_and_strictness(pytester: pytest.Pytester, ini: str, strict: bool) -> None:
    _run(pytester, ini, strict).assert_outcomes(passed=4)


BLOCKER = """
import importlib.abc, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"starlette", "uvicorn", "pypdf", "fpdf", "PIL", "pypdfium2", "docx", "anyio"}:
            raise ImportError(f"blocked {name}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
import pdfco_emulator, pdfco_emulator.pytest_plugin
try:
    pdfco_emulator.PdfcoEmulator
except ImportError as error:
    print(error)
"""


def test_the_plugin_imports_without_the_emulators_dependencies() -> None:
    done = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install 'prefect-pdfco[emulator]'" in done.stdout and "is missing" in done.stdout
