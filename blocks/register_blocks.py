"""Register prefect-pdfco's block types (``pdfco-credentials``) with the current Prefect workspace.

Run it once per workspace (a local ``prefect server start`` or a Prefect Cloud workspace), after installing
prefect-pdfco, so the UI's block catalogue offers "PDF.co Credentials":

    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python blocks/register_blocks.py

It does what the Prefect CLI does, and either works:

    prefect block register -m prefect_pdfco

Registration is idempotent: running it again updates the schema after an upgrade of prefect-pdfco.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from prefect.blocks.core import Block
from prefect.settings import PREFECT_API_URL, PREFECT_HOME

import prefect_pdfco


def block_classes() -> list[type[Block]]:
    """Every block class prefect_pdfco exports, found the way ``prefect block register -m`` finds them."""
    exported = (getattr(prefect_pdfco, name) for name in prefect_pdfco.__all__)
    return [obj for obj in exported if isinstance(obj, type) and issubclass(obj, Block)]


def main(argv: Sequence[str] | None = None) -> int:
    """Registers each block type and schema, then lists what was registered and where."""
    argparse.ArgumentParser(
        prog="python blocks/register_blocks.py",
        description="Register prefect-pdfco's block types with the Prefect API in PREFECT_API_URL.",
    ).parse_args(argv)
    classes = block_classes()
    for cls in classes:
        cls.register_type_and_schema()
        print(f"Registered block type {cls.get_block_type_slug()!r} ({cls.get_block_type_name()})")
    # Without PREFECT_API_URL, Prefect starts an ephemeral server on the SQLite database in PREFECT_HOME.
    where = PREFECT_API_URL.value() or f"the ephemeral API (database under {PREFECT_HOME.value()})"
    print(f"{len(classes)} block type(s) registered with {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
