"""pytest fixtures that start a PDF.co emulator: ``pdfco_emulator`` (one per test) and ``pdfco_emulator_session``.

Installed with the package, the plugin is active in every pytest run (entry point ``pytest11``); it imports the
emulator's dependencies only when a test asks for a fixture. Options per test with the marker, for a module or
directory by overriding ``pdfco_emulator_options`` (the marker wins)::

    @pytest.mark.pdfco_emulator(credits=10, job_duration=0.05, rate_limit=2)
    def test_out_of_credits(pdfco_emulator): ...

    @pytest.fixture
    def pdfco_emulator_options():
        return {"job_duration": 0.05}

Emulators are strict (undocumented parameter names get PDF.co's 454); ``strict=False`` in the marker or the
options, or ``pdfco_emulator_strict = false`` in the pytest ini options, makes them lenient.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._server import PdfcoEmulator

__all__ = ["pdfco_emulator", "pdfco_emulator_options", "pdfco_emulator_session", "pdfco_emulator_session_options"]

_STRICT_INI = "pdfco_emulator_strict"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Registers the ``pdfco_emulator_strict`` ini option."""
    parser.addini(
        _STRICT_INI,
        "strict (true, the default) or lenient (false) PDF.co emulators for the pdfco_emulator fixtures",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``pdfco_emulator`` marker."""
    config.addinivalue_line(
        "markers", "pdfco_emulator(**options): PdfcoEmulator constructor options for the pdfco_emulator fixture"
    )


def _options(config: pytest.Config, *layers: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    ini = str(config.getini(_STRICT_INI)).strip().lower()
    if ini:
        options["strict"] = ini in ("1", "true", "yes", "on")
    for layer in layers:
        options.update(layer)
    return options


def _running(options: dict[str, Any]) -> Iterator[PdfcoEmulator]:
    from ._server import PdfcoEmulator  # the emulator's dependencies load only when a fixture is used

    with PdfcoEmulator(**options) as emulator:
        yield emulator


@pytest.fixture
def pdfco_emulator_options() -> dict[str, Any]:
    """``PdfcoEmulator`` constructor options for ``pdfco_emulator``; override it to change the defaults."""
    return {}


@pytest.fixture
def pdfco_emulator(request: pytest.FixtureRequest, pdfco_emulator_options: dict[str, Any]) -> Iterator[PdfcoEmulator]:
    """A running PDF.co emulator for one test, stopped (and its files deleted) afterwards."""
    marker = request.node.get_closest_marker("pdfco_emulator")
    marked = dict(marker.kwargs) if marker is not None else {}
    yield from _running(_options(request.config, pdfco_emulator_options, marked))


@pytest.fixture(scope="session")
def pdfco_emulator_session_options() -> dict[str, Any]:
    """``PdfcoEmulator`` constructor options for ``pdfco_emulator_session``; override it in a conftest."""
    return {}


@pytest.fixture(scope="session")
def pdfco_emulator_session(
    request: pytest.FixtureRequest, pdfco_emulator_session_options: dict[str, Any]
) -> Iterator[PdfcoEmulator]:
    """One PDF.co emulator shared by the whole session: cheaper, but credits, jobs and faults carry over."""
    yield from _running(_options(request.config, pdfco_emulator_session_options))
