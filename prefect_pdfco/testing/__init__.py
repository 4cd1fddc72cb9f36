"""A local PDF.co emulator: a real HTTP server for offline development and tests.

``PdfcoEmulator`` serves a PDF.co-compatible API on 127.0.0.1 that really processes documents (pypdf,
fpdf2), keeps async jobs, credits and expiring signed result links, and injects faults on demand. Where
PDF.co's documented behaviour is odd, the emulator is odd the same way: unknown job ids read as
``working`` (``unknown`` only with ``force``), async split's result is a JSON list of links, result links
live on another host than the API and answer S3's XML errors.

Example:
    ```python
    from prefect_pdfco.testing import PdfcoEmulator

    with PdfcoEmulator(api_key="test-key", credits=100_000, job_duration=0.5) as emu:
        credentials = emu.credentials()   # a PdfcoCredentials block pointing at the emulator
        ...
        print(emu.stats()["credits_used"])
    ```

URL layout:

- API: ``http://127.0.0.1:<port>/v1/...`` (and ``/v2/pdf/compress``), key in the ``x-api-key`` header
  (or query parameter). Bodies: JSON, form or multipart; parameter names in any letter case, unknown ones
  ignored, unless ``strict=True`` (``--strict``, ``PDFCO_EMULATOR_STRICT=1``): then a name PDF.co does not
  document for the endpoint, in a spelling it does not document, gets its 454 "invalid parameters".
- Files: ``http://localhost:<port>/pdf-temp-files/<32 hex>/<name>?X-Amz-Date=..&X-Amz-Expires=..&
  X-Amz-Signature=..``: GET/HEAD (with ``Range``) for results and uploads, PUT for presigned uploads
  (``X-Amz-Expires=900``; the ``Content-Type`` must equal the requested ``contenttype``). No key needed;
  expired: 403 ``AccessDenied``/"Request has expired"; edited: 403 ``SignatureDoesNotMatch``; job not done
  or file deleted: 404 ``NoSuchKey``.
- Control (no key, for standalone mode): ``GET /__emulator__/stats``; ``POST /__emulator__/faults`` with
  ``{"kind": "response", "path", "status", "json", "body", "content_type", "delay", "times", "headers",
  "drop", "takes_effect"}``,
  ``{"kind": "job", "outcome", "message", "times"}``, ``{"kind": "download", "after_bytes", "times"}``,
  ``{"kind": "job_duration", "seconds", "path"}`` or ``{"kind": "clock", "seconds"}``;
  ``DELETE /__emulator__/faults``.

Choices where PDF.co's docs are silent: PDF.co's 441-454 codes come as HTTP 400 with the code in ``status``
and ``errorCode``; documented endpoints the emulator does not implement answer 400 with
``"notEmulated": true``; async jobs bill the first page at submit and the rest at the first
``success`` check, and refund the submit when they fail (``CREDIT_COSTS``); a failed job-check body has no
``error`` field; every API answer carries ``remainingCredits`` except 401 (no account is known) and 429
(PDF.co's documented body has none). The ``x-emulator-job-duration: <seconds>`` request header sets how
long that one async job stays ``working``.

Standalone: ``python -m prefect_pdfco.testing --port 8765 --api-key demo``. For pytest, enable the plugin
with ``pytest_plugins = ["prefect_pdfco.testing.pytest_plugin"]`` and use the ``pdfco_emulator`` and
``pdfco_credentials`` fixtures. Needs the ``emulator`` extra (starlette, uvicorn, pypdf, fpdf2, Pillow,
pypdfium2, python-docx).
"""

from __future__ import annotations

from prefect_pdfco.testing._api import JOB_DURATION_HEADER
from prefect_pdfco.testing._catalogue import CREDIT_COSTS, JOB_CHECK_COST, CreditCost
from prefect_pdfco.testing._examples import credentials_or_emulator, example_parser, local_server_patience
from prefect_pdfco.testing._processing import make_sample_invoice_pdf, make_sample_pdf
from prefect_pdfco.testing._server import STRICT_ENV, PdfcoEmulator

__all__ = [
    "CREDIT_COSTS",
    "JOB_CHECK_COST",
    "JOB_DURATION_HEADER",
    "STRICT_ENV",
    "CreditCost",
    "PdfcoEmulator",
    "credentials_or_emulator",
    "example_parser",
    "local_server_patience",
    "make_sample_invoice_pdf",
    "make_sample_pdf",
]
