"""The API client our tasks share: one per process, credentials settings and event loop, closed with its loop."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from typing import Any

import httpx._transports.default as httpx_transports
import pytest
from prefect import flow

from prefect_pdfco import PdfcoClient, PdfcoCredentials, check_job, submit_job, wait_for_job
from prefect_pdfco._apipool import open_api_clients, settings_fingerprint, shared_client
from prefect_pdfco.testing import PdfcoEmulator

HTML = {"html": "<p>pool</p>"}


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.0) as emulator:
        yield emulator


class Made:
    """PdfcoClients built and SSL contexts created (one per httpx client) while the fixture is active."""

    def __init__(self) -> None:
        self.clients: list[PdfcoClient] = []
        self.ssl_contexts = 0


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Made:
    seen = Made()
    real_init = PdfcoClient.__init__
    real_ssl = httpx_transports.create_ssl_context  # type: ignore[attr-defined]

    def counting_init(self: PdfcoClient, *args: Any, **kwargs: Any) -> None:
        seen.clients.append(self)
        real_init(self, *args, **kwargs)

    def counting_ssl(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        seen.ssl_contexts += 1
        return real_ssl(*args, **kwargs)

    monkeypatch.setattr(PdfcoClient, "__init__", counting_init)
    monkeypatch.setattr(httpx_transports, "create_ssl_context", counting_ssl)
    return seen


def test_task_calls_on_one_loop_share_one_client_closed_with_the_loop(emu: PdfcoEmulator, made: Made) -> None:
    credentials = emu.credentials()

    async def calls() -> None:
        for _ in range(3):
            job = await submit_job.fn(credentials, "/v1/pdf/convert/from/html", HTML)
            await wait_for_job.fn(credentials, job.job_id, initial_poll_seconds=0.01)
            await check_job.fn(credentials, job.job_id)

    before = open_api_clients()
    asyncio.run(calls())
    assert len(made.clients) == 1 and made.ssl_contexts == 1
    assert made.clients[0].is_closed and open_api_clients() == before


def test_each_loop_and_each_setting_gets_its_own_client(emu: PdfcoEmulator, made: Made) -> None:
    credentials = emu.credentials()
    slower = PdfcoCredentials(api_key=emu.api_key, base_url=emu.base_url, timeout_seconds=99.0)
    other_key = PdfcoCredentials(api_key="another-key", base_url=emu.base_url)

    async def borrow() -> list[PdfcoClient]:
        got = []
        for block in (credentials, emu.credentials(), slower, other_key):
            async with shared_client(block) as client:
                got.append(client)
        return got

    first, second = asyncio.run(borrow()), asyncio.run(borrow())
    assert first[0] is first[1]  # equal blocks, one client
    assert len({id(first[0]), id(first[2]), id(first[3])}) == 3
    assert not {id(client) for client in first} & {id(client) for client in second}  # a new loop, new clients
    assert all(client.is_closed for client in first + second)
    assert settings_fingerprint(credentials) != settings_fingerprint(other_key)
    assert "another-key" not in settings_fingerprint(other_key)


def test_leaving_the_block_keeps_the_client_open_and_get_client_stays_fresh(emu: PdfcoEmulator) -> None:
    credentials = emu.credentials()

    async def use() -> tuple[bool, bool, bool]:
        async with shared_client(credentials) as client:
            await client.credit_balance()
        async with shared_client(credentials) as again:
            await again.credit_balance()
        async with credentials.get_client() as own:
            pass
        return client is again, client.is_closed, own.is_closed and own is not client

    assert asyncio.run(use()) == (True, False, True)


def test_a_client_closed_by_someone_is_replaced(emu: PdfcoEmulator) -> None:
    async def use() -> int:
        async with shared_client(emu.credentials()) as client:
            await client.aclose()
        async with shared_client(emu.credentials()) as fresh:
            assert fresh is not client
            return await fresh.credit_balance()

    assert asyncio.run(use()) > 0


@pytest.mark.usefixtures("prefect_harness")
def test_tasks_of_a_sync_flow_share_one_client(emu: PdfcoEmulator, made: Made) -> None:
    credentials = emu.credentials()

    @flow
    def two_documents() -> list[str | None]:
        jobs = [submit_job(credentials, "/v1/pdf/convert/from/html", HTML, submit_key=f"doc-{n}") for n in range(2)]
        return [wait_for_job(credentials, job.job_id, initial_poll_seconds=0.01).url for job in jobs]

    assert all(two_documents())
    assert len(made.clients) == 1  # (Prefect's own API clients make SSL contexts of their own: not counted)


@pytest.mark.usefixtures("prefect_harness")
def test_tasks_of_an_async_flow_share_one_client_closed_with_its_loop(emu: PdfcoEmulator, made: Made) -> None:
    credentials = emu.credentials()

    @flow
    async def two_documents() -> list[str | None]:
        jobs = [
            await submit_job.aio(credentials, "/v1/pdf/convert/from/html", HTML, submit_key=f"doc-{n}")
            for n in range(2)
        ]
        return [(await check_job.aio(credentials, job.job_id)).url for job in jobs]

    assert all(asyncio.run(two_documents()))
    assert len(made.clients) == 1 and made.clients[0].is_closed
