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
