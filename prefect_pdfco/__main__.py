"""``python -m prefect_pdfco`` (or ``prefect-pdfco``): save and check credentials, serve callbacks."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from prefect_pdfco._exceptions import PdfcoError

CHECK_HELP = "save without checking the key against PDF.co first (the check is free: it reads the balance)"


def main(argv: list[str] | None = None) -> int:
    """Parses the command line, runs the command, and returns the exit code (errors in one short paragraph)."""
    parser = argparse.ArgumentParser(prog="python -m prefect_pdfco", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    credentials = commands.add_parser("credentials", help="save or check a PdfcoCredentials block")
    actions = credentials.add_subparsers(dest="action", required=True)
    save = actions.add_parser("save", help="save a block (the key from $PDFCO_API_KEY, else a prompt)")
    save.add_argument("--name", default="pdfco", help="block name (default: %(default)s)")
    save.add_argument("--base-url", default=None, help="API root (default: https://api.pdf.co; or a local server)")
    save.add_argument("--requests-per-second", type=float, default=None, help="hard cap per process")
    save.add_argument("--callback-url", default=None, help="public base URL of your callback receiver")
    save.add_argument("--no-check", dest="check", action="store_false", help=CHECK_HELP)
    save.add_argument("--overwrite", action="store_true", help="replace a saved block of that name")
    check = actions.add_parser("check", help="load a saved block and print the account's remaining credits")
    check.add_argument("--name", default="pdfco", help="block name (default: %(default)s)")
    callbacks = commands.add_parser("callbacks", help="serve the callback receiver: callbacks serve --help")
    callbacks.add_argument("action", choices=["serve"])
    argv = sys.argv[1:] if argv is None else argv
    args, rest = (argv[:2], argv[2:]) if argv[:2] == ["callbacks", "serve"] else (parser.parse_args(argv), [])
    # Offline by default: a temporary Prefect server started for this command must not reach out for telemetry.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # A first start of Prefect's temporary server creates its database: more than its 20 s on a busy machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    try:
        if isinstance(args, list):  # its own parser, so that `callbacks serve --help` shows its options
            from prefect_pdfco.callbacks import serve

            serve(rest)
            return 0
        return _save(args) if args.action == "save" else _check(args.name)
    except PdfcoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _save(args: argparse.Namespace) -> int:
    from prefect_pdfco.credentials import PdfcoCredentials

    api_key = os.environ.get("PDFCO_API_KEY") or getpass.getpass("PDF.co API key (app.pdf.co > API): ").strip()
    names = ("base_url", "requests_per_second", "callback_url")
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    block = PdfcoCredentials.model_validate({"api_key": api_key, **settings})
    if args.check:
        try:
            credits = block.check_connection()
        except PdfcoError as error:
            raise PdfcoError(f"{error} Nothing was saved (--no-check saves without checking).") from error
        print(f"The key works: {credits} credits left.")
    block.save(args.name, overwrite=args.overwrite)
    print(f"Saved PdfcoCredentials block {args.name!r} ({block.base_url}): PdfcoCredentials.load({args.name!r}).")
    return 0


def _check(name: str) -> int:
    from prefect_pdfco.credentials import PdfcoCredentials

    block = PdfcoCredentials.load(name)
    print(f"{block.described}: {block.check_connection()} credits left.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
