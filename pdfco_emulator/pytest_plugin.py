"""A pytest plugin with PDF.co emulator fixtures.

Enable it in your top-level ``conftest.py``::

    pytest_plugins = ["prefect_pdfco.testing.pytest_plugin"]

Then use ``pdfco_emulator`` (a running ``PdfcoEmulator``, one per test) and ``pdfco_credentials`` (a
``PdfcoCredentials`` block pointing at it). Choose the emulator's options per test with the marker, or for a
whole module or directory by overriding the ``pdfco_emulator_options`` fixture (the marker wins)::

    @pytest.mark.pdfco_emulator(credits=10, job_duration=0.05, rate_limit=2)
    def test_out_of_credits(pdfco_emulator): ...

    @pytest.fixture
    def pdfco_emulator_options():
        return {"job_duration": 0.05}

Strict mode (parameter names PDF.co does not document get its 454 "invalid parameters", see
``PdfcoEmulator(strict=...)``): per test with ``@pytest.mark.pdfco_emulator(strict=True)``, for a whole
suite with ``pdfco_emulator_strict = true`` in the pytest ini options, or with ``PDFCO_EMULATOR_STRICT=1`` in
the environment (which also reaches emulators a test builds itself). The marker wins, then the options
fixture, then the ini option, then the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from prefect_pdfco.testing._server import PdfcoEmulator

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["pdfco_credentials", "pdfco_emulator", "pdfco_emulator_options"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Registers the ``pdfco_emulator_strict`` ini option."""
    parser.addini(
        "pdfco_emulator_strict",
        "run the pdfco_emulator fixture in strict mode (undocumented PDF.co parameter names are refused)",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``pdfco_emulator`` marker."""
    config.addinivalue_line(
        "markers", "pdfco_emulator(**options): PdfcoEmulator constructor options for the pdfco_emulator fixture"
    )


@pytest.fixture
def pdfco_emulator_options() -> dict[str, Any]:
    """``PdfcoEmulator`` constructor options for ``pdfco_emulator``; override it to change the defaults."""
    return {}


@pytest.fixture
def pdfco_emulator(request: pytest.FixtureRequest, pdfco_emulator_options: dict[str, Any]) -> Iterator[PdfcoEmulator]:
    """A running PDF.co emulator for one test, stopped (and its files deleted) afterwards."""
    options = dict(pdfco_emulator_options)
    if request.config.getini("pdfco_emulator_strict"):
        options.setdefault("strict", True)
    marker = request.node.get_closest_marker("pdfco_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    with PdfcoEmulator(**options) as emulator:
        yield emulator


@pytest.fixture
def pdfco_credentials(pdfco_emulator: PdfcoEmulator) -> PdfcoCredentials:
    """A ``PdfcoCredentials`` block pointing at ``pdfco_emulator``."""
    return pdfco_emulator.credentials()
