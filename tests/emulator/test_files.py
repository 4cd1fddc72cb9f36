"""Uploads and the S3-like links over real HTTP: presigned PUT, base64, multipart, expiry, Range, keys."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from pdfco_emulator import PdfcoEmulator, make_sample_pdf

EMULATOR_OPTIONS = {"link_ttl": 60}


def upload(api: httpx.Client, content: bytes, name: str = "in.pdf", **extra: object) -> dict[str, Any]:
    answer = api.post(
        "/v1/file/upload/base64", json={"file": base64.b64encode(content).decode(), "name": name, **extra}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_presigned_upload_flow(api: httpx.Client, emu: PdfcoEmulator) -> None:
    pdf = make_sample_pdf(2)
    before = emu.stats()
    slot = api.get("/v1/file/upload/get-presigned-url", params={"name": "doc.pdf", "contenttype": "application/pdf"})
    body = slot.json()
    assert body["error"] is False and body["status"] == 200 and body["name"] == "doc.pdf"
    assert list(body) == [
        "presignedUrl",
        "url",
        "outputLinkValidTill",
        "error",
        "status",
        "name",
        "credits",
        "remainingCredits",
        "duration",
    ]
    assert parse_qs(urlsplit(body["presignedUrl"]).query)["X-Amz-Expires"] == ["900"]
    assert httpx.get(body["url"]).status_code == 404  # not there before the PUT
    wrong = httpx.put(body["presignedUrl"], content=pdf, headers={"content-type": "application/octet-stream"})
    assert wrong.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in wrong.text
    put = httpx.put(body["presignedUrl"], content=pdf, headers={"content-type": "application/pdf"})
    assert put.status_code == 200 and put.headers["etag"] == f'"{hashlib.md5(pdf).hexdigest()}"'
    got = httpx.get(body["url"])
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert api.post("/v1/pdf/info", json={"url": body["url"]}).json()["info"]["PageCount"] == 2
    after = emu.stats()
    assert after["uploads"] == before["uploads"] + 1
    assert after["presigned_put_requests"] == before["presigned_put_requests"] + 2


def test_presigned_default_content_type_and_expiry(api: httpx.Client, emu: PdfcoEmulator) -> None:
    body = api.get("/v1/file/upload/get-presigned-url", params={"name": "a.bin"}).json()
    emu.advance_clock(901)  # presigned PUT URLs live 900 s
    late = httpx.put(body["presignedUrl"], content=b"x", headers={"content-type": "application/octet-stream"})
    assert late.status_code == 403 and "Request has expired" in late.text
    body = api.get("/v1/file/upload/get-presigned-url", params={"name": "a.bin"}).json()
    ok = httpx.put(body["presignedUrl"], content=b"abc", headers={"content-type": "application/octet-stream"})
    assert ok.status_code == 200 and httpx.get(body["url"]).content == b"abc"


def test_base64_upload_plain_and_data_uri(api: httpx.Client) -> None:
    plain = upload(api, b"hello", name="hello.txt")
    assert plain["error"] is False and plain["name"] == "hello.txt" and "remainingCredits" in plain
    assert httpx.get(plain["url"]).text == "hello"
    uri = "data:application/pdf;base64," + base64.b64encode(make_sample_pdf(1)).decode()
    body = api.post("/v1/file/upload/base64", json={"file": uri, "name": "x.pdf"}).json()
    assert httpx.get(body["url"]).headers["content-type"] == "application/pdf"
    bad = api.post("/v1/file/upload/base64", json={"file": "***not base64***"})
    assert bad.status_code == 400 and bad.json()["error"] is True


def test_upload_from_url_multipart_hash_and_delete(api: httpx.Client, emu: PdfcoEmulator) -> None:
    # A loopback URL that is not one of the emulator's files is fetched over HTTP.
    copied = api.post("/v1/file/upload/url", json={"url": f"{emu.base_url}/__emulator__/stats", "name": "s.json"})
    assert copied.status_code == 200, copied.text
    assert "requests" in httpx.get(copied.json()["url"]).json()
    outside = api.get("/v1/file/upload/url", params={"url": "https://example.com/x.pdf"})
    assert outside.status_code == 400 and "loopback" in outside.json()["message"]
    emu.add_remote_file("https://example.com/x.pdf", b"remote bytes")
    mapped = api.get("/v1/file/upload/url", params={"url": "https://example.com/x.pdf"}).json()
    assert mapped["name"] == "x.pdf" and httpx.get(mapped["url"]).content == b"remote bytes"
    multipart = api.post("/v1/file/upload", files={"file": ("m.pdf", make_sample_pdf(1), "application/pdf")})
    assert multipart.status_code == 200 and multipart.json()["name"] == "m.pdf" and multipart.json()["status"] == 200
    url = multipart.json()["url"]
    digest = api.post("/v1/file/hash", json={"url": url}).json()["hash"]
    assert digest == hashlib.md5(make_sample_pdf(1)).hexdigest()
    deleted = api.post("/v1/file/delete", json={"url": url})
    assert deleted.status_code == 200 and deleted.json()["error"] is False
    assert httpx.get(url).status_code == 404
    foreign = api.post("/v1/file/delete", json={"url": "https://example.com/x.pdf"})
    assert foreign.status_code == 400


def test_links_expire_with_s3_access_denied(api: httpx.Client, emu: PdfcoEmulator) -> None:
    short = upload(api, b"data", name="d.txt")
    long = upload(api, b"data", name="d.txt", expiration=120)  # minutes, overrides link_ttl
    assert parse_qs(urlsplit(long["url"]).query)["X-Amz-Expires"] == ["7200"]
    emu.advance_clock(61)
    expired = httpx.get(short["url"])
    assert expired.status_code == 403 and expired.headers["content-type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    assert httpx.get(long["url"]).status_code == 200
    # An expired link given as an input is the input's problem: a 400 naming the 403.
    answer = api.post("/v1/pdf/info", json={"url": short["url"]})
    assert answer.status_code == 400 and "403" in answer.json()["message"]


def test_tampered_or_unsigned_links_are_refused(api: httpx.Client) -> None:
    url = upload(api, b"data")["url"]
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=99999")
    assert tampered != url
    answer = httpx.get(tampered)
    assert answer.status_code == 403 and "SignatureDoesNotMatch" in answer.text
    assert httpx.get(url.split("?", 1)[0]).status_code == 403


def test_range_requests(api: httpx.Client) -> None:
    content = bytes(range(256)) * 4
    url = upload(api, content, name="b.bin")["url"]
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(content)}" and part.headers["content-length"] == "10"
    tail = httpx.get(url, headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206 and tail.content == content[1000:]
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == content[-5:]
    beyond = httpx.get(url, headers={"Range": "bytes=5000-"})
    assert beyond.status_code == 416 and "InvalidRange" in beyond.text
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(len(content))
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(content)) and not head.content


def test_links_live_on_another_host_and_key_use_is_counted(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, b"data")["url"]
    assert urlsplit(url).hostname == "localhost" and urlsplit(emu.base_url).hostname == "127.0.0.1"
    before = emu.stats()
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"x-api-key": emu.api_key}).status_code == 200  # readable, but a leak
    after = emu.stats()
    assert after["result_link_requests"] == before["result_link_requests"] + 2
    assert after["result_link_requests_with_api_key"] == before["result_link_requests_with_api_key"] + 1
    assert "/pdf-temp-files" not in str(after["requests"])


def test_link_host_option() -> None:
    with PdfcoEmulator(link_host="127.0.0.1") as emu:
        answer = httpx.post(
            f"{emu.base_url}/v1/file/upload/base64",
            json={"file": base64.b64encode(b"x").decode()},
            headers={"x-api-key": emu.api_key},
        )
        assert answer.json()["url"].startswith(f"{emu.base_url}/pdf-temp-files/")
        assert emu.link_base_url == emu.base_url


def test_odd_file_names_round_trip(api: httpx.Client) -> None:
    for name in ("my file é%41 #1?.pdf", "a+b.txt", "dir\\name.pdf"):
        body = upload(api, b"hi", name=name)
        assert body["name"] == name.rsplit("\\", 1)[-1]
        assert httpx.get(body["url"]).text == "hi"
