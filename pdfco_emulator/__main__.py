"""``python -m pdfco_emulator`` (and the ``pdfco-emulator`` command): run the PDF.co emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._server import PdfcoEmulator

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    """The command line: where to listen, the account, and how the fake PDF.co behaves."""
    parser = argparse.ArgumentParser(
        prog="pdfco-emulator",
        description="Run a local PDF.co emulator: point any PDF.co client at the printed URL with the API key "
        "(faults, stats and the clock under /__emulator__/).",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (127.0.0.1 or ::1)")
    parser.add_argument("--api-key", default="demo", help="the API key clients must send")
    parser.add_argument("--credits", type=int, default=100_000, help="starting credit balance")
    parser.add_argument("--job-duration", type=float, default=0.5, help="seconds an async job stays working")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second per key")
    parser.add_argument("--link-ttl", type=float, default=3600, help="lifetime of file links in seconds")
    parser.add_argument("--retry-after", type=float, default=None, help="send Retry-After on 429 answers")
    parser.add_argument("--link-host", default=None, help="host name used in file links (default: localhost)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--strict",
        dest="strict",
        action="store_true",
        default=None,
        help="refuse parameter names PDF.co does not document for the endpoint with its 454 (the default)",
    )
    mode.add_argument(
        "--lenient", dest="strict", action="store_false", help="ignore parameter names PDF.co does not document"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Starts the emulator, prints where it is, and serves until Ctrl-C or SIGTERM.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit status: 0 after a clean stop, 2 for bad arguments.
    """
    args = parser().parse_args(argv)
    try:
        emulator = PdfcoEmulator(
            api_key=args.api_key,
            credits=args.credits,
            job_duration=args.job_duration,
            rate_limit=args.rate_limit,
            link_ttl=args.link_ttl,
            retry_after=args.retry_after,
            port=args.port,
            host=args.host,
            link_host=args.link_host,
            strict=args.strict,
        )
    except ValueError as error:
        print(f"pdfco-emulator: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    with emulator:
        print(f"PDF.co emulator at {emulator.base_url}", flush=True)
        print(f"API key: {emulator.api_key}", flush=True)
        print(f"Control API: {emulator.base_url}/__emulator__/stats and /__emulator__/faults", flush=True)
        mode = "strict (undocumented parameter names get PDF.co's 454)" if emulator.strict else "lenient"
        print(f"Mode: {mode}. Press Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("PDF.co emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
