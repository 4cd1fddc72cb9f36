"""The emulator's own tests: one emulator per module (``emu``), a keyed plain httpx client (``api``).

A module sets ``EMULATOR_OPTIONS`` for its emulator. Faults left by a test are dropped after it, so a shared
emulator behaves the same for every test; a test that needs its own counters or options starts its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pdfco_emulator import PdfcoEmulator


@pytest.fixture(scope="module")
def emu(request: pytest.FixtureRequest) -> Iterator[PdfcoEmulator]:
    """A running emulator shared by the module: fast jobs, then the module's ``EMULATOR_OPTIONS``."""
    options = {"job_duration": 0.05, **getattr(request.module, "EMULATOR_OPTIONS", {})}
    with PdfcoEmulator(**options) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset_faults()


@pytest.fixture(scope="module")
def api(emu: PdfcoEmulator) -> Iterator[httpx.Client]:
    """A plain httpx client on the emulator's API, sending the key."""
    with httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, timeout=30) as client:
        yield client

