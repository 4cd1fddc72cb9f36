"""Shared fixtures: one Prefect test harness per session, PDF.co routes, log capture."""

from __future__ import annotations

import os
import tempfile

# Before Prefect is imported: no telemetry, and results/storage in a throwaway home, not ~/.prefect.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-pdfco-tests-"))
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")
# Every PDF.co emulator our tests start (and the subprocesses they run) is strict: a parameter name PDF.co does
# not document for the endpoint, or in a letter case it does not document, gets PDF.co's 454 instead of being
# ignored. Tests of the lenient default pass strict=False.
os.environ.setdefault("PDFCO_EMULATOR_STRICT", "1")

from collections.abc import Iterator

import pytest
import respx

from prefect_pdfco import PdfcoCredentials
from tests._e2e_support import processes  # noqa: F401 (the end-to-end tests' shared fixture)
from tests._emulator_support import api, emu  # noqa: F401 (the emulator tests' shared fixtures)

API = "https://api.pdf.co"
API_KEY = "sk-test-0123456789abcdef"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real Prefect API (SQLite, subprocess server) for the engine tests; started once (about 20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def credentials() -> PdfcoCredentials:
    """Credentials pointing at the respx-mocked PDF.co host."""
    return PdfcoCredentials(api_key=API_KEY, base_url=API)


@pytest.fixture
def pdfco() -> Iterator[respx.MockRouter]:
    """respx routes for api.pdf.co only; everything else (Prefect's own API on 127.0.0.1) passes through."""
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.route(host="localhost").pass_through()
        yield router


def pdfco_requests(router: respx.MockRouter) -> list[object]:
    """The calls a router saw to PDF.co itself (Prefect's own log and event posts to 127.0.0.1 excluded)."""
    return [call for call in router.calls if call.request.url.host == "api.pdf.co"]
