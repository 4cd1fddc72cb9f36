"""``python -m prefect_pdfco.callbacks --host 0.0.0.0 --port 8085 --block pdfco``: a standalone receiver.

It loads the ``PdfcoCredentials`` block by name from the Prefect API of the usual settings (``PREFECT_API_URL``
and friends) and emits its events there. No access log: request paths hold the per-job tokens.
"""

from __future__ import annotations

import argparse

from prefect_pdfco.callbacks.receiver import DEFAULT_MAX_BODY_BYTES, create_app


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and serves until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m prefect_pdfco.callbacks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="port to listen on (default 8085)")
    parser.add_argument("--block", required=True, help="name of the PdfcoCredentials block")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES, help="largest body read")
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="check each job once (2 credits) before its event, for automations that act on the event alone",
    )
    args = parser.parse_args(argv)

    import uvicorn

    from prefect_pdfco.credentials import PdfcoCredentials

    credentials = PdfcoCredentials.load(args.block)
    app = create_app(credentials, max_body_bytes=args.max_body_bytes, confirm=args.confirm)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")


if __name__ == "__main__":
    main()
