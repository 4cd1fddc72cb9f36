"""PdfcoCredentials: fields, the client it builds, check_connection from sync and async code, registration."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
import respx
from prefect import flow
from pydantic import ValidationError

from prefect_pdfco import AuthenticationError, PdfcoClient, PdfcoCredentials

from .conftest import API, API_KEY


def test_fields_are_described_and_the_block_documented() -> None:
    for name, field in PdfcoCredentials.model_fields.items():
        if name.startswith("_") or name == "block_type_slug":
            continue
        assert field.description and field.description.endswith("."), name
    assert PdfcoCredentials.get_block_type_slug() == "pdfco-credentials"
    assert PdfcoCredentials._description and PdfcoCredentials._documentation_url
    assert 'PdfcoCredentials.load("BLOCK_NAME")' in (PdfcoCredentials._code_example or "")


def test_defaults_and_validation() -> None:
    credentials = PdfcoCredentials(api_key="k")
    assert credentials.base_url == "https://api.pdf.co"
    assert credentials.timeout_seconds > 0 and credentials.requests_per_second is None
    assert PdfcoCredentials(api_key="k", base_url="http://127.0.0.1:8765/").base_url == "http://127.0.0.1:8765"
    with pytest.raises(ValidationError):
        PdfcoCredentials(api_key="k", base_url="ftp://pdf.co")
    with pytest.raises(ValidationError):
        PdfcoCredentials(api_key="k", requests_per_second=0)


def test_get_client_and_secrecy() -> None:
    credentials = PdfcoCredentials(api_key=API_KEY, base_url=API, requests_per_second=2)
    client = credentials.get_client()
    assert isinstance(client, PdfcoClient) and client.base_url.host == "api.pdf.co"
    assert client.requests_per_second == 2.0  # a hard cap on the account's shared, adaptive limiter
    for text in (repr(credentials), str(credentials), str(credentials.model_dump()), repr(client)):
        assert API_KEY not in text


def test_check_connection_from_sync_code(pdfco: respx.MockRouter) -> None:
    route = pdfco.get(f"{API}/v1/account/credit/balance").mock(
        return_value=httpx.Response(200, json={"remainingCredits": 12345})
    )
    assert PdfcoCredentials(api_key=API_KEY, base_url=API).check_connection() == 12345
    assert route.calls.last.request.headers["x-api-key"] == API_KEY


async def test_check_connection_from_async_code(pdfco: respx.MockRouter) -> None:
    pdfco.get(f"{API}/v1/account/credit/balance").mock(
        return_value=httpx.Response(401, json={"error": True, "status": 401, "message": "Unauthorized"})
    )
    with pytest.raises(AuthenticationError):
        await PdfcoCredentials(api_key="wrong", base_url=API).check_connection()


@pytest.mark.usefixtures("prefect_harness")
def test_check_connection_inside_sync_and_async_flows(pdfco: respx.MockRouter) -> None:
    pdfco.get(f"{API}/v1/account/credit/balance").mock(return_value=httpx.Response(200, json={"remainingCredits": 7}))
    credentials = PdfcoCredentials(api_key=API_KEY, base_url=API)

    @flow
    def sync_flow() -> int:
        return credentials.check_connection()

    @flow
    async def async_flow() -> int:
        return await credentials.check_connection()

    assert sync_flow() == 7
    import asyncio

    assert asyncio.run(async_flow()) == 7


@pytest.mark.usefixtures("prefect_harness")
async def test_block_registers_on_a_real_server_and_round_trips() -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "block", "register", "-m", "prefect_pdfco"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    async with get_client() as client:
        block_type = await client.read_block_type_by_slug("pdfco-credentials")
    assert block_type.name == "PDF.co Credentials"
    assert block_type.documentation_url and block_type.code_example

    await PdfcoCredentials(api_key=API_KEY, base_url=API, requests_per_second=10).save("test-pdfco", overwrite=True)
    loaded = await PdfcoCredentials.load("test-pdfco")
    assert loaded.api_key.get_secret_value() == API_KEY
    assert loaded.requests_per_second == 10


@pytest.mark.usefixtures("prefect_harness")
def test_loading_a_block_that_was_never_saved_says_how_to_save_one() -> None:
    from prefect_pdfco import BlockNotFoundError, PdfcoError

    with pytest.raises(BlockNotFoundError) as caught:
        PdfcoCredentials.load("pdfco-typo-never-saved")
    error = caught.value
    assert isinstance(error, PdfcoError) and isinstance(error, ValueError)  # `except ValueError` still works
    assert error.name == "pdfco-typo-never-saved" and error.block_type_slug == "pdfco-credentials"
    assert "'pdfco-typo-never-saved'" in str(error) and "python blocks/create_credentials.py" in str(error)

    @flow
    def sync_flow() -> str:
        try:
            PdfcoCredentials.load("pdfco-typo-never-saved")
        except BlockNotFoundError as inside:
            return inside.name
        return "loaded"

    @flow
    async def async_flow() -> str:
        try:
            await PdfcoCredentials.aload("pdfco-typo-never-saved")
        except BlockNotFoundError as inside:
            return inside.name
        return "loaded"

    import asyncio

    assert sync_flow() == "pdfco-typo-never-saved"
    assert asyncio.run(async_flow()) == "pdfco-typo-never-saved"


@pytest.mark.usefixtures("prefect_harness")
def test_a_saved_block_still_loads_sync_and_async() -> None:
    import asyncio

    PdfcoCredentials(api_key="k", base_url="http://127.0.0.1:1").save("pdfco-test-load", overwrite=True)
    assert PdfcoCredentials.load("pdfco-test-load").base_url == "http://127.0.0.1:1"
    assert asyncio.run(PdfcoCredentials.aload("pdfco-test-load")).api_key.get_secret_value() == "k"
