"""What the example flows share: credentials from a saved block, the environment, or the embedded emulator;
their ``--help``; and patience with the local Prefect server a first run starts."""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, get_current_settings, temporary_settings

from prefect_pdfco.client import DEFAULT_BASE_URL
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import BlockNotFoundError
from prefect_pdfco.testing._server import PdfcoEmulator
from prefect_pdfco.ui.logs import run_logger

__all__ = ["credentials_or_emulator", "example_parser", "local_server_patience"]

# Prefect waits 20 s for its ephemeral server; a first start on a fresh PREFECT_HOME also creates and migrates
# the SQLite database, which takes longer than that on a busy 2-core machine.
FIRST_START_SECONDS = 120
_STARTUP_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"

CREDENTIALS_HELP = (
    "Credentials: the saved PdfcoCredentials block `pdfco` (python blocks/create_credentials.py saves it), else "
    "PDFCO_API_KEY (and PDFCO_BASE_URL for another API root), else an embedded PDF.co emulator on 127.0.0.1 "
    "(no account, no credits). Without PREFECT_API_URL, Prefect starts a local server for the run."
)


def example_parser(doc: str, needs: str = "") -> argparse.ArgumentParser:
    """The ``--help`` of an example: the first line of its docstring, then where credentials come from.

    Args:
        doc: The example's module docstring.
        needs: What else the example needs (a Secret block, a folder of documents...), one sentence or empty.

    Returns:
        A parser whose epilog says where credentials come from and what else the example needs.
    """
    epilog = "\n\n".join(textwrap.fill(paragraph, 100) for paragraph in (CREDENTIALS_HELP, needs) if paragraph)
    formatter = argparse.RawDescriptionHelpFormatter  # keeps the two paragraphs apart
    return argparse.ArgumentParser(description=doc.splitlines()[0], epilog=epilog, formatter_class=formatter)


@contextmanager
def local_server_patience(seconds: int = FIRST_START_SECONDS) -> Iterator[None]:
    """Gives Prefect's ephemeral server ``seconds`` to start, and says so, when no API URL is set.

    Nothing changes when ``PREFECT_API_URL`` points at a server, or when the user chose a startup timeout
    (``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` in the environment or a profile).

    Args:
        seconds: How long the ephemeral server may take to answer.
    """
    settings = get_current_settings()
    ephemeral = settings.server.ephemeral
    default = type(ephemeral).model_fields["startup_timeout_seconds"].default
    chosen = _STARTUP_ENV in os.environ or ephemeral.startup_timeout_seconds != default
    if settings.api.url:
        yield
        return
    waiting = ephemeral.startup_timeout_seconds if chosen else seconds
    print(
        f"Starting Prefect's local server (a first start creates its database; waiting up to {waiting} s). "
        "Set PREFECT_API_URL to use a running Prefect server instead.",
        flush=True,
    )
    # The examples run offline: the local server it starts must not try to send Prefect's telemetry out.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if chosen:
        yield
        return
    with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: seconds}):
        yield


@contextmanager
def credentials_or_emulator(block_name: str = "pdfco") -> Iterator[PdfcoCredentials]:
    """Credentials for an example flow: the saved block ``block_name``, else ``PDFCO_API_KEY``, else an emulator.

    The embedded emulator runs for as long as the ``with`` block, so a newcomer runs the examples with no
    account and spends no credits; one line says so. It lives here, beside the emulator, because the library
    itself never imports the emulator (the ``emulator`` extra).

    Args:
        block_name: The saved ``PdfcoCredentials`` block to look for first.

    Yields:
        Credentials for PDF.co, or for the embedded emulator. ``PDFCO_BASE_URL`` changes the API root used
        with ``PDFCO_API_KEY``.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import html_to_pdf, wait_for_job
        from prefect_pdfco.testing import credentials_or_emulator

        @flow
        def hello() -> str | None:
            with credentials_or_emulator() as credentials:
                job = html_to_pdf(credentials, "<h1>Hello</h1>")
                return wait_for_job(credentials, job.job_id).url

        hello()
        ```
    """
    try:
        saved: PdfcoCredentials | None = PdfcoCredentials.load(block_name, _sync=True)  # type: ignore[call-arg]
    except BlockNotFoundError:
        saved = None
    if saved is not None:
        yield saved
        return
    api_key = os.environ.get("PDFCO_API_KEY")
    if api_key:
        yield PdfcoCredentials(api_key=api_key, base_url=os.environ.get("PDFCO_BASE_URL", DEFAULT_BASE_URL))
        return
    with PdfcoEmulator(api_key="emulator-key", job_duration=0.5) as emulator:
        run_logger().info(
            "No %r block and no PDFCO_API_KEY: using the embedded PDF.co emulator at %s (no account, no credits).",
            block_name,
            emulator.base_url,
        )
        yield emulator.credentials()
