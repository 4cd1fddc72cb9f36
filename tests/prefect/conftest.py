"""Engine tests: the real Prefect engine under one session harness, PDF.co emulated over real HTTP on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.testing import credentials_for


@pytest.fixture(autouse=True)
def _harness(prefect_harness: None) -> None:
    """Every engine test runs against the session's Prefect API."""


@pytest.fixture
def pdfco_emulator_options() -> dict[str, Any]:
    """Short jobs: the engine tests are about behaviour, not PDF.co's speed."""
    return {"job_duration": 0.2}


@pytest.fixture
def credentials(pdfco_emulator: PdfcoEmulator) -> PdfcoCredentials:
    """Credentials for the test's own emulator."""
    return credentials_for(pdfco_emulator)
