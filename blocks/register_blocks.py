"""Register prefect-pdfco's block type (``pdfco-credentials``) with the current Prefect workspace.

    python blocks/register_blocks.py                # or: prefect block register -m prefect_pdfco

Saving a block registers its type by itself (``prefect-pdfco credentials save``); register first only to offer
"PDF.co Credentials" in the UI's block catalogue before anyone saves one. Running it again updates the schema after
an upgrade of prefect-pdfco.
"""

from __future__ import annotations

import argparse
import os
import sys

# Before Prefect is imported: no telemetry from a temporary server, and time for a first start on a busy machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect.settings import PREFECT_API_URL, PREFECT_HOME

from prefect_pdfco import PdfcoCredentials


def main(argv: list[str] | None = None) -> int:
    """Registers the block type and schema, and says where."""
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    PdfcoCredentials.register_type_and_schema()
    where = PREFECT_API_URL.value() or f"the temporary server's database under {PREFECT_HOME.value()}"
    print(f"Registered block type {PdfcoCredentials.get_block_type_slug()!r} (PDF.co Credentials) with {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
