"""File names from links and from callers: sanitised, capped, and always inside the destination."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prefect_pdfco.files import adownload_result
from prefect_pdfco.files.names import (
    DEFAULT_FILENAME,
    MAX_FILENAME_BYTES,
    content_type_for,
    dedupe_name,
    filename_from_url,
    path_inside,
    sanitize_filename,
)

from .test_files import FAST, only_files
from .test_files_errors import HOST, SIGNED, Host, whole


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b", "a_b"),
        ("a\\b.pdf", "a_b.pdf"),
        ("/etc/passwd", "_etc_passwd"),
        ("..", DEFAULT_FILENAME),
        (".", DEFAULT_FILENAME),
        ("", DEFAULT_FILENAME),
        (None, DEFAULT_FILENAME),
        ("\x00", DEFAULT_FILENAME),
        ("///", DEFAULT_FILENAME),
        ("bad\x00na\nme\x1b.pdf", "badname.pdf"),
        (".bashrc", "bashrc"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("trailing.pdf. ", "trailing.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),  # right-to-left override dropped
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Cafe\u0301.pdf", "Café.pdf"),  # NFC
    ],
)
def test_sanitize_filename(given: str | None, expected: str) -> None:
    assert sanitize_filename(given) == expected


def test_long_names_are_capped_in_bytes_keeping_the_extension() -> None:
    name = sanitize_filename("x" * 1000 + ".pdf")
    assert name.endswith("xxx.pdf") and len(name.encode()) <= MAX_FILENAME_BYTES
    wide = sanitize_filename("é" * 300 + ".json")
    assert wide.endswith(".json") and len(wide.encode()) <= MAX_FILENAME_BYTES
    wide.encode().decode()  # no character cut in half
    odd = sanitize_filename("y" * 300 + "." + "z" * 40)  # an "extension" too long to be one
    assert len(odd.encode()) <= MAX_FILENAME_BYTES and odd.startswith("yyy")


def test_fallback_names_are_sanitised_too() -> None:
    assert sanitize_filename("..", fallback="../part.pdf") == "_part.pdf"
    assert sanitize_filename("", fallback="") == DEFAULT_FILENAME


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{HOST}/job/result.pdf{SIGNED}", "result.pdf"),
        (f"{HOST}/job/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd{SIGNED}", "_.._etc_passwd"),
        (f"{HOST}/job/a%2Fb.pdf", "a_b.pdf"),
        (f"{HOST}/job/a%5Cb.pdf", "a_b.pdf"),
        (f"{HOST}/job/%00.pdf", "pdf"),
        (f"{HOST}/job/..", DEFAULT_FILENAME),
        (f"{HOST}/job/", DEFAULT_FILENAME),
        (HOST, DEFAULT_FILENAME),
        (f"{HOST}/job/My%20Report%20%28final%29.pdf", "My Report (final).pdf"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_filename_from_url_uses_the_last_segment_and_never_the_query(url: str, expected: str) -> None:
    assert filename_from_url(url) == expected


def test_dedupe_and_containment() -> None:
    taken: set[str] = set()
    assert [dedupe_name(n, taken) for n in ("a.pdf", "a.pdf", "A.PDF", "a-2.pdf", "b")] == [
        "a.pdf",
        "a-2.pdf",
        "A-3.PDF",
        "a-2-2.pdf",
        "b",
    ]
    base = Path("/srv/out")
    assert path_inside(base, "x.pdf") == Path("/srv/out/x.pdf")
    for bad in ("..", ".", "", "../x", "a/b", "/etc/passwd"):
        with pytest.raises(ValueError, match="outside"):
            path_inside(base, bad)


def test_upload_content_types_follow_the_docs_table() -> None:
    assert content_type_for("a.PDF") == "application/pdf"
    assert [content_type_for(f"x.{ext}") for ext in ("txt", "csv", "xml", "json")] == ["text/plain"] * 4
    assert content_type_for("x.doc") == "application/msword"
    assert content_type_for("x.eml") == content_type_for("x.msg") == "application/vnd.ms-outlook"
    assert content_type_for("x.docx") == content_type_for("noext") == "application/octet-stream"


@pytest.mark.parametrize(
    "path",
    [
        "/job/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/job/..%2F..%2Fescape.pdf",
        "/job/%2E%2E",
        "/job/%00",
        "/job/" + "n" * 2000 + ".pdf",
        "/job/.%2E%5C..%5Cwin.ini",
    ],
)
async def test_hostile_names_in_links_land_inside_the_destination(tmp_path: Path, path: str) -> None:
    destination = tmp_path / "inner"
    host = Host(whole(b"payload"))
    async with host.client() as http:
        landed = await adownload_result(f"{HOST}{path}{SIGNED}", destination, http=http, retry_policy=FAST)
    target = Path(landed.path)
    assert target.parent == destination and target.read_bytes() == b"payload"
    assert not target.name.startswith(".") and len(target.name.encode()) <= MAX_FILENAME_BYTES
    assert only_files(tmp_path) == ["inner"] and only_files(destination) == [target.name]
    assert os.path.realpath(target).startswith(os.path.realpath(destination) + os.sep)
