"""Memory of moving a large file through PDF.co's links: streamed (ours) against reading it whole (reference).

The emulator runs in a subprocess so that only this process's allocations are traced. A file of --megabytes
is uploaded with `upload_file`'s function (`upload_file.fn`: presigned PUT, streamed from disk), then downloaded
from its link with `download_result.fn` (streamed to a temporary file, renamed into place) and, as the reference,
with a plain `httpx.get(...).content` as the samples do. Peak traced memory is printed for each, beside the file size.

Run: python benchmarks/download_memory.py [--megabytes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from _standalone import standalone_emulator

from prefect_pdfco import PdfcoCredentials, download_result, upload_file


async def peak(label: str, action: Callable[[], Awaitable[Any]], size: int) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    await action()
    seconds = time.perf_counter() - started
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:>34} | {top / 1e6:9.2f} MB peak | {top / size:7.2%} of the file | {seconds:6.2f} s")


async def main(megabytes: int) -> None:
    key = "bench-key"
    with standalone_emulator(key) as base_url, tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "big.pdf")
        with source.open("wb") as handle:
            for _ in range(megabytes):
                handle.write(os.urandom(1024 * 1024))
        size = source.stat().st_size
        print(f"{megabytes} MB file; peaks traced by tracemalloc in this process (the emulator is separate)")
        credentials = PdfcoCredentials(api_key=key, base_url=base_url)
        link: list[str] = []

        async def upload() -> None:
            link.append(await upload_file.fn(credentials, source))

        await peak("upload_file (streamed PUT)", upload, size)
        await peak("download_result (streamed)", lambda: download_result.fn(link[0], Path(folder, "out")), size)

        async def whole() -> None:
            async with httpx.AsyncClient() as http:
                Path(folder, "whole.pdf").write_bytes((await http.get(link[0])).content)

        await peak("reference: httpx .content", whole, size)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    asyncio.run(main(parser.parse_args().megabytes))
