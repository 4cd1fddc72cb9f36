"""Core tests: no Prefect, no network; PDF.co faked with httpx.MockTransport, time with a virtual clock."""

from __future__ import annotations

import pytest

from tests.core._clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()
