"""The block's logo never shows as a broken image offline (issue 13, item 5).

Prefect accepts only http(s) logo URLs, on registration and on every read of the block type, so the logo (on
the internet) is registered on Prefect Cloud only; a local or self-hosted server's UI shows its own block icon.
"""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, PREFECT_CLOUD_API_URL, temporary_settings
from pydantic import SecretStr

from prefect_pdfco import PdfcoCredentials


@pytest.mark.usefixtures("prefect_harness")
async def test_a_prefect_server_gets_no_logo_to_fetch_from_the_internet() -> None:
    async with get_client() as client:
        # Registered with the logo first (as before this change, or by Prefect Cloud's rule): the next
        # registration on this server takes it off.
        with temporary_settings({PREFECT_API_URL: PREFECT_CLOUD_API_URL.value()}):
            await PdfcoCredentials.register_type_and_schema(client=client)
        assert (await client.read_block_type_by_slug("pdfco-credentials")).logo_url is not None
        await PdfcoCredentials.register_type_and_schema(client=client)
        stored = await client.read_block_type_by_slug("pdfco-credentials")
    block_type = PdfcoCredentials._to_block_type()
    assert block_type.logo_url is None and stored.logo_url is None
    # Still a block the UI lists with its name and docs, and one that saves and loads.
    assert stored.name == "PDF.co Credentials" and str(stored.documentation_url).startswith("https://")
    await PdfcoCredentials(api_key=SecretStr("key")).save("logo-test", overwrite=True)
    loaded = await PdfcoCredentials.aload("logo-test")
    assert loaded.api_key.get_secret_value() == "key"


def test_prefect_cloud_gets_pdfcos_logo() -> None:
    with temporary_settings({PREFECT_API_URL: f"{PREFECT_CLOUD_API_URL.value()}/accounts/a/workspaces/w"}):
        block_type = PdfcoCredentials._to_block_type()
    assert str(block_type.logo_url) == "https://pdf.co/favicon.ico"
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert PdfcoCredentials._to_block_type().logo_url is None
