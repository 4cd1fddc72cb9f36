"""Protect and compress: compress a PDF, then password-protect it, and store the result in a storage block.

    PDFCO_PDF_PASSWORD=open-sesame python flows/protect_and_compress.py       # a sample PDF, into ./output
    python flows/protect_and_compress.py --file report.pdf --password-secret pdf-password
    python flows/protect_and_compress.py --url https://example.com/report.pdf --storage-block local-file-system/archive
    python flows/protect_and_compress.py --serve             # served as pdfco-protect-and-compress/protect
    prefect deploy --name pdfco-protect-and-compress/protect    # or deployed from prefect.yaml

The input is a link, or a local file uploaded first; without either, the flow makes a sample PDF from HTML. The
user password comes from a Prefect Secret block (--password-secret) or PDFCO_PDF_PASSWORD and goes to PDF.co only,
never into a log. The result lands in the storage block --storage-block (`<block type>/<name>`), else in --output.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, cast

import _example
from prefect import flow
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.filesystems import LocalFileSystem, WritableFileSystem

from prefect_pdfco import add_password, compress_pdf, download_result, html_to_pdf, upload_file, wait_for_job

NEEDS = (
    "Needs the PDF's user password: a Prefect Secret block named by --password-secret (the deployment in "
    'prefect.yaml uses `pdf-password`; save it with python -c "from prefect.blocks.system import Secret; '
    "Secret(value='...').save('pdf-password')\"), else the PDFCO_PDF_PASSWORD environment variable. Without "
    "--url or --file it protects a sample PDF."
)
SAMPLE = "<h1>Confidential report</h1><p>" + "Quarterly figures and commentary. " * 40 + "</p>"


def _password(secret_block: str | None) -> str:
    if secret_block:
        return str(cast(Secret[str], Secret.load(secret_block)).get())
    if password := os.environ.get("PDFCO_PDF_PASSWORD"):
        return password
    # Refuse before any request: a file protected with a password nobody knows is lost work.
    raise ValueError("No password: pass --password-secret <Secret block name> or set PDFCO_PDF_PASSWORD.")


@flow(name="pdfco-protect-and-compress", log_prints=True)
def pdfco_protect_and_compress(
    url: str | None = None,
    file: str | None = None,
    password_secret: str | None = None,
    storage_block: str | None = None,
    output: str = "./output/protected",
) -> dict[str, Any]:
    """Compresses then protects one PDF and stores it; returns where it landed, its size and checksum."""
    user_password = _password(password_secret)
    local = LocalFileSystem(basepath=os.path.abspath(output))
    storage = cast(WritableFileSystem, Block.load(storage_block)) if storage_block else local
    with _example.credentials() as credentials:
        if file:
            url = upload_file(credentials, file)
        elif not url:
            url = wait_for_job(credentials, html_to_pdf(credentials, SAMPLE, name="report.pdf")).url
        assert url  # a success result carries its link
        compressed = wait_for_job(credentials, compress_pdf(credentials, url, name="compressed.pdf"))
        assert compressed.url
        protecting = add_password(
            credentials,
            compressed.url,
            user_password=user_password,
            owner_password=secrets.token_urlsafe(16),
            encryption_algorithm="AES_256bit",
            allow_print_document=True,
            name="protected.pdf",
        )
        landed = download_result(wait_for_job(credentials, protecting), storage, fingerprint=True)
    print(f"Stored {landed.path} ({landed.size} bytes, sha256 {str(landed.sha256)[:16]}...)")
    return {"path": landed.path, "size": landed.size, "sha256": landed.sha256}


def main() -> None:
    parser = _example.parser(__doc__, NEEDS)
    parser.add_argument("--url", help="link to the PDF")
    parser.add_argument("--file", help="local PDF (uploaded to PDF.co's temporary storage)")
    parser.add_argument("--password-secret", help="name of a Secret block holding the user password")
    parser.add_argument("--storage-block", help="storage block to write to, as <block type>/<name>")
    parser.add_argument("--output", default="./output/protected", help="folder when no block (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve it as pdfco-protect-and-compress/protect")
    parameters = vars(parser.parse_args())
    serving = parameters.pop("serve")
    serve = {"name": "protect", "parameters": parameters, "tags": ["pdfco", "security"]}
    _example.run(pdfco_protect_and_compress, parameters, serve=serve if serving else None)


if __name__ == "__main__":
    main()
