"""The cost of many small downloads: 200 ``download_result`` calls of one small file, one after the other.

What a batch pays per download besides the bytes: building an HTTP client (and its connection pool), looking
the link's host up, opening a connection. The emulator runs in this process (its own thread); a file of a few
KB is uploaded once, then downloaded N times, first with the task's function (``download_result.fn``, no task
run), then with the task (``download_result``) from a sync flow. Printed: wall and CPU time per call, TCP
connections opened, httpx clients built and SSL contexts created.

Run: python benchmarks/download_calls.py [--calls 200] [--no-flow]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpcore
import httpx

from pdfco_emulator import PdfcoEmulator
from prefect_pdfco import download_result, upload_file
from prefect_pdfco.testing import credentials_for


class Counts:
    """Connections, clients and SSL contexts created while counting."""

    def __init__(self) -> None:
        self.connections = 0
        self.clients = 0
        self.ssl_contexts = 0


@contextmanager
def counting() -> Iterator[Counts]:
    counts = Counts()
    connect, client_init = httpcore.AnyIOBackend.connect_tcp, httpx.AsyncClient.__init__
    context_new = ssl.SSLContext.__new__

    async def counted_connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts.connections += 1
        return await connect(self, *args, **kwargs)

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        counts.clients += 1
        client_init(self, *args, **kwargs)

    def counted_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        counts.ssl_contexts += 1
        return context_new(cls, *args, **kwargs)

    httpcore.AnyIOBackend.connect_tcp = counted_connect  # type: ignore[method-assign]
    httpx.AsyncClient.__init__ = counted_init  # type: ignore[method-assign]
    ssl.SSLContext.__new__ = counted_new  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        httpcore.AnyIOBackend.connect_tcp = connect  # type: ignore[method-assign]
        httpx.AsyncClient.__init__ = client_init  # type: ignore[method-assign]
        ssl.SSLContext.__new__ = context_new  # type: ignore[method-assign]


def report(label: str, calls: int, run: Callable[[], None]) -> None:
    with counting() as counts:
        started, cpu = time.perf_counter(), time.process_time()
        run()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{label:>28} | {wall:6.2f} s | {wall / calls * 1000:6.2f} ms/call | CPU {cpu / calls * 1000:6.2f} ms/call"
        f" | {counts.connections:4d} connections | {counts.clients:4d} clients | {counts.ssl_contexts:4d} SSL contexts"
    )


def main(calls: int, flow_too: bool) -> None:
    with PdfcoEmulator(job_duration=0.05) as emu, tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "small.pdf")
        source.write_bytes(b"%PDF-1.4 " + os.urandom(8 * 1024))
        out = Path(folder, "out")

        link = asyncio.run(upload_file.fn(credentials_for(emu), source))

        async def coroutines() -> None:
            for index in range(calls):
                await download_result.fn(link, out, filename=f"{index}.pdf")

        report("download_result.fn (coroutine)", calls, lambda: asyncio.run(coroutines()))
        if flow_too:
            from prefect import flow

            @flow
            def many_downloads() -> None:
                for index in range(calls):
                    download_result(link, out, filename=f"t{index}.pdf")

            many_downloads()  # the first flow run starts Prefect's ephemeral server: not counted
            report("download_result (task)", calls, many_downloads)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--no-flow", action="store_true", help="skip the task runs (they need Prefect's server)")
    arguments = parser.parse_args()
    main(arguments.calls, not arguments.no_flow)
