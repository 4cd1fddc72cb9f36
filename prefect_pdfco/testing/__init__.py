"""A local PDF.co emulator: a real HTTP server for offline development and tests.

``PdfcoEmulator`` serves a PDF.co-compatible API on 127.0.0.1 that really processes documents (pypdf,
fpdf2), keeps async jobs, credits and expiring signed result links, and injects faults on demand. Where
PDF.co's documented behaviour is odd, the emulator is odd the same way: unknown job ids read as
``working``, async split's result is a JSON list of links, result links live on another host than the API.

Example:
    ```python
    from prefect_pdfco.testing import PdfcoEmulator

    with PdfcoEmulator(api_key="test-key", credits=100_000, job_duration=0.5) as emu:
        credentials = emu.credentials()   # a PdfcoCredentials block pointing at the emulator
        ...
        print(emu.stats()["credits_used"])
    ```

Standalone: ``python -m prefect_pdfco.testing --port 8765 --api-key demo``. For pytest, enable the plugin
with ``pytest_plugins = ["prefect_pdfco.testing.pytest_plugin"]`` and use the ``pdfco_emulator`` and
``pdfco_credentials`` fixtures. Needs the ``emulator`` extra (starlette, uvicorn, pypdf, fpdf2).
"""

from __future__ import annotations

from prefect_pdfco.testing._api import JOB_DURATION_HEADER
from prefect_pdfco.testing._catalogue import CREDIT_COSTS, JOB_CHECK_COST, CreditCost
from prefect_pdfco.testing._server import PdfcoEmulator

__all__ = ["CREDIT_COSTS", "JOB_CHECK_COST", "JOB_DURATION_HEADER", "CreditCost", "PdfcoEmulator"]
