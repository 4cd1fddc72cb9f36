"""A slot of the block's global rate limit: denied slots are asked again soon, one asker per event loop."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from prefect_pdfco import _globalrate
from prefect_pdfco._compat import ConcurrencySlotAcquisitionError

_real_sleep = asyncio.sleep  # the fixture below replaces asyncio.sleep for the code under test


def _denied(status: int, retry_after: str = "30") -> ConcurrencySlotAcquisitionError:
    request = httpx.Request("POST", "http://127.0.0.1/api/v2/concurrency_limits/increment")
    response = httpx.Response(status, headers={"Retry-After": retry_after}, request=request)
    error = ConcurrencySlotAcquisitionError("Unable to acquire concurrency slots")
    error.__cause__ = httpx.HTTPStatusError("denied", request=request, response=response)
    return error


class FakeServer:
    """Denies the first ``denials`` asks with the server's growing Retry-After; counts asks in flight."""

    def __init__(self, denials: int, status: int = 423) -> None:
        self.denials, self.status = denials, status
        self.asks = self.in_flight = self.most_in_flight = 0

    async def acquire(self, names: list[str], **options: object) -> list[object]:
        assert names == ["pdfco"] and options["mode"] == "rate_limit" and options["max_retries"] == 0
        self.asks += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await _real_sleep(0)
            if self.asks <= self.denials:
                raise _denied(self.status, retry_after=str(10.0 * self.asks))
            return []
        finally:
            self.in_flight -= 1


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await _real_sleep(0)

    monkeypatch.setattr(_globalrate.asyncio, "sleep", fake_sleep)
    return slept


async def test_a_denied_slot_is_asked_again_within_the_cap_not_after_the_servers_growing_retry_after(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    server = FakeServer(denials=3)
    monkeypatch.setattr(_globalrate, "acquire_concurrency_slots", server.acquire)
    await _globalrate.take_rate_slot("pdfco")
    assert server.asks == 4
    assert len(sleeps) == 3 and all(0 < slept <= _globalrate.MAX_RETRY_SECONDS for slept in sleeps)


async def test_one_asker_per_event_loop_however_many_requests_wait(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    server = FakeServer(denials=5)
    monkeypatch.setattr(_globalrate, "acquire_concurrency_slots", server.acquire)
    await asyncio.gather(*(_globalrate.take_rate_slot("pdfco") for _ in range(8)))
    assert server.most_in_flight == 1
    assert server.asks == 5 + 8  # every request got its own slot; the denials were asked again one at a time


async def test_other_failures_of_the_prefect_api_are_raised(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    server = FakeServer(denials=1, status=500)
    monkeypatch.setattr(_globalrate, "acquire_concurrency_slots", server.acquire)
    with pytest.raises(ConcurrencySlotAcquisitionError):
        await _globalrate.take_rate_slot("pdfco")
    assert sleeps == []
