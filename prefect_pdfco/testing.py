"""Testing flows offline: credentials for a running PDF.co emulator (``pip install "prefect-pdfco[emulator]"``)."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["credentials_for"]


class _Emulator(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str: ...


def credentials_for(emulator: _Emulator, **settings: Any) -> PdfcoCredentials:
    """A ``PdfcoCredentials`` block pointing at a running emulator (any object with ``base_url`` and ``api_key``).

    Args:
        emulator: A running ``pdfco_emulator.PdfcoEmulator``, or anything that serves PDF.co's API on loopback.
        settings: Other fields of the block (``timeout_seconds``, ``callback_url``...).

    Returns:
        An unsaved block: pass it to tasks and flows as you would a loaded one.

    Example:
        ```python
        from pdfco_emulator import PdfcoEmulator
        from prefect import flow

        from prefect_pdfco import PdfcoCredentials, html_to_pdf, wait_for_job
        from prefect_pdfco.testing import credentials_for


        @flow
        def hello(credentials: PdfcoCredentials) -> str | None:
            return wait_for_job(credentials, html_to_pdf(credentials, "<h1>Hello</h1>")).url


        with PdfcoEmulator() as emulator:
            print(hello(credentials_for(emulator)))
        ```
    """
    return PdfcoCredentials(api_key=SecretStr(emulator.api_key), base_url=emulator.base_url, **settings)
