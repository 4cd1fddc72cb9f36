"""The user-facing pytest plugin (``prefect_pdfco.testing.pytest_plugin``), run in an inner pytest session."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
pytest_plugins = ["prefect_pdfco.testing.pytest_plugin"]
"""

TESTS = """
import httpx
import pytest

from prefect_pdfco.testing import PdfcoEmulator


@pytest.fixture
def pdfco_emulator_options():
    return {"credits": 77, "job_duration": 0.01}


def test_defaults_from_options_fixture(pdfco_emulator):
    assert isinstance(pdfco_emulator, PdfcoEmulator)
    answer = httpx.get(
        pdfco_emulator.base_url + "/v1/account/credit/balance", headers={"x-api-key": pdfco_emulator.api_key}
    )
    assert answer.json() == {"remainingCredits": 77}


@pytest.mark.pdfco_emulator(credits=5, api_key="marked")
def test_marker_wins(pdfco_emulator):
    assert pdfco_emulator.api_key == "marked"
    assert pdfco_emulator.stats()["remaining_credits"] == 5


def test_credentials(pdfco_emulator, pdfco_credentials):
    assert pdfco_credentials.base_url == pdfco_emulator.base_url
    assert pdfco_credentials.api_key.get_secret_value() == pdfco_emulator.api_key
"""


def test_plugin_fixtures_marker_and_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_user=TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=3)


STRICT_TESTS = """
import httpx
import pytest


def undocumented(emulator):
    answer = httpx.post(
        emulator.base_url + "/v1/pdf/merge", json={"url": "x", "bogus": 1}, headers={"x-api-key": emulator.api_key}
    )
    return answer.json().get("unknownParameters")


def test_default(pdfco_emulator):
    assert pdfco_emulator.strict is EXPECTED
    assert undocumented(pdfco_emulator) == (["bogus"] if EXPECTED else None)


@pytest.mark.pdfco_emulator(strict=True)
def test_marker_on(pdfco_emulator):
    assert pdfco_emulator.strict and undocumented(pdfco_emulator) == ["bogus"]


@pytest.mark.pdfco_emulator(strict=False)
def test_marker_off(pdfco_emulator):
    assert not pdfco_emulator.strict and undocumented(pdfco_emulator) is None
"""


@pytest.mark.parametrize(("ini", "env", "expected"), [("", "", False), ("true", "", True), ("", "1", True)])
def test_plugin_strict_mode_from_marker_ini_option_or_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ini: str, env: str, expected: bool
) -> None:
    monkeypatch.setenv("PDFCO_EMULATOR_STRICT", env)
    strict_line = f"pdfco_emulator_strict = {ini}\n" if ini else ""
    pytester.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{strict_line}")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_strict=STRICT_TESTS.replace("EXPECTED", str(expected)))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=3)
