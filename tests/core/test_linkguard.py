"""Result links lead only where results live, the link client never carries the key, and logs never show a signature.

Nothing here opens a connection: names resolve through a fake resolver, and connections go to a fake network that
records every address it was asked for and answers with canned HTTP bytes.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import httpcore
import httpx
import pytest

from prefect_pdfco._exceptions import FileTransferError, InvalidParametersError
from prefect_pdfco._linkguard import (
    MAX_REDIRECTS,
    READ_SIZE,
    GuardedBackend,
    LinkPolicy,
    new_link_client,
    ssl_context,
)

METADATA_FORMS = [
    "169.254.169.254",
    "169.254.170.2",
    "2852039166",  # 169.254.169.254 as one decimal number
    "0xa9fea9fe",
    "169.254.43518",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::a9fe:a9fe]",  # NAT64
    "[::a9fe:a9fe]",  # IPv4-compatible
    "[fd00:ec2::254]",
    "[fe80::1]",
    "100.100.100.200",
    "metadata.google.internal",
    "METADATA.GOOGLE.INTERNAL.",
    "metadata.goog",
]
SIGNED = "?X-Amz-Expires=3600&X-Amz-Signature=s3cr3t"


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


class FakeStream(httpcore.AsyncNetworkStream):
    """A connection that answers ``answer`` to whatever is sent, recording the sizes httpcore reads."""

    def __init__(self, answer: bytes) -> None:
        self.answer, self.sent, self.asked = answer, b"", list[int]()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        data, self.answer = self.answer[:max_bytes], self.answer[max_bytes:]
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer

    async def aclose(self) -> None:
        return None

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class FakeNetwork(httpcore.AsyncNetworkBackend):
    """Connections by address: canned answers for some, ``ConnectError`` for the rest; every attempt is recorded."""

    def __init__(self, answers: dict[str, bytes] | None = None) -> None:
        self.answers = answers or {}
        self.connected: list[str] = []
        self.streams: list[FakeStream] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        if host not in self.answers:
            raise httpcore.ConnectError(f"test network: nothing at {host}")
        self.streams.append(FakeStream(self.answers[host]))
        return self.streams[-1]


def http_answer(status: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def check_url(policy: LinkPolicy, url: str) -> None:
    policy.check(httpx.URL(url).host, None, url=url)


# --- the policy -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", METADATA_FORMS)
def test_every_form_of_a_metadata_address_is_refused_by_default(host: str) -> None:
    with pytest.raises(FileTransferError, match="no connection was made") as info:
        check_url(LinkPolicy(), f"http://{host}/latest/meta-data/iam{SIGNED}")
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "localhost", "pdf-temp-files.s3.us-west-2.amazonaws.com", "10.1.2.3", "8.8.8.8"]
)
def test_loopback_private_and_public_hosts_stay_allowed(host: str) -> None:
    check_url(LinkPolicy(), f"https://{host}/job/result.pdf")


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
    LinkPolicy.from_entries(["*"]).check("anything.example", ["93.184.216.34"])
    LinkPolicy.from_entries(["*"]).check("10.1.2.3", None)  # "*" allows literal addresses too, but no blocked one:
    with pytest.raises(FileTransferError, match="link-local"):
        LinkPolicy.from_entries(["*"]).check("[::ffff:169.254.169.254]", None)
    assert LinkPolicy.from_entries(["Files.Example.com."]) == LinkPolicy.from_entries(["files.example.com"])
    for entry, problem in (("https://x.example/path", "not a host name"), ("10.0.0.0/33", "not an IP network")):
        with pytest.raises(InvalidParametersError, match=problem) as info:
            LinkPolicy.from_entries([entry])
        assert isinstance(info.value, ValueError) and "allowed_result_hosts" in str(info.value)


# --- the guarded backend: resolve, check, connect to a checked address --------------------------------------------


async def test_the_backend_checks_before_connecting_and_connects_only_to_checked_addresses() -> None:
    network = FakeNetwork()
    dns = FakeDns({"rebind.example": ["93.184.216.34", "169.254.169.254"], "ok.example": ["192.0.2.7", "192.0.2.8"]})
    backend = GuardedBackend(LinkPolicy(), resolver=dns, inner=network)
    with pytest.raises(FileTransferError, match=r"resolves to 169\.254\.169\.254"):
        await backend.connect_tcp("rebind.example", 443)
    for refused in ("metadata.google.internal", "169.254.169.254", "::ffff:169.254.169.254"):
        with pytest.raises(FileTransferError):
            await backend.connect_tcp(refused, 80)
    assert network.connected == [] and dns.asked == ["rebind.example"]  # names and literals refused before a lookup
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("ok.example", 443)
    assert network.connected == ["192.0.2.7", "192.0.2.8"]  # the checked addresses in order, never the name again
    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await backend.connect_tcp("nowhere.example", 443)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("2130706433", 80)  # 127.0.0.1 written as one number: connects as 127.0.0.1
    assert network.connected[-1] == "127.0.0.1"


async def test_reads_are_wide_whatever_httpcore_asks() -> None:
    network = FakeNetwork({"192.0.2.7": b"x" * (READ_SIZE * 2)})
    backend = GuardedBackend(LinkPolicy(), resolver=FakeDns({"ok.example": ["192.0.2.7"]}), inner=network)
    stream = await backend.connect_tcp("ok.example", 443)
    assert len(await stream.read(65536)) == READ_SIZE
    tls = await stream.start_tls(ssl_context(), "ok.example")
    await tls.read(1024)
    assert network.streams[0].asked == [READ_SIZE, READ_SIZE]


async def test_a_redirect_to_an_address_that_resolves_to_metadata_connects_nowhere_new() -> None:
    network = FakeNetwork({"93.184.216.34": http_answer("302 Found", "Location: http://rebind.example/latest")})
    dns = FakeDns({"files.example": ["93.184.216.34"], "rebind.example": ["93.184.216.34", "169.254.169.254"]})
    async with new_link_client(resolver=dns, backend=network) as http:
        with pytest.raises(FileTransferError, match=r"169\.254\.169\.254") as info:
            await http.get(f"http://files.example/job/result.pdf{SIGNED}")
    assert network.connected == ["93.184.216.34"] and dns.asked == ["files.example", "rebind.example"]
    assert "s3cr3t" not in str(info.value)


async def test_the_guarded_client_fetches_through_the_checked_address_without_the_key() -> None:
    network = FakeNetwork({"192.0.2.7": http_answer("200 OK", body=b"%PDF-1.4")})
    async with new_link_client(resolver=FakeDns({"files.example": ["192.0.2.7"]}), backend=network) as http:
        answer = await http.get(f"http://files.example/r.pdf{SIGNED}", headers={"x-api-key": "secret"})
    assert answer.content == b"%PDF-1.4" and network.connected == ["192.0.2.7"]
    sent = network.streams[0].sent.lower()
    assert b"host: files.example" in sent and b"x-api-key" not in sent and b"secret" not in sent


async def test_a_narrow_policy_refuses_other_hosts_before_any_lookup() -> None:
    network, dns = FakeNetwork(), FakeDns({"files.example": ["192.0.2.7"]})
    policy = LinkPolicy.from_entries(["*.amazonaws.com"])
    async with new_link_client(policy, resolver=dns, backend=network) as http:
        with pytest.raises(FileTransferError, match="not in allowed_result_hosts"):
            await http.get("http://files.example/r.pdf")
    assert dns.asked == [] and network.connected == []


# --- the client over any transport: names and literals checked, redirects capped, no key --------------------------


async def test_with_a_transport_every_hop_is_checked_by_name_and_literal_and_redirects_are_capped() -> None:
    seen: list[httpx.Request] = []

    def host(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/loop":
            return httpx.Response(302, headers={"Location": "https://files.example/loop"})
        return httpx.Response(302, headers={"Location": "http://[::ffff:169.254.169.254]/latest/meta-data/"})

    async with new_link_client(transport=httpx.MockTransport(host)) as http:
        with pytest.raises(FileTransferError, match="no connection was made"):
            await http.get("https://files.example/r.pdf", headers={"X-API-Key": "secret"})
        assert len(seen) == 1 and "x-api-key" not in seen[0].headers
        with pytest.raises(httpx.TooManyRedirects):
            await http.get("https://files.example/loop")
    assert len(seen) == 1 + MAX_REDIRECTS + 1


async def test_behind_an_environment_proxy_names_and_literals_are_still_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with new_link_client() as http:
        for url in ("http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/x"):
            with pytest.raises(FileTransferError, match="no connection was made"):
                await http.get(url)


def test_one_tls_context_per_process_under_every_guarded_client() -> None:
    first, second = new_link_client(), new_link_client()
    # httpx keeps the pool in _pool; if that ever changes, the guard is off: this test says so first.
    pools = [client._transport._pool for client in (first, second)]  # type: ignore[attr-defined]
    assert all(isinstance(pool, httpcore.AsyncConnectionPool) for pool in pools)
    assert pools[0]._ssl_context is pools[1]._ssl_context is ssl_context()
    assert all(isinstance(pool._network_backend, GuardedBackend) for pool in pools)


# --- httpx's own log lines ---------------------------------------------------------------------------------------


async def test_httpx_info_lines_show_host_and_path_never_the_signature(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
    async with httpx.AsyncClient(transport=transport) as http:  # any client: the filter is on httpx's logger
        await http.get(f"https://pdf-temp-files.s3.amazonaws.com/job/r.pdf{SIGNED}")
    assert "pdf-temp-files.s3.amazonaws.com/job/r.pdf" in caplog.text and "HTTP Request" in caplog.text
    assert "s3cr3t" not in caplog.text and "X-Amz" not in caplog.text
    logging.getLogger("httpx").info("preformatted https://h.example/p?token=abc")
    assert "token=abc" not in caplog.text and "https://h.example/p" in caplog.text
