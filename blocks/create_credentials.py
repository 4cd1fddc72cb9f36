"""Save a ``PdfcoCredentials`` block (``pdfco`` by default): a thin script over ``prefect-pdfco credentials save``.

    PDFCO_API_KEY=... python blocks/create_credentials.py          # checks the key with PDF.co (free), then saves
    PDFCO_API_KEY=demo python blocks/create_credentials.py --base-url http://127.0.0.1:8765 --overwrite  # emulator
    python blocks/create_credentials.py --help                     # every option (--no-check skips the check)

The key comes from PDFCO_API_KEY, else a hidden prompt, and is never printed. The installed package has the same
command without a clone of this repository: ``prefect-pdfco credentials save`` (or ``python -m prefect_pdfco``).
"""

from __future__ import annotations

import os
import sys

# Before Prefect is imported: with no PREFECT_API_URL, Prefect starts a temporary server to save into, which must
# not reach out for telemetry (offline it logs a DNS error) and may need more than its 20 s on a busy machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect_pdfco.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["credentials", "save", *sys.argv[1:]]))
