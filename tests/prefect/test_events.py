"""Job end events from a real Prefect API (the session's harness) wake the waits, one subscription per event loop.

Every test runs on its own event loop, so ``wait_for_end`` gets a fresh subscription; tests that tune the intervals
or break the websocket build their own ``EndEvents``. Events are emitted with ``emit_event``, as the receiver does,
or by a real ``CallbackReceiver`` called back by the emulator.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
import socket
from typing import Any

import pytest
from prefect.events import emit_event
from prefect.events.clients import PrefectEventSubscriber, get_events_subscriber
from prefect.events.filters import EventFilter
from prefect.settings import PREFECT_API_URL, temporary_settings

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import _ui
from prefect_pdfco._events import END_EVENTS, EndEvents, once, subscription, wait_for_end
from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco.callbacks import EVENT_BY_STATUS, CallbackReceiver
from prefect_pdfco.credentials import with_callback
from tests.prefect._support_callbacks import PATIENCE, emulator_credentials, end_events


def _job() -> str:
    return f"{secrets.token_hex(6).upper()}--151-300"


def _emit(job_id: str, event: str = "pdfco.job.succeeded", **extra: Any) -> None:
    emit_event(event, resource={"prefect.resource.id": f"pdfco.job.{job_id}"}, payload={"job_id": job_id}, **extra)


async def _connected(events: EndEvents) -> None:
    """Until ``events`` has its websocket open (a wait opens it)."""
    waiting = asyncio.ensure_future(events.wait(_job(), PATIENCE))
    try:
        await asyncio.wait_for(events.connected.wait(), PATIENCE)
    finally:
        waiting.cancel()


def _real(spec: EventFilter) -> PrefectEventSubscriber:
    return get_events_subscriber(filter=spec, reconnect_on_clean_close=True)


def test_the_end_events_are_the_ones_the_library_emits() -> None:
    assert set(END_EVENTS) == set(EVENT_BY_STATUS.values())
    assert set(END_EVENTS) - {"pdfco.job.succeeded"} == {name for _, name in _ui.EVENT_BY_ERROR} - {
        "pdfco.job.timed-out"
    }


async def test_an_end_event_emitted_before_the_call_is_seen() -> None:
    job_id = _job()
    _emit(job_id)
    assert await wait_for_end(job_id, PATIENCE)


async def test_an_end_event_emitted_while_waiting_wakes_only_its_job() -> None:
    job_id, other = _job(), _job()
    waiting = asyncio.ensure_future(wait_for_end(job_id, PATIENCE))
    bystander = asyncio.ensure_future(wait_for_end(other, PATIENCE))
    await _connected(await subscription())
    _emit(job_id, "pdfco.job.failed")
    assert await waiting
    assert not bystander.done()
    bystander.cancel()


async def test_events_that_are_not_ends_wake_nobody() -> None:
    job_id = _job()
    async with end_events(sweep_seconds=0.2) as events:
        await _connected(events)
        for name in ("pdfco.job.submitted", "pdfco.job.timed-out"):
            _emit(job_id, name)
        _emit(_job())  # another job's end
        assert not await events.wait(job_id, 2.0)
        assert events.sweeps >= 1  # the sweep looked for it too


async def test_every_end_event_counts_and_a_remembered_end_is_handed_out_once() -> None:
    jobs = {name: _job() for name in END_EVENTS}
    for name, job_id in jobs.items():
        _emit(job_id, name)
    async with end_events(sweep_seconds=0.5) as events:  # ends the websocket's replay missed: the sweep finds them
        assert all(await asyncio.gather(*(events.wait(job_id, PATIENCE) for job_id in jobs.values())))
        # A wait whose check then finds the job still working (a forged event) must sleep on its next call.
        assert not await events.wait(jobs["pdfco.job.succeeded"], 0)


async def test_hundreds_of_waits_share_one_subscription() -> None:
    opened: list[EventFilter] = []

    def counting(spec: EventFilter) -> PrefectEventSubscriber:
        opened.append(spec)
        return _real(spec)

    jobs = [_job() for _ in range(300)]
    # Prefect's server drops events for a subscriber with 256 unsent: the sweep finds those.
    async with end_events(subscribe=counting, sweep_seconds=0.5) as events:
        waits = [asyncio.ensure_future(events.wait(job_id, PATIENCE)) for job_id in jobs]
        await asyncio.wait_for(events.connected.wait(), PATIENCE)
        for job_id in jobs:
            _emit(job_id)
        assert all(await asyncio.gather(*waits))
        assert len(opened) == 1 and events.connections == 1


async def test_a_stream_that_ends_is_opened_again() -> None:
    class Ends:
        """A subscriber whose stream ends at once: what a dropped websocket looks like after Prefect's retries."""

        async def __aenter__(self) -> Ends:
            return self

        async def __aexit__(self, *exc_info: object) -> None:
            return None

        def __aiter__(self) -> Ends:
            return self

        async def __anext__(self) -> Any:
            raise ConnectionError("dropped by a load balancer")

    subscribers: list[Any] = [Ends()]
    job_id = _job()
    async with end_events(subscribe=lambda spec: subscribers.pop() if subscribers else _real(spec),
                          retry_delays=(0.05,), first_failure=once()) as events:  # fmt: skip
        waiting = asyncio.ensure_future(events.wait(job_id, PATIENCE))
        for _ in range(2):  # the dropped stream's connection, then the real one's
            await asyncio.wait_for(events.connected.wait(), PATIENCE)
            if events.connections < 2:
                while events.connected.is_set():
                    await asyncio.sleep(0.01)
        _emit(job_id)
        assert await waiting and events.connections == 2


async def test_with_no_api_listening_waits_time_out_and_it_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="prefect_pdfco.events")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):  # nothing listens
        async with end_events(retry_delays=(0.05,), first_failure=once()) as events:
            assert not await events.wait(_job(), 1.0)
            assert not await events.wait(_job(), 0.5)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "safety-net checks" in warnings[0]
    assert any("failed again" in record.getMessage() for record in caplog.records)


async def test_with_websockets_blocked_the_rest_sweep_still_finds_the_end(caplog: pytest.LogCaptureFixture) -> None:
    def blocked(spec: EventFilter) -> PrefectEventSubscriber:
        raise OSError("websocket upgrade refused by a proxy")

    job_id = _job()
    async with end_events(subscribe=blocked, sweep_seconds=0.2, first_failure=once()) as events:
        waiting = asyncio.ensure_future(events.wait(job_id, PATIENCE))
        _emit(job_id)
        assert await waiting
        assert events.connections == 0 and events.sweeps >= 1
    assert "safety-net checks" in caplog.text


async def test_a_job_that_ended_long_before_the_wait_is_found_by_the_sweep() -> None:
    # A job id kept from an earlier run: its end event is older than the minute the websocket replays.
    job_id = _job()
    _emit(job_id, occurred=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3))
    async with end_events(sweep_seconds=0.2) as events:
        assert await events.wait(job_id, PATIENCE)


async def test_an_idle_subscription_closes_and_the_next_wait_opens_it_again() -> None:
    async with end_events(linger_seconds=0.1) as events:
        await _connected(events)
        while events.connected.is_set():  # closed 0.1 s after the last wait
            await asyncio.sleep(0.02)
        job_id = _job()
        waiting = asyncio.ensure_future(events.wait(job_id, PATIENCE))
        await asyncio.wait_for(events.connected.wait(), PATIENCE)
        _emit(job_id)
        assert await waiting and events.connections == 2


async def test_a_closed_subscription_sleeps_the_timeout_out() -> None:
    # Never a quick False: the wait would check the job at once, again and again (2 credits each).
    events = EndEvents()
    await events.aclose()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(events.wait(_job(), 30), 0.3)
    assert events.connections == 0


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0, 1e9, "5"])
async def test_the_timeout_must_be_a_number_of_seconds(timeout: Any) -> None:
    with pytest.raises(InvalidParametersError, match="timeout"):
        await wait_for_end(_job(), timeout)


async def test_a_job_ending_on_the_emulator_wakes_its_wait_for_one_check() -> None:
    # The whole chain: the emulator calls the receiver back, the receiver emits, the wait wakes and checks once.
    with PdfcoEmulator(job_duration=30) as emulator:
        credentials = emulator_credentials(emulator)
        with CallbackReceiver(credentials) as receiver:
            credentials = credentials.model_copy(update={"callback_url": receiver.url})
            async with credentials.get_client() as client:
                job = await client.submit("/v1/pdf/convert/from/html", with_callback(credentials, {"html": "<p>x</p>"}))
                waiting = asyncio.ensure_future(client.wait(job.job_id, max_wait_seconds=600, end_signal=wait_for_end))
                await asyncio.wait_for((await subscription()).connected.wait(), PATIENCE)
                assert not waiting.done()
                emulator.advance_clock(31)
                result = await waiting
        assert result.status.value == "success" and receiver.stats["events"] == 1
        assert emulator.stats()["job_checks"] == 1
