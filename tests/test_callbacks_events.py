"""``wait_for_end_event``: job end events from a real Prefect API wake the waits, through one shared subscription.

Every test runs on its own event loop, so it gets its own subscription. Events are emitted with ``emit_event``
(what the receiver and the waits do), or by a real ``CallbackReceiver`` called back by the emulator.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
from collections.abc import Iterator

import pytest
from prefect.events import emit_event
from prefect.settings import PREFECT_API_URL, temporary_settings

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.callbacks import CallbackReceiver
from prefect_pdfco.jobs import events as events_module
from prefect_pdfco.jobs.events import END_EVENTS, subscription, wait_for_end_event
from prefect_pdfco.jobs.submit import submit_and_record
from prefect_pdfco.testing import PdfcoEmulator
from tests._e2e_support import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")

CREDENTIALS = PdfcoCredentials(api_key="k", base_url="https://api.pdf.co")
#: Generous: events travel through a server on a busy 2-core machine. No test measures how long it took.
PATIENCE = 60.0


def _job() -> str:
    return f"{secrets.token_hex(6).upper()}--151-300"


def _emit(job_id: str, event: str = "pdfco.job.succeeded") -> None:
    emit_event(event, resource={"prefect.resource.id": f"pdfco.job.{job_id}"}, payload={"job_id": job_id})


async def _connected() -> None:
    """Until the running loop's subscription has its websocket open (the call that opens it: any wait)."""
    sub = await subscription()
    waiting = asyncio.ensure_future(sub.wait(_job(), PATIENCE))
    for _ in range(int(PATIENCE / 0.05)):
        if sub.subscriber is not None:
            break
        await asyncio.sleep(0.05)
    waiting.cancel()
    assert sub.subscriber is not None, "the subscription never connected"


async def test_an_end_event_emitted_before_the_call_is_seen() -> None:
    job_id = _job()
    _emit(job_id)
    assert await wait_for_end_event(CREDENTIALS, job_id, PATIENCE)


async def test_an_end_event_emitted_while_waiting_wakes_only_its_job() -> None:
    job_id, other = _job(), _job()
    waiting = asyncio.ensure_future(wait_for_end_event(CREDENTIALS, job_id, PATIENCE))
    bystander = asyncio.ensure_future(wait_for_end_event(CREDENTIALS, other, PATIENCE))
    await _connected()
    _emit(job_id, "pdfco.job.failed")
    assert await waiting
    assert not bystander.done()
    bystander.cancel()


async def test_events_that_are_not_ends_wake_nobody_and_the_wait_times_out() -> None:
    job_id = _job()
    await _connected()
    for name in ("pdfco.job.submitted", "pdfco.job.timed-out"):
        _emit(job_id, name)
    _emit(_job())  # another job's end
    assert not await wait_for_end_event(CREDENTIALS, job_id, 3.0)


async def test_every_end_event_counts() -> None:
    jobs = {name: _job() for name in END_EVENTS}
    for name, job_id in jobs.items():
        _emit(job_id, name)
    assert await asyncio.gather(*(wait_for_end_event(CREDENTIALS, job_id, PATIENCE) for job_id in jobs.values()))


async def test_a_thousand_waits_share_one_subscription(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real = events_module.get_events_subscriber

    def counting(**kwargs: object) -> object:
        opened.append(kwargs)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(events_module, "get_events_subscriber", counting)
    jobs = [_job() for _ in range(1000)]
    waits = [asyncio.ensure_future(wait_for_end_event(CREDENTIALS, job_id, PATIENCE)) for job_id in jobs]
    await _connected()
    for job_id in jobs:
        _emit(job_id)
    assert all(await asyncio.gather(*waits))
    assert len(opened) == 1 and (await subscription()).connections == 1


async def test_a_remembered_end_is_handed_out_once() -> None:
    # A wait whose check then finds the job still working (a forged event) must sleep on its next call, not spin.
    job_id = _job()
    _emit(job_id)
    assert await wait_for_end_event(CREDENTIALS, job_id, PATIENCE)
    assert not await wait_for_end_event(CREDENTIALS, job_id, 0)


async def test_a_dropped_websocket_is_reopened() -> None:
    await _connected()
    sub = await subscription()
    await sub.subscriber._websocket.close()  # what a load balancer's idle timeout does
    job_id = _job()
    waiting = asyncio.ensure_future(wait_for_end_event(CREDENTIALS, job_id, PATIENCE))
    _emit(job_id)
    assert await waiting


async def test_a_failing_subscription_times_out_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(events_module, "_warned", False)
    monkeypatch.setattr(events_module, "RETRY_DELAYS", (0.05,))
    caplog.set_level(logging.DEBUG, logger="prefect_pdfco.events")
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):  # nothing listens
        assert not await wait_for_end_event(CREDENTIALS, _job(), 1.0)
        assert not await wait_for_end_event(CREDENTIALS, _job(), 1.0)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "safety-net" in warnings[0].getMessage()
    assert any("failed again" in record.getMessage() for record in caplog.records)


async def test_with_websockets_blocked_the_rest_sweep_still_finds_the_end(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def blocked(**kwargs: object) -> object:
        raise OSError("websocket upgrade refused by a proxy")

    monkeypatch.setattr(events_module, "get_events_subscriber", blocked)
    monkeypatch.setattr(events_module, "SWEEP_SECONDS", 0.2)
    monkeypatch.setattr(events_module, "_warned", False)
    job_id = _job()
    waiting = asyncio.ensure_future(wait_for_end_event(CREDENTIALS, job_id, PATIENCE))
    _emit(job_id)
    assert await waiting
    sub = await subscription()
    assert sub.connections == 0 and sub.sweeps >= 1
    assert "safety-net" in caplog.text


async def test_a_job_that_ended_long_before_the_wait_is_found_by_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    # A job id kept from an earlier run: its end event is older than the minute the websocket replays.
    monkeypatch.setattr(events_module, "SWEEP_SECONDS", 0.2)
    job_id = _job()
    long_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)
    emit_event("pdfco.job.succeeded", resource={"prefect.resource.id": f"pdfco.job.{job_id}"}, occurred=long_ago)
    assert await wait_for_end_event(CREDENTIALS, job_id, PATIENCE)


async def test_an_idle_subscription_closes_and_the_next_wait_opens_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "LINGER_SECONDS", 0.1)
    await _connected()
    sub = await subscription()
    for _ in range(int(PATIENCE / 0.05)):
        if sub.subscriber is None:
            break
        await asyncio.sleep(0.05)
    assert sub.subscriber is None, "the idle subscription stayed open"
    job_id = _job()
    waiting = asyncio.ensure_future(wait_for_end_event(CREDENTIALS, job_id, PATIENCE))
    await _connected()
    _emit(job_id)
    assert await waiting and sub.connections == 2


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0])
async def test_the_timeout_must_be_finite_and_not_negative(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await wait_for_end_event(CREDENTIALS, _job(), timeout)


@pytest.fixture
def emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=30) as emu:
        yield emu


async def test_a_job_ending_on_the_emulator_wakes_the_wait_through_the_receiver(emulator: PdfcoEmulator) -> None:
    with CallbackReceiver(emulator.credentials()) as receiver:
        credentials = emulator.credentials().model_copy(update={"callback_url": receiver.url})
        job = await submit_and_record(credentials, "/v1/pdf/convert/from/html", {"html": "<p>hi</p>"})
        waiting = asyncio.ensure_future(wait_for_end_event(credentials, job.job_id, PATIENCE))
        await _connected()
        assert not waiting.done()
        emulator.advance_clock(31)
        assert await waiting
    assert receiver.events == 1 and emulator.stats()["job_checks"] == 0  # the wait's check comes after this
