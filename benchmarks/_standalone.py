"""A PDF.co emulator in a process of its own, for benchmarks that must not count its CPU as the client's."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

__all__ = ["free_port", "standalone_emulator"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def standalone_emulator(api_key: str) -> Iterator[str]:
    """Runs ``python -m prefect_pdfco.testing`` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect_pdfco.testing", "--port", str(port), "--api-key", api_key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/v1/account/credit/balance", headers={"x-api-key": api_key})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)
