"""``python -m prefect_pdfco.testing``: run the PDF.co emulator standalone until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from prefect_pdfco.testing._server import PdfcoEmulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m prefect_pdfco.testing",
        description="Run a local PDF.co emulator (faults and stats under /__emulator__/).",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--api-key", default="demo", help="the API key clients must send")
    parser.add_argument("--credits", type=int, default=100_000, help="starting credit balance")
    parser.add_argument("--job-duration", type=float, default=0.5, help="seconds an async job stays working")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second per key")
    parser.add_argument("--link-ttl", type=float, default=3600, help="lifetime of file links in seconds")
    parser.add_argument("--retry-after", type=float, default=None, help="send Retry-After on 429 answers")
    parser.add_argument("--link-host", default="localhost", help="host name used in file links")
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="refuse parameter names PDF.co does not document for the endpoint (454); "
        "without it, the PDFCO_EMULATOR_STRICT environment variable decides",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Starts the emulator, prints where it is, and serves until Ctrl-C or SIGTERM."""
    args = _parser().parse_args(argv)
    emulator = PdfcoEmulator(
        api_key=args.api_key,
        credits=args.credits,
        job_duration=args.job_duration,
        rate_limit=args.rate_limit,
        link_ttl=args.link_ttl,
        retry_after=args.retry_after,
        port=args.port,
        link_host=args.link_host,
        strict=args.strict,
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    with emulator:
        print(f"PDF.co emulator at {emulator.base_url}", flush=True)
        print(f"API key: {emulator.api_key}", flush=True)
        print(f"Control API: {emulator.base_url}/__emulator__/stats and /__emulator__/faults", flush=True)
        if emulator.strict:
            print("Strict mode: parameter names PDF.co does not document get its 454.", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("PDF.co emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
