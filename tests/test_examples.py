"""Every example flow in flows/ runs against the emulator and lands real files; each answers --help."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prefect.filesystems import LocalFileSystem
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)
from pypdf import PdfReader

from prefect_pdfco.testing import PdfcoEmulator, local_server_patience, make_sample_invoice_pdf, make_sample_pdf

FLOWS = Path(__file__).resolve().parents[1] / "flows"
EXAMPLES = sorted(path.stem for path in FLOWS.glob("*.py"))

pytestmark = pytest.mark.usefixtures("prefect_harness")


def load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", FLOWS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def emulator_in_env(monkeypatch: pytest.MonkeyPatch, job_duration: float) -> Iterator[PdfcoEmulator]:
    """The flows find no `pdfco` block here, so they take PDFCO_API_KEY (and PDFCO_BASE_URL): this emulator."""
    with PdfcoEmulator(job_duration=job_duration) as emu:
        monkeypatch.setenv("PDFCO_API_KEY", emu.api_key)
        monkeypatch.setenv("PDFCO_BASE_URL", emu.base_url)
        yield emu


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[PdfcoEmulator]:
    with emulator_in_env(monkeypatch, job_duration=0.2) as emu:
        yield emu


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_has_help_and_a_docstring(name: str) -> None:
    done = subprocess.run([sys.executable, str(FLOWS / f"{name}.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--serve" in done.stdout
    text = " ".join(done.stdout.split())
    assert "block `pdfco`" in text and "PDFCO_API_KEY" in text and "emulator" in text and "Needs " in text
    module_doc = load(name).__doc__ or ""
    assert "--serve" in module_doc and len((FLOWS / f"{name}.py").read_text().splitlines()) <= 100


def test_quickstart(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    landed = load("quickstart").quickstart(output=str(tmp_path))
    names = {item["name"]: item for item in landed}
    assert names["merged.pdf"]["pages"] == 2 and names["page-1.pdf"]["pages"] == 1
    assert len(PdfReader(tmp_path / "merged.pdf").pages) == 2
    assert "INV-1001" in (tmp_path / "merged.txt").read_text()
    assert emulator.stats()["jobs_submitted"] == 5


def test_batch_convert_keeps_successes_beside_failures(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.html").write_text("<h1>One</h1>")
    (docs / "two.htm").write_text("<h1>Two</h1>")
    (docs / "notes.txt").write_text("plain text notes")
    (docs / "table.csv").write_text("item,qty\nwidget,2\n")
    (docs / "sample.pdf").write_bytes(make_sample_pdf(1))
    (docs / "letter.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))  # Word 97-2003: not emulated
    result = load("batch_convert").batch_convert(source=str(docs), output=str(tmp_path / "out"))
    assert sorted(result["converted"]) == ["notes.txt", "one.html", "sample.pdf", "table.csv", "two.htm"]
    assert list(result["failed"]) == ["letter.doc"]
    assert "does not convert" in result["failed"]["letter.doc"] and "441" not in result["failed"]["letter.doc"]
    assert all(len(PdfReader(path).pages) == 1 for path in result["converted"].values())
    assert "plain text notes" in PdfReader(result["converted"]["notes.txt"]).pages[0].extract_text()


def test_invoice_to_json(emulator: PdfcoEmulator, tmp_path: Path) -> None:
    source = tmp_path / "invoices"
    source.mkdir()
    (source / "march.pdf").write_bytes(make_sample_invoice_pdf(invoice_number="INV-0303"))
    rows = load("invoice_to_json").invoice_to_json(source=str(source), output=str(tmp_path / "out"))
    assert rows == [
        {
            "file": "march.pdf",
            "invoice": "INV-0303",
            "date": "2025-01-05",
            "due": "2025-02-04",
            "vendor": "ACME Supplies Inc.",
            "total": "296.95",
            "currency": "USD",
            "line items": 3,
        }
    ]
    assert json.loads((tmp_path / "out" / "march.json").read_text())["invoice"]["invoiceNo"] == "INV-0303"


def test_protect_and_compress_into_a_storage_block(
    emulator: PdfcoEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalFileSystem(basepath=str(tmp_path / "archive")).save("pdfco-test-archive", overwrite=True)
    monkeypatch.setenv("PDFCO_PDF_PASSWORD", "open-sesame")
    landed = load("protect_and_compress").protect_and_compress(storage_block="local-file-system/pdfco-test-archive")
    reader = PdfReader(tmp_path / "archive" / landed["path"])
    assert reader.is_encrypted and reader.decrypt("open-sesame") and len(reader.pages) == 1
    monkeypatch.delenv("PDFCO_PDF_PASSWORD")
    with pytest.raises(ValueError, match="No password"):
        load("protect_and_compress").protect_and_compress()


def test_protect_and_compress_help_names_the_secret_it_needs() -> None:
    done = subprocess.run(
        [sys.executable, str(FLOWS / "protect_and_compress.py"), "--help"], capture_output=True, text=True
    )
    text = " ".join(done.stdout.split())
    assert "--password-secret" in text and "pdf-password" in text and "PDFCO_PDF_PASSWORD" in text


def test_batch_convert_with_nothing_to_do_says_so_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "documents"
    done = subprocess.run(
        [sys.executable, str(FLOWS / "batch_convert.py"), "--source", str(empty)], capture_output=True, text=True
    )
    assert done.returncode != 0 and "Nothing to convert" in done.stderr and str(empty) in done.stderr
    with pytest.raises(ValueError, match="Nothing to convert"):  # a served or deployed run fails the same way
        load("batch_convert").batch_convert(source=str(empty))


def test_local_server_patience_gives_a_first_start_time_unless_chosen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS}):
        with local_server_patience():
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 120
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 20
        assert "Starting Prefect's local server" in capsys.readouterr().out
        with temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 45}):
            with local_server_patience():  # chosen in a profile or setting: kept
                assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 45
            assert "up to 45 s" in capsys.readouterr().out
        monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "20")
        with local_server_patience():  # chosen in the environment, even at the default: kept
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 20
        assert "up to 20 s" in capsys.readouterr().out
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with local_server_patience():  # a running server: nothing to wait for, nothing said
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() != 120
        assert capsys.readouterr().out == ""
