"""One keyless client for file hosts per process, link policy and event loop: reused, and closed with its loop.

Every test counts connections to its own emulator's port, so the connections of other tests (and of Prefect's
own API client) do not count.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from prefect import flow

from prefect_pdfco import download_result
from prefect_pdfco._netguard import LinkPolicy
from prefect_pdfco.files import adownload_result, afetch_result_text, aupload_file
from prefect_pdfco.files import linkclient as _linkclient
from prefect_pdfco.files.linkclient import link_client, open_link_clients
from prefect_pdfco.testing import PdfcoEmulator

from .test_files import FAST


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def link(emu: PdfcoEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    source = tmp_path_factory.mktemp("source") / "small.pdf"
    source.write_bytes(b"%PDF-1.4 small result")

    async def upload() -> str:
        async with emu.credentials().get_client() as client:
            return await aupload_file(client, source)

    return asyncio.run(upload())


class Connections:
    """New TCP connections to one port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.count = 0


@pytest.fixture
def connections(emu: PdfcoEmulator, monkeypatch: pytest.MonkeyPatch) -> Connections:
    seen = Connections(httpx.URL(emu.base_url).port or 0)
    real = httpcore.AnyIOBackend.connect_tcp

    async def counting(self: httpcore.AnyIOBackend, host: str, port: int, **kwargs: Any) -> Any:
        seen.count += port == seen.port
        return await real(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", counting)
    return seen


def test_downloads_on_one_loop_share_one_client_and_connection(
    link: str, connections: Connections, tmp_path: Path
) -> None:
    async def many() -> set[int]:
        clients = {id(await link_client()) for _ in range(3)}
        for index in range(20):
            await adownload_result(link, tmp_path, filename=f"{index}.pdf", retry_policy=FAST)
        assert await afetch_result_text(link, retry_policy=FAST) == "%PDF-1.4 small result"
        return clients

    before = open_link_clients()
    assert len(asyncio.run(many())) == 1
    assert connections.count == 1 and len(list(tmp_path.iterdir())) == 20
    assert open_link_clients() == before  # closed with its loop


def test_each_policy_and_proxy_setting_has_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    async def clients() -> list[httpx.AsyncClient]:
        plain = await link_client()
        narrow = await link_client(policy=LinkPolicy.from_entries(["localhost"]))
        same_narrow = await link_client(policy=LinkPolicy.from_entries(["LOCALHOST."]))
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        proxied = await link_client()
        monkeypatch.delenv("HTTPS_PROXY")
        return [plain, narrow, same_narrow, proxied, await link_client()]

    plain, narrow, same_narrow, proxied, plain_again = asyncio.run(clients())
    assert narrow is same_narrow and plain is plain_again
    assert len({id(plain), id(narrow), id(proxied)}) == 3
    assert all(client.is_closed for client in (plain, narrow, proxied))


def test_each_event_loop_and_thread_gets_its_own_client(link: str, connections: Connections, tmp_path: Path) -> None:
    got: dict[str, httpx.AsyncClient] = {}

    def in_a_thread(name: str) -> None:
        async def download() -> None:
            got[name] = await link_client()
            await adownload_result(link, tmp_path / name, retry_policy=FAST)

        asyncio.run(download())

    threads = [threading.Thread(target=in_a_thread, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got["a"] is not got["b"] and got["a"].is_closed and got["b"].is_closed
    assert connections.count == 2
    assert (tmp_path / "a" / "small.pdf").exists() and (tmp_path / "b" / "small.pdf").exists()


def test_a_loop_closed_without_its_shutdown_steps_is_forgotten_quietly() -> None:
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(link_client())
    loop.close()  # no shutdown_asyncgens(): the closer never ran
    before = open_link_clients()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(link_client())  # a new loop drops the closed one's clients
        gc.collect()
    assert open_link_clients() == before - 1 and not _linkclient._clients.has_loop(loop)
    assert not client.is_closed  # dropped, not closed: its loop cannot run the closing any more
    assert not [warning for warning in caught if "coroutine" in str(warning.message)]


def test_the_exit_hook_closes_the_clients_of_loops_still_running() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        client = asyncio.run_coroutine_threadsafe(link_client(), loop).result(timeout=30)
        _linkclient._clients.close_at_exit()
        assert client.is_closed and not _linkclient._clients.has_loop(loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.mark.usefixtures("prefect_harness")
def test_download_tasks_of_a_sync_flow_share_one_connection(
    link: str, connections: Connections, tmp_path: Path
) -> None:
    @flow
    def three_downloads() -> list[str]:
        return [download_result(link, tmp_path, filename=f"{index}.pdf").path for index in range(3)]

    assert len(three_downloads()) == 3
    assert connections.count == 1
