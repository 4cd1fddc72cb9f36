"""What the example flows share: credentials from a saved block, the environment, or the embedded emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect_pdfco.client import DEFAULT_BASE_URL
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import BlockNotFoundError
from prefect_pdfco.testing._server import PdfcoEmulator
from prefect_pdfco.ui.logs import run_logger

__all__ = ["credentials_or_emulator"]


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
