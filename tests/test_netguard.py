"""Downloads go only where results live, and the key only over TLS.

No test here opens a connection to anything but loopback: the resolver is faked, and every socket the guarded
client would open goes through a recorder that refuses (without connecting) any address that is not loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import pytest
from pydantic import ValidationError

from prefect_pdfco import FileTransferError, PdfcoConnectionError, PdfcoCredentials, _netguard
from prefect_pdfco._netguard import MAX_REDIRECTS, GuardedBackend, LinkPolicy
from prefect_pdfco.files import adownload_result, afetch_result_text, aupload_file
from prefect_pdfco.files.linkclient import link_client
from prefect_pdfco.testing import PdfcoEmulator

from .test_files import FAST, only_files
from .test_files_errors import Host, whole

METADATA_FORMS = [
    "169.254.169.254",
    "169.254.170.2",
    "2852039166",  # 169.254.169.254 as one decimal number
    "0xa9fea9fe",
    "169.254.43518",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",  # NAT64
    "[fd00:ec2::254]",
    "[fe80::1]",
    "metadata.google.internal",
    "METADATA.GOOGLE.INTERNAL.",
    "metadata.goog",
]


class Connections:
    """Every address the guarded client asked to connect to; only loopback is really connected."""

    def __init__(self) -> None:
        self.hosts: list[str] = []


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connections]:
    seen = Connections()
    real = httpcore.AnyIOBackend.connect_tcp

    async def recording(self: httpcore.AnyIOBackend, host: str, port: int, **kwargs: Any) -> Any:
        seen.hosts.append(host)
        if host != "localhost" and not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
            raise httpcore.ConnectError(f"test guard: no real connection to {host}")
        return await real(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recording)
    yield seen


class FakeDns:
    """A resolver answering from a table, recording what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns({"localhost": ["127.0.0.1"]})
    monkeypatch.setattr(_netguard, "resolve_host", fake)
    return fake


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


async def uploaded(emu: PdfcoEmulator, tmp_path: Path, content: bytes = b"%PDF-1.4 result") -> str:
    (tmp_path / "result.pdf").write_bytes(content)
    async with emu.credentials().get_client() as client:
        return await aupload_file(client, tmp_path / "result.pdf")


# --- the policy -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", METADATA_FORMS)
def test_every_form_of_a_metadata_address_is_refused_by_default(host: str) -> None:
    with pytest.raises(FileTransferError, match="no connection was made"):
        LinkPolicy().check_url(f"http://{host}/latest/meta-data/iam?X-Amz-Signature=s3cr3t")


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "localhost", "pdf-temp-files.s3.us-west-2.amazonaws.com", "10.1.2.3", "8.8.8.8"]
)
def test_loopback_private_and_public_hosts_stay_allowed(host: str) -> None:
    LinkPolicy().check_url(f"https://{host}/job/result.pdf")


def test_every_resolved_address_is_checked() -> None:
    policy = LinkPolicy()
    policy.check("files.example", ["93.184.216.34", "2606:2800:220:1::"])
    for bad in (["93.184.216.34", "169.254.169.254"], ["::ffff:169.254.169.254"], ["fe80::1%eth0"]):
        with pytest.raises(FileTransferError, match=r"resolves to .*link-local"):
            policy.check("files.example", bad)


def test_allowed_result_hosts_narrow_by_name_or_network_and_widen_explicitly() -> None:
    policy = LinkPolicy.from_entries(["*.amazonaws.com", "files.example.com", "10.0.0.0/8", "169.254.170.2"])
    policy.check("pdf-temp-files.s3.us-west-2.amazonaws.com", ["52.218.1.1"])
    policy.check("FILES.example.com.", ["93.184.216.34"])
    policy.check("storage.internal", ["10.9.8.7"])  # allowed by its addresses
    policy.check("169.254.170.2", None)  # a blocked address, listed on purpose
    for host, addresses in (("amazonaws.com", ["52.1.1.1"]), ("127.0.0.1", None), ("storage.internal", None)):
        with pytest.raises(FileTransferError, match="not in allowed_result_hosts"):
            policy.check(host, addresses)
    with pytest.raises(FileTransferError, match="link-local"):  # a listed name still may not resolve there
        policy.check("x.s3.amazonaws.com", ["169.254.169.254"])
    policy.check("storage.internal", None, final=False)  # undecided until its addresses are known
    LinkPolicy.from_entries(["metadata.google.internal"]).check("metadata.google.internal", None)  # named: allowed
    with pytest.raises(ValueError, match="not a host name"):
        LinkPolicy.from_entries(["https://x.example/path"])
    with pytest.raises(ValueError, match="not an IP network"):
        LinkPolicy.from_entries(["10.0.0.0/33"])


# --- the guarded backend: resolve, check, connect to the checked address ------------------------------------------


class Recorder(httpcore.AsyncNetworkBackend):
    """An inner backend that records and never connects."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def connect_tcp(self, host: str, port: int, **kwargs: Any) -> httpcore.AsyncNetworkStream:  # type: ignore[override]
        self.hosts.append(host)
        raise httpcore.ConnectError("recorded, not connected")


async def test_the_backend_checks_before_connecting_and_connects_to_a_checked_address() -> None:
    inner = Recorder()
    dns = FakeDns({"rebind.example": ["93.184.216.34", "169.254.169.254"], "ok.example": ["192.0.2.7", "192.0.2.8"]})
    backend = GuardedBackend(LinkPolicy(), resolve=dns, inner=inner)
    with pytest.raises(FileTransferError, match=r"169\.254\.169\.254"):
        await backend.connect_tcp("rebind.example", 443)
    with pytest.raises(FileTransferError, match="metadata service"):
        await backend.connect_tcp("metadata.google.internal", 80)
    with pytest.raises(FileTransferError):
        await backend.connect_tcp("169.254.169.254", 80)
    assert inner.hosts == [] and dns.asked == ["rebind.example"]  # names refused before any lookup
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("ok.example", 443)
    assert inner.hosts == ["192.0.2.7", "192.0.2.8"]  # the checked addresses, never the name again
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await backend.connect_tcp("nowhere.example", 443)


async def test_a_link_that_resolves_to_metadata_is_refused_without_a_connection(
    connections: Connections, dns: FakeDns, tmp_path: Path
) -> None:
    dns.table["results.example"] = ["169.254.169.254"]
    url = "https://results.example/job/result.pdf?X-Amz-Expires=3600&X-Amz-Signature=s3cr3t"
    with pytest.raises(FileTransferError) as info:
        await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    assert "169.254.169.254" in str(info.value) and "s3cr3t" not in str(info.value)
    assert info.value.url == "" and connections.hosts == [] and dns.asked == ["results.example"]
    assert only_files(tmp_path / "out") == []
    with pytest.raises(FileTransferError):
        await afetch_result_text("http://[fd00:ec2::254]/latest/api/token", retry_policy=FAST)
    assert connections.hosts == []


async def test_redirects_are_checked_and_capped(
    emu: PdfcoEmulator, connections: Connections, dns: FakeDns, tmp_path: Path
) -> None:
    url = await uploaded(emu, tmp_path)
    connections.hosts.clear()  # the upload's own connections
    for target in ("http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/"):
        emu.inject("/pdf-temp-files", status=302, headers={"Location": target})
        with pytest.raises(FileTransferError, match="no connection was made"):
            await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    # Only loopback, if anything: the upload's connection may serve the downloads (one pool per process and loop).
    assert set(connections.hosts) <= {"127.0.0.1"} and dns.asked.count("metadata.google.internal") == 0

    before = emu.stats()["result_link_requests"]
    emu.inject("/pdf-temp-files", status=302, headers={"Location": url}, times=MAX_REDIRECTS + 5)
    with pytest.raises(FileTransferError, match=f"more than {MAX_REDIRECTS} times"):
        await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    assert emu.stats()["result_link_requests"] - before == MAX_REDIRECTS + 1  # not retried
    assert only_files(tmp_path / "out") == []

    emu.reset_faults()
    emu.inject("/pdf-temp-files", status=302, headers={"Location": url})  # one redirect, as S3 may do
    landed = await adownload_result(url, tmp_path / "out", retry_policy=FAST)
    assert Path(landed.path).read_bytes() == b"%PDF-1.4 result"


async def test_the_block_option_narrows_and_widens(
    emu: PdfcoEmulator, connections: Connections, dns: FakeDns, tmp_path: Path
) -> None:
    url = await uploaded(emu, tmp_path)
    connections.hosts.clear()  # the upload's own connections
    narrow = PdfcoCredentials(api_key="k", allowed_result_hosts=["*.amazonaws.com"])
    before = emu.stats()["result_link_requests"]
    with pytest.raises(FileTransferError, match="not in allowed_result_hosts"):
        await adownload_result(url, tmp_path / "out", retry_policy=FAST, credentials=narrow)
    assert emu.stats()["result_link_requests"] == before and connections.hosts == []

    mine = PdfcoCredentials(api_key="k", allowed_result_hosts=["localhost"])
    landed = await adownload_result(url, tmp_path / "out", retry_policy=FAST, credentials=mine)
    assert Path(landed.path).read_bytes() == b"%PDF-1.4 result"

    dns.table["appliance.local"] = ["169.254.10.20"]
    wide = PdfcoCredentials(api_key="k", allowed_result_hosts=["169.254.10.0/24"])
    with pytest.raises(PdfcoConnectionError):  # allowed: the recorder was asked (and did not connect)
        await adownload_result("http://appliance.local/r.pdf", tmp_path / "out", retry_policy=FAST, credentials=wide)
    assert "169.254.10.20" in connections.hosts
    with pytest.raises(ValidationError):
        PdfcoCredentials(api_key="k", allowed_result_hosts=["not a host"])


async def test_behind_an_environment_proxy_names_and_literals_are_still_checked(
    monkeypatch: pytest.MonkeyPatch, connections: Connections, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _netguard.env_proxy_configured()
    client = await link_client()
    for url in ("http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/x"):
        with pytest.raises(FileTransferError, match="no connection was made"):
            await client.get(url)
    assert connections.hosts == []


async def test_an_own_client_gets_the_link_checked_before_any_request(tmp_path: Path) -> None:
    host = Host(whole(b"never"))
    async with host.client() as http:
        with pytest.raises(FileTransferError, match=r"169\.254\.169\.254"):
            await adownload_result("http://169.254.169.254/latest/meta-data/x", tmp_path, http=http)
    assert host.requests == []


async def test_connection_errors_on_links_name_the_result_storage_host(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PdfcoConnectionError) as info:
        await adownload_result(f"http://127.0.0.1:{port}/job/r.pdf?X-Amz-Signature=s3cr3t", tmp_path, retry_policy=FAST)
    message = str(info.value)
    assert "127.0.0.1" in message and "result storage" in message
    assert "PDF.co" not in message and "s3cr3t" not in message


# --- the key only over TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8765", "http://127.9.9.9", "http://localhost:1", "http://[::1]:2", "https://x.io"]
)
def test_plain_http_base_urls_are_accepted_only_on_loopback(base_url: str) -> None:
    assert PdfcoCredentials(api_key="k", base_url=base_url).base_url == base_url


@pytest.mark.parametrize(
    "base_url",
    ["http://api.pdf.co", "http://10.0.0.5:8080", "http://localhost.evil.example", "http://169.254.169.254", "ftp://x"],
)
def test_plain_http_to_anything_else_is_refused(base_url: str) -> None:
    with pytest.raises(ValidationError, match="https://"):
        PdfcoCredentials(api_key="k", base_url=base_url)
