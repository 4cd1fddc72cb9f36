"""Save a ``PdfcoCredentials`` block (named ``pdfco`` by default) in the current Prefect workspace.

The API key comes from ``PDFCO_API_KEY`` or, when that is unset, from a hidden prompt. The key is never printed.

    export PREFECT_API_URL=http://127.0.0.1:4200/api      # or a Prefect Cloud workspace
    prefect block register -m prefect_pdfco               # once per workspace: the block type
    PDFCO_API_KEY=... python blocks/create_credentials.py --requests-per-second 2
    python blocks/create_credentials.py --base-url http://127.0.0.1:8765 --overwrite   # against the emulator

Flows then load it with ``PdfcoCredentials.load("pdfco")``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from prefect.settings import PREFECT_API_URL, PREFECT_HOME

from prefect_pdfco import PdfcoCredentials, PdfcoError
from prefect_pdfco.client import DEFAULT_BASE_URL

ENV_VAR = "PDFCO_API_KEY"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python blocks/create_credentials.py",
        description=f"Save a PdfcoCredentials block from ${ENV_VAR} (or a prompt) in the current Prefect workspace.",
    )
    parser.add_argument("--name", default="pdfco", help="block document name (default: %(default)s)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="API root; an emulator's URL for local work")
    parser.add_argument(
        "--requests-per-second", type=float, default=None, help="client-side rate limit: 2 on free plans, 10 paid"
    )
    parser.add_argument(
        "--rate-limit-name",
        default=None,
        help="a Prefect global concurrency limit with slot decay that every process shares (prefect gcl create ...)",
    )
    parser.add_argument("--timeout-seconds", type=float, default=30.0, help="seconds to wait for one HTTP answer")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing block of that name")
    parser.add_argument("--no-prompt", action="store_true", help=f"fail instead of prompting when ${ENV_VAR} is unset")
    parser.add_argument("--check", action="store_true", help="call the credit balance endpoint before saving")
    return parser


def _api_key(no_prompt: bool) -> str:
    key = os.environ.get(ENV_VAR, "").strip()
    if key:
        return key
    if no_prompt or not sys.stdin.isatty():
        # A prompt nobody can answer would hang a CI job; say what is missing instead.
        raise SystemExit(f"error: ${ENV_VAR} is not set (and prompting is off); export it and run again")
    key = getpass.getpass("PDF.co API key (hidden): ").strip()
    if not key:
        raise SystemExit("error: no API key given")
    return key


def main(argv: Sequence[str] | None = None) -> int:
    """Builds the block from the arguments, optionally checks it, saves it and says what was saved."""
    args = _parser().parse_args(argv)
    api_key = _api_key(args.no_prompt)
    try:
        credentials = PdfcoCredentials(
            api_key=api_key,
            base_url=args.base_url,
            timeout_seconds=args.timeout_seconds,
            requests_per_second=args.requests_per_second,
            rate_limit_name=args.rate_limit_name,
        )
    except ValueError as error:  # pydantic's ValidationError is a ValueError; it never echoes the SecretStr
        print(f"error: invalid settings: {error}", file=sys.stderr)
        return 2
    if args.check:
        try:
            print(f"Key accepted by {credentials.base_url}: {credentials.check_connection()} credits left")
        except PdfcoError as error:  # our errors never carry the key; say why and save nothing
            print(f"error: the check failed, nothing saved: {error}", file=sys.stderr)
            return 1
    try:
        credentials.save(args.name, overwrite=args.overwrite)
    except ValueError as error:  # Prefect refuses to replace an existing document without overwrite=True
        if "already" not in str(error).lower():
            raise
        print(f"error: a block named {args.name!r} already exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    rate = f"{args.requests_per_second:g} requests/s" if args.requests_per_second else "no client-side rate limit"
    if args.rate_limit_name:
        rate += f", global limit {args.rate_limit_name!r}"
    print(
        f"Saved PdfcoCredentials block {args.name!r}: base_url={credentials.base_url}, "
        f"timeout={args.timeout_seconds:g} s, {rate}, api_key=********"
    )
    where = PREFECT_API_URL.value() or f"the ephemeral API (database under {PREFECT_HOME.value()})"
    print(f'Stored in {where}. Load it in a flow with PdfcoCredentials.load("{args.name}").')
    return 0


if __name__ == "__main__":
    sys.exit(main())
