"""The fixtures and helpers the emulator's own tests share: a running emulator, a keyed client, uploads, waits.

``conftest.py`` imports the ``emu`` and ``api`` fixtures; a test module sets
``EMULATOR_OPTIONS`` for its emulators, a test its own with ``@options(...)``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from prefect_pdfco.testing import PdfcoEmulator


def options(**kwargs: Any) -> pytest.MarkDecorator:
    """Constructor options for this test's ``emu``."""
    return pytest.mark.parametrize(
        "emu", [kwargs], indirect=True, ids=[",".join(f"{k}={v}" for k, v in kwargs.items())]
    )


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[PdfcoEmulator]:
    """A running emulator: fast jobs, then the module's ``EMULATOR_OPTIONS``, then the test's ``@options(...)``."""
    module_options = getattr(request.module, "EMULATOR_OPTIONS", {})
    settings = {"job_duration": 0.05, **module_options, **getattr(request, "param", {})}
    with PdfcoEmulator(**settings) as emulator:
        yield emulator


@pytest.fixture
def api(emu: PdfcoEmulator) -> Iterator[httpx.Client]:
    """A plain httpx client on the emulator's API, sending the key."""
    with httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as client:
        yield client


def upload(api: httpx.Client, content: bytes, name: str = "in.pdf") -> str:
    """Uploads ``content`` (base64 route) and returns its link."""
    answer = api.post("/v1/file/upload/base64", json={"file": base64.b64encode(content).decode(), "name": name})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["url"])


def finished(api: httpx.Client, job_id: str) -> dict[str, Any]:
    """Job check until the background work is done (jobs here take no emulated time; the work is real)."""
    for _ in range(500):
        body: dict[str, Any] = api.post("/v1/job/check", json={"jobid": job_id}).json()
        if body["status"] != "working":
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} still working")
