"""PDF.co's official Python samples (``pdfdotco/pdf-co-api-samples``), unchanged but for the base URL and the key,
each run as a process of its own against the emulator, its output checked.

Set ``PDFCO_SAMPLES_DIR`` to a checkout of the samples (without it these tests are not collected: the samples are
PDF.co's code, never committed here, and CI has no network to fetch them). Every Python sample
found there must be listed here: in ``RUN`` with what proves it worked, or in ``NOT_RUN`` with why not. The links a
sample reads its input from (ByteScout's demo files, ``filetoken://`` links, a web page) are given content with
``add_remote_file``; a file a sample expects beside it and does not ship is given to it under that name.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from pdfco_emulator import PdfcoEmulator, make_sample_form_pdf, make_sample_invoice_pdf, make_sample_pdf
from tests.emulator._support import texts

ROOT = Path(os.environ.get("PDFCO_SAMPLES_DIR", "/nonexistent"))
pytestmark = pytest.mark.needs_env("PDFCO_SAMPLES_DIR")
KEY = "samples-key"
INVOICE = "PDF Text Search API/Python/PDF Text Search from Uploaded File/sample.pdf"  # ByteScout's demo invoice
F1040 = "topmostSubform[0].Page1[0]."
F1099 = "topmostSubform[0].CopyA[0]."
ENCRYPTED = "<an encrypted PDF>"
#: Built-In Files Storage links some samples read (the "Add Image to Existing PDF Asynchronously" one: its image).
FILETOKENS = {"filetoken://000bf19e383039b8a518fa5e5b386b56fd56da93619099f544": "png"}


@dataclass(frozen=True)
class Sample:
    """A sample to run: the words its output must show, files it expects and does not ship, the emulator's mode."""

    shows: tuple[str, ...]
    given: dict[str, str] = field(default_factory=dict)  # file name -> a key of _documents()
    lenient: bool = False  # it sends a name PDF.co does not document
    loops: bool = False  # it never stops after success: killed once its output shows what it should


def s(*shows: str, given: dict[str, str] | None = None, lenient: bool = False, loops: bool = False) -> Sample:
    return Sample(shows, given or {}, lenient, loops)


RUN: dict[str, Sample] = {
    "AI Invoice Parser/AI Invoice Parsing": s("INV-1001", "296.95"),
    "AI Invoice Parser/AI Invoice Parsing with Webhook": s("Webhook URL"),
    "AI Invoice Parser/Parse Invoice from Uploaded File Asynchronously": s(
        "'invoiceNo': '123456'", given={"sample.pdf": "invoice"}
    ),
    "Add Text And Images To PDF/Add Image by finding target coordinates": s("Your Company Name"),
    "Add Text And Images To PDF/Add Images to Existing PDF": s("Your Company Name"),
    "Add Text And Images To PDF/Add Text And Image To PDF": s("APPROVED"),
    "Add Text And Images To PDF/Add Text by finding target coordinates": s("Your Company Name"),
    "Add Text And Images To PDF/Add Text to Existing PDF": s("APPROVED"),
    "DOC To PDF API/Convert DOC To PDF From URL": s("Go ahead and get started."),
    "DOC To PDF API/Convert DOC To PDF From URL Asynchronously": s("Go ahead and get started."),
    "DOC To PDF API/Convert DOC To PDF From Uploaded File": s("Heading"),
    "File Calculate Hash": s('"hash"'),
    "File Upload/Generate Secure URL for Upload": s("presignedUrl"),
    "File Upload/Put Upload File/Get Uploaded File URL": s("pdf-temp-files"),
    "File Upload for Small Files (up to 50KB)/Upload Small File from Base64": s("pdf-temp-files"),
    "File Upload for Small Files (up to 50KB)/Upload Small File from Url": s("sample.pdf"),
    "Image To PDF API/Convert Images To PDF From URLs": s(),
    "Image To PDF API/Convert Images To PDF From URLs Asynchronously": s(),
    "Image To PDF API/Convert Images To PDF From Uploaded Files": s(),
    "Manage Background Jobs/Check Job Status": s('"status":"working"'),
    "PDF Delete Pages/Delete Pages From PDF": s('"pageCount":4'),
    "PDF Fill PDF Forms/Fill PDF Forms Simplified": s("f1_02[0]=John A. Doe", "c1_01[1]=Yes", "f1_04[0]=123456789"),
    "PDF Forms Info Reader/Read PDF Form Information": s("f1_02"),
    "PDF From CSV/Convert CSV To PDF From URL": s(),
    "PDF From CSV/Convert CSV To PDF From URL Asynchronously": s(),
    "PDF From CSV/Convert CSV To PDF From Uploaded File": s(),
    "PDF Information API/Get PDF Info From URL": s("PageCount"),
    "PDF Information API/Get PDF Info From Uploaded File": s("PageCount"),
    "PDF Make Searchable API/Advanced Conversation Options": s("Your Company Name"),
    "PDF Make Searchable API/Make Searchable PDF From URL": s("Your Company Name"),
    "PDF Make Searchable API/Make Searchable PDF From URL Asynchronously": s("Your Company Name"),
    "PDF Merging API/Merge Any Documents From Uploaded Files Asynchronously": s(),
    "PDF Merging API/Merge PDF Documents From Uploaded Files": s(),
    "PDF Merging API/Merge PDF Documents From Uploaded Files Asynchronously": s(),
    "PDF Optimization API/Advanced Optimize PDF From URL": s("Your Company Name"),
    "PDF Optimization API/Optimize PDF From URL": s("Your Company Name"),
    "PDF Optimization API/Optimize PDF From URL Asynchronously": s("Your Company Name"),
    "PDF Optimization API/Optimize PDF From Uploaded File": s(),
    "PDF Password And Security/Protect PDF Document": s(ENCRYPTED),
    "PDF Password And Security/Remove PDF Document Protection": s("Your Company Name"),
    "PDF Rotate Pages/Rotate PDF From URL": s("Page 5"),
    "PDF Rotate Pages/Rotate PDF From URL Asynchronously": s("Page 5"),
    "PDF Search Tables/PDF Get Search Table Data": s('"#text": "Quantity"'),
    "PDF Search Tables/PDF Table Search from Uploaded File": s("'PageIndex': 0"),
    "PDF Search Tables/PDF Table Search from Uploaded File Asynchronously": s("'PageIndex': 0", loops=True),
    "PDF Splitting API/Split PDF From Uploaded File": s(),
    "PDF Splitting API/Split PDF From Uploaded File Asynchronously": s(),
    "PDF Text Search API/PDF Text Search from Uploaded File": s("Found text 200.00"),
    "PDF Text Search API/PDF Text Search from Uploaded File Asynchronously": s("Found text 200.00", loops=True),
    "PDF To CSV API/Advanced Conversation Options": s("Item 1"),
    "PDF To CSV API/Advanced Conversion Options With Rotated Input": s("Item 1"),
    "PDF To CSV API/Convert PDF To CSV From Uploaded File": s("Item 1"),
    "PDF To CSV API/Convert PDF To CSV From Uploaded File Asynchronously": s("Item 1"),
    "PDF To HTML API/Convert PDF To HTML From Uploaded File": s("Item 1"),
    "PDF To HTML API/Convert PDF To HTML From Uploaded File Asynchronously": s("Item 1"),
    "PDF To JPG/Advanced Conversation Options": s(),
    "PDF To JPG/Convert PDF To Image From Uploaded File": s(),
    "PDF To JPG/Convert PDF To Image From Uploaded File Asynchronously": s(),
    "PDF To JPG/Convert PDF to Image From URL": s(),
    "PDF To JSON API/Advanced Conversion Options": s("Item 1"),
    "PDF To JSON API/Advanced Conversion Options With Rotated Input": s(),
    "PDF To JSON API/Convert PDF To JSON From Uploaded File": s("Item 1"),
    "PDF To JSON API/Convert PDF To JSON From Uploaded File Asynchronously": s("Item 1"),
    "PDF To JSON API/Extract Hyperlinks From Uploaded File Asynchronously": s(
        "Item 1", given={"Sample PDF File With HyperLinks.pdf": "invoice"}
    ),
    "PDF To PNG/Advanced Conversation Options": s(),
    "PDF To PNG/Convert PDF To Image From Uploaded File": s(),
    "PDF To PNG/Convert PDF To Image From Uploaded File Asynchronously": s(),
    "PDF To PNG/Convert PDF to Image From URL": s(),
    "PDF To TIFF/Convert PDF To Image From Uploaded File": s(),
    "PDF To TIFF/Convert PDF To Image From Uploaded File Asynchronously": s(),
    "PDF To TIFF/Convert PDF to Image From URL": s(),
    "PDF To Text API/Advanced Conversion Options": s("Item 1"),
    "PDF To Text API/Advanced Conversion Options With Rotated Input": s(),
    "PDF To Text API/Convert PDF To Text From Uploaded File": s("Item 1"),
    "PDF To Text API/Convert PDF To Text From Uploaded File Asynchronously": s("Item 1"),
    # The "advanced options" samples send `profile`, a name PDF.co documents nowhere: a strict emulator refuses it.
    "PDF To XML API/Advanced Conversion Options": s("Item 1", lenient=True),
    "PDF To XML API/Advanced Conversion Options With Rotated Input": s(lenient=True),
    "PDF To XML API/Convert PDF To XML From Uploaded File": s("Item 1"),
    "PDF To XML API/Convert PDF To XML From Uploaded File Asynchronously": s("Item 1"),
    "PDF from HTML/Generate PDF From HTML File": s(),
    "PDF from HTML/Generate PDF From Large HTML File": s(),
    "PDF from URL/Convert Web Page To PDF From Link": s("Wikipedia"),
    "PDF from URL/Convert Web Page To PDF From Link Asynchronously": s("Wikipedia"),
}

_NOT_SERVED = "an endpoint the emulator does not serve"
NOT_RUN: dict[str, str] = {
    "PDF Make Searchable API/Make Searchable PDF From Uploaded File": (
        "its document is a scan: making it searchable needs OCR, which the emulator does not have"
    ),
    "PDF To JPG/Convert Encoded PDF to Image From URL": (
        "user-controlled encryption (DataDecryption profiles) is not emulated"
    ),
    "PDF Information API/Get Info From Custom Encrypted PDF URL": (
        "user-controlled encryption (DataDecryption profiles) is not emulated"
    ),
    "DOC To PDF API/Convert Encrypted DOC To PDF From URL Asynchronously": (
        "user-controlled encryption (DataDecryption profiles) is not emulated"
    ),
    "PDF from HTML template/Generate PDF Invoice From HTML Template": (
        "HTML templates (templateId) of a PDF.co account are not emulated"
    ),
    "PDF from HTML template/Invoice With Multiple Pages": (
        "HTML templates (templateId) of a PDF.co account are not emulated"
    ),
    "Document Parser API/Parse From Uploaded File": "the sample does not compile (a // line)",
    "Document Parser API/Parse From Url": "the sample does not compile (a // line)",
    "Document Parser API/Parse PDF Invoice": (
        "its template uses .NET regular expressions and $$func macros, which the emulator's parser does not read"
    ),
    "Document Parser API/Parse From Uploaded File Asynchronously": (
        "it reads a document it does not ship (mathematica_expressions_sample.pdf) with rectangles fitted to it"
    ),
    "PDF Create Fillable PDF Forms/Fillable PDF Forms": (
        "it fails once PDF.co has answered: destinationFile is not defined"
    ),
    "PDF Fill PDF Forms/Fill PDF Forms": "it fails once PDF.co has answered: destinationFile is not defined",
    "File Delete": "it deletes a fixed link of PDF.co's own bucket, long expired, by a `file` name",
    "File Upload for Small Files (up to 50KB)/Upload Small File": ("it opens the placeholder path /path/to/file"),
    **{
        name: (
            "it reads an async edit/add result as JSON holding the PDF's link; PDF.co's other async samples read "
            "the output itself at the submit's url, as the emulator serves it"
        )
        for name in (
            "Add Text And Images To PDF/Add Image to Existing PDF Asynchronously",
            "Add Text And Images To PDF/Add Text and Image to Existing PDF Asynchronously",
            "PDF Fill PDF Forms/Fill PDF Forms Asynchronously",
        )
    },
    "Render Url As Jpg/Render Url As Jpg": "/v1/url/convert/to/jpg is in no PDF.co reference",
    "Render Url As Png/Render Url As Png": "/v1/url/convert/to/png is in no PDF.co reference",
}
_UNSERVED_TOPICS = (
    "Barcode Generator API",
    "Barcode Reader API",
    "Delete Text From PDF",
    "Email Extractor",
    "Email Send and Decode",
    "Excel To CSV API",
    "Excel To XML",
    "PDF Attachments",
    "PDF To XLSX",
    "Replace Text From PDF",
    "Replace Text With Image From PDF",
)
_UNSERVED_VARIANTS = (
    "Split PDF By",  # split2 (by text or barcode)
    "(AI Powered)",  # json-meta
    "Auto Rotate",  # edit/rotate/auto
    "and add barcode",  # barcode/generate
)


def _all_samples() -> dict[str, Path]:
    """Every Python sample by its folder without ``Python/`` (``"PDF To CSV API/Advanced Conversation Options"``)."""
    scripts = ROOT.glob("**/Python/**/*.py")
    return {str(path.parent.relative_to(ROOT)).replace("/Python", ""): path for path in scripts}


def _unserved(relative: str) -> bool:
    lowered = relative.lower()
    return relative.split("/", 1)[0] in _UNSERVED_TOPICS or any(part.lower() in lowered for part in _UNSERVED_VARIANTS)


def _multipage(first: bytes, pages: int) -> bytes:
    writer = PdfWriter()
    for document in (first, make_sample_pdf(pages)):
        writer.append(PdfReader(io.BytesIO(document)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _documents() -> dict[str, bytes]:
    invoice = (ROOT / INVOICE).read_bytes()
    protected = PdfWriter(clone_from=io.BytesIO(invoice))
    protected.encrypt(user_password="admin@123", owner_password="admin@123", algorithm="AES-128")
    locked = io.BytesIO()
    protected.write(locked)
    html = b"<html><head><title>Wikipedia</title></head><body><h1>Wikipedia</h1><p>The Free Encyclopedia</p></body>"
    f1040 = [f"{F1040}FilingStatus[0].c1_01[1]", f"{F1040}f1_02[0]", f"{F1040}f1_03[0]"]
    f1040 += [f"{F1040}YourSocial_ReadOrderControl[0].f1_0{n}[0]" for n in range(4, 8)]
    f1099 = [f"{F1099}CopyAHeader[0].c1_1[0]", *(f"{F1099}LeftColumn[0].f1_{n}[0]" for n in (2, 3, 5))]
    return {
        "invoice": invoice,
        "multipage": _multipage(invoice, 5),
        "protected": locked.getvalue(),
        "html": html,
        "ai-invoice": make_sample_invoice_pdf(),
        "f1040": make_sample_form_pdf([(name, False if ".c1_" in name else "") for name in f1040]),
        "f1099": make_sample_form_pdf([(name, "" if ".f1_" in name else False) for name in f1099]),
        "png": (ROOT / "Image To PDF API/Python/Convert Images To PDF From Uploaded Files/image1.png").read_bytes(),
        "jpg": (ROOT / "Image To PDF API/Python/Convert Images To PDF From Uploaded Files/image2.jpg").read_bytes(),
        "docx": (ROOT / "DOC To PDF API/Python/Convert DOC To PDF From Uploaded File/sample.docx").read_bytes(),
        "csv": (ROOT / "PDF From CSV/Python/Convert CSV To PDF From Uploaded File/sample.csv").read_bytes(),
    }


def _content_for(url: str) -> str:
    """Which document a sample's input link gets."""
    if url in FILETOKENS:
        return FILETOKENS[url]
    name = url.rsplit("/", 1)[-1].lower()
    for part, key in (("f1040", "f1040"), ("f1099", "f1099"), ("protectedpdffile", "protected")):
        if part in name:
            return key
    if "sample-invoice" in name:
        return "ai-invoice"
    if "/pdf-split/" in url or "/pdf-optimize/" in url:
        return "multipage"  # the samples rotate pages 0-2,4 and delete pages 1-2
    suffix = name.rsplit(".", 1)[-1]
    return {"png": "png", "jpg": "jpg", "docx": "docx", "csv": "csv"}.get(suffix, "invoice")


_LINK = re.compile(r"(?:https?://|filetoken://)[^\s\"'\\)]+|bytescout-com\.s3[^\s\"'\\)]+")


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[bool, PdfcoEmulator]]:
    with (
        PdfcoEmulator(api_key=KEY, job_duration=0) as strict,
        PdfcoEmulator(api_key=KEY, job_duration=0, strict=False) as lenient,
    ):
        documents = _documents()
        samples = _all_samples()
        links = {link for name in RUN for link in _LINK.findall(samples[name].read_text(errors="replace"))}
        for link in links - {url for url in links if "api.pdf.co" in url or "app.pdf.co" in url}:
            content = documents["html"] if "wikipedia" in link else documents[_content_for(link)]
            kind = "text/html" if "wikipedia" in link else None
            for emulator in (strict, lenient):
                emulator.add_remote_file(link, content, content_type=kind)
        yield {True: strict, False: lenient}


@pytest.fixture(scope="module")
def outcomes(emulators: dict[bool, PdfcoEmulator], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every sample of ``RUN``, run once (four at a time); by sample: its exit, output and new files."""
    documents, samples = _documents(), _all_samples()
    jobs, folders = [], {}
    for name, sample in RUN.items():
        source = samples[name]
        folder = tmp_path_factory.mktemp("sample")
        for item in source.parent.iterdir():
            if item.is_file():
                shutil.copy(item, folder / item.name)
                shutil.copy(item, folder / (".\\" + item.name))  # the samples open ".\\sample.pdf"
        for given, key in sample.given.items():
            (folder / given).write_bytes(documents[key])
            (folder / (".\\" + given)).write_bytes(documents[key])
        emulator = emulators[not sample.lenient]
        text = re.sub(r'API_KEY\s*=\s*"[^"]*"', f'API_KEY = "{KEY}"', source.read_text(errors="replace"), count=1)
        text = text.replace("{{x-api-key}}", KEY).replace("https://api.pdf.co", emulator.base_url)
        (folder / source.name).write_text(text)
        before = {path.name for path in folder.iterdir()}
        timeout = 2 if sample.loops else 30
        jobs.append({"cwd": str(folder), "script": source.name, "out": str(folder / "..output"), "timeout": timeout})
        folders[name] = (folder, before)
    runner = Path(__file__).with_name("_sample_runner.py")
    done = subprocess.run([sys.executable, str(runner)], input=json.dumps(jobs), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    codes = {item["cwd"]: item["code"] for item in json.loads(done.stdout)}
    results: dict[str, Any] = {}
    for name, (folder, before) in folders.items():
        created = sorted(path for path in folder.iterdir() if path.name not in before and path.name != "..output")
        results[name] = (codes[str(folder)], (folder / "..output").read_text(errors="replace"), created)
    return results


def _readable(path: Path) -> str:
    """A sample's output file, checked for its kind, as text to search."""
    data = path.read_bytes()
    assert data, f"{path.name} is empty"
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return ENCRYPTED
        fields = [
            f"{name}={field.get('/V', '')}".replace("=/", "=") for name, field in (reader.get_fields() or {}).items()
        ]
        return "\n".join([*texts(data), *fields])
    if suffix in (".png", ".jpg", ".jpeg", ".tiff", ".tif", ".webp"):
        Image.open(io.BytesIO(data)).verify()
        return ""
    text = data.decode("utf-8", errors="replace")
    if suffix == ".json":
        json.loads(text)
    return text


@pytest.mark.parametrize("name", sorted(RUN))
def test_sample_runs_unchanged(outcomes: dict[str, Any], name: str) -> None:
    code, output, created = outcomes[name]
    sample = RUN[name]
    assert code == (0 if not sample.loops else "timeout"), output
    assert "Traceback" not in output and "Request error" not in output, output
    found = output + "".join(_readable(path) for path in created)
    assert created or sample.shows, f"no output file and nothing to look for:\n{output}"
    for words in sample.shows:
        assert words in found, f"{words!r} not in the sample's output:\n{output}"


def test_every_sample_is_run_or_said_why_not() -> None:
    found = sorted(_all_samples())
    listed = set(RUN) | set(NOT_RUN)
    assert set(RUN).isdisjoint(NOT_RUN) and listed <= set(found)
    unaccounted = [name for name in found if name not in listed and not _unserved(name)]
    assert unaccounted == [], "classify these samples in RUN or NOT_RUN"
    assert not any(_unserved(name) for name in RUN)
    served = len(found) - sum(_unserved(name) for name in found)
    print(f"\nPDF.co Python samples: {len(found)}; for served endpoints {served}; run {len(RUN)}")
