"""Throughput of moving a large file: ``download_result`` and ``upload_file`` against raw httpx, same run.

Download: a loopback server in a subprocess (127.0.0.1 only, ``os.sendfile``, keep-alive, an S3-style MD5
ETag) serves a file of --megabytes (random bytes, written to /tmp and deleted at the end). Each round runs,
interleaved: a raw ``httpx.stream`` copy to disk (``iter_raw`` + ``file.write``), ``download_result(url,
directory)`` as a user calls it (the task's function, ``download_result.fn``: no task run; the default, no
digest), with ``fingerprint=True`` (SHA-256), with ``verify_etag=True`` (MD5 against the ETag) and with
``durable=True`` (an fsync before the rename into place, so that a crash of the machine cannot leave a named,
partial file; the default and the raw copy leave the file in the page cache). A raw copy that also fsyncs is
printed beside it for reference. Upload: the emulator (a subprocess) takes the same file through its presigned PUT:
a raw ``httpx.put`` of the open file against ``upload_file.fn`` (default and ``verify_etag=True``). Every landed
file is deleted before the next run.

Printed per way: the best of --rounds in MiB/s, its ratio to the raw way, the RSS growth of this process
(sampled every 5 ms: peak minus the level before the run) and PASS/MISS against 0.8x and 64 MiB, beside the
machine's load average (others may be running benchmarks on the same 2 cores).

Run: python benchmarks/download_throughput.py [--megabytes 1024] [--rounds 3] [--no-upload]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _standalone import free_port, standalone_emulator

from prefect_pdfco import PdfcoClient, PdfcoCredentials, download_result, upload_file

adownload_result = download_result.fn  # the task's own coroutine: what a flow's task run awaits, without the run

MIB = 1024 * 1024
RATIO_GOAL, RSS_GOAL = 0.8, 64 * MIB

# The file server: one thread per connection, keep-alive, GET by sendfile (headers like S3's), PUT discarded.
SERVER = textwrap.dedent(
    """
    import hashlib, os, socket, sys, threading
    path, port = sys.argv[1], int(sys.argv[2])
    size = os.path.getsize(path)
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
    etag = md5.hexdigest()

    def serve(conn):
        with conn, open(path, "rb") as f:
            buffer = b""
            while True:
                while b"\\r\\n\\r\\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\\r\\n\\r\\n", 1)
                method = head.split(b" ", 1)[0]
                head = (
                    "HTTP/1.1 200 OK\\r\\nContent-Type: application/pdf\\r\\nAccept-Ranges: bytes\\r\\n"
                    f'ETag: "{etag}"\\r\\nContent-Length: {size if method == b"GET" else 0}\\r\\n\\r\\n'
                )
                conn.sendall(head.encode())
                if method == b"GET":
                    sent = 0
                    while sent < size:
                        sent += os.sendfile(conn.fileno(), f.fileno(), sent, size - sent)

    listener = socket.create_server(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    """
)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


async def measure(action: Callable[[], Awaitable[object]]) -> tuple[float, int]:
    """Seconds the action took and this process's RSS growth meanwhile (peak minus before)."""
    before, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        await action()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return seconds, max(peak[0], rss()) - before


def table(title: str, size: int, results: dict[str, list[tuple[float, int]]], raw: str) -> None:
    best_raw = min(seconds for seconds, _ in results[raw])
    print(f"\n{title} ({size / MIB:.0f} MiB, best of {len(results[raw])}; load average now {load()})")
    print(f"{'way':>44} | {'MiB/s':>7} | {'ratio':>5} | {'RSS growth':>10} | goal (>= {RATIO_GOAL}x, <= 64 MiB)")
    for way, runs in results.items():
        seconds = min(seconds for seconds, _ in runs)
        growth = max(grown for _, grown in runs)
        ratio = best_raw / seconds
        verdict = "" if way == raw or way.startswith("(") else "MISS"
        if verdict and ratio >= RATIO_GOAL and growth <= RSS_GOAL:
            verdict = "PASS"
        print(f"{way:>44} | {size / MIB / seconds:7.0f} | {ratio:5.2f} | {growth / MIB:6.1f} MiB | {verdict}")


async def downloads(source: Path, folder: Path, rounds: int) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(source), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/pdf-temp-files/abc/big.pdf?X-Amz-Signature=x"
        out = folder / "out"
        out.mkdir()

        async def raw() -> None:
            with httpx.stream("GET", url) as response, open(out / "raw.pdf", "wb") as handle:
                for chunk in response.iter_raw():
                    handle.write(chunk)

        async def raw_fsync() -> None:
            with httpx.stream("GET", url) as response, open(out / "raw.pdf", "wb") as handle:
                for chunk in response.iter_raw():
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())

        ways: dict[str, Callable[[], Awaitable[object]]] = {
            "raw httpx.stream copy": raw,
            "(reference) raw copy + fsync": raw_fsync,
            "download_result(url, directory)": lambda: adownload_result(url, out),
            "download_result(..., fingerprint=True)": lambda: adownload_result(url, out, fingerprint=True),
            "download_result(..., verify_etag=True)": lambda: adownload_result(url, out, verify_etag=True),
            "download_result(..., durable=True)": lambda: adownload_result(url, out, durable=True),
        }
        results: dict[str, list[tuple[float, int]]] = {way: [] for way in ways}
        await adownload_result(url, out)  # warm-up: the shared link client, the page cache of the source
        for round_ in range(rounds):
            for way, action in ways.items():
                results[way].append(await measure(action))
                for landed in out.iterdir():
                    landed.unlink()
            print(f"download round {round_ + 1} done (load {load()})", flush=True)
        table("Downloads from a loopback sendfile server", source.stat().st_size, results, "raw httpx.stream copy")
    finally:
        server.terminate()
        server.wait(timeout=10)


async def uploads(source: Path, rounds: int) -> None:
    key = "bench-key"
    with standalone_emulator(key) as base_url:
        credentials = PdfcoCredentials(api_key=key, base_url=base_url)
        async with PdfcoClient(key, base_url=base_url) as client:
            stored: list[str] = []

            async def raw() -> None:
                query = {"name": source.name, "contenttype": "application/pdf"}
                body = await client.request("GET", "/v1/file/upload/get-presigned-url", params=query)
                with open(source, "rb") as handle:
                    response = httpx.put(
                        body["presignedUrl"], content=handle, headers={"Content-Type": "application/pdf"}, timeout=120
                    )
                response.raise_for_status()
                stored.append(body["url"])

            async def ours(**options: bool) -> None:
                stored.append(await upload_file.fn(credentials, source, **options))

            ways: dict[str, Callable[[], Awaitable[object]]] = {
                "raw httpx.put of the open file": raw,
                "upload_file(credentials, path)": ours,
                "upload_file(..., verify_etag=True)": lambda: ours(verify_etag=True),
            }
            results: dict[str, list[tuple[float, int]]] = {way: [] for way in ways}
            for round_ in range(rounds):
                for way, action in ways.items():
                    results[way].append(await measure(action))
                    for url in stored:  # the emulator keeps every upload on disk: free it
                        await client.request("POST", "/v1/file/delete", json={"url": url})
                    stored.clear()
                print(f"upload round {round_ + 1} done (load {load()})", flush=True)
        table(
            "Uploads to the emulator's presigned PUT", source.stat().st_size, results, "raw httpx.put of the open file"
        )


async def main(megabytes: int, rounds: int, upload_too: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pdfco-throughput-", dir="/tmp"))
    try:
        source = folder / "big.pdf"
        with source.open("wb") as handle:
            seed = hashlib.sha256(b"seed").digest()
            block = b"".join(hashlib.sha256(seed + bytes([i, j])).digest() for i in range(256) for j in range(128))
            for index in range(megabytes):  # 1 MiB blocks, each different: nothing compresses or dedupes
                handle.write(hashlib.sha256(index.to_bytes(4, "big")).digest() + block[32:])
        print(f"{megabytes} MiB file in {folder}; {os.cpu_count()} CPUs; load average {load()}")
        await downloads(source, folder, rounds)
        if upload_too:
            await uploads(source, rounds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1024, help="file size in MiB (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each way; the best counts")
    parser.add_argument("--no-upload", action="store_true", help="downloads only")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.megabytes, arguments.rounds, not arguments.no_upload))
