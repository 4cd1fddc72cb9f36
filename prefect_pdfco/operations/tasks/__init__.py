"""Typed tasks for the PDF.co operations people use most.

Each takes the credentials block first, validates its keyword arguments (no request, no credits, when they
are wrong: ``InvalidParametersError``), submits one background job and returns its ``JobSubmission``. Like
``submit_job``, they are never retried by Prefect and a flow retried after a crash gets its job back instead
of paying again. Hand the ``job_id`` to ``wait_for_job`` (or ``check_job``) for the result. Every other
operation of ``prefect_pdfco.operations.OPERATIONS`` is reachable through ``submit_job``.

A task declares its arguments once: its inputs in its signature, its keyword options in one ``TypedDict``
(``**options: Unpack[...]``) that extends the shared groups of ``operations.options``; ``operation_task`` builds
the parameter model, the runtime signature and the full docstring from that (``operations.signature``).
"""

from __future__ import annotations

from prefect_pdfco.operations.models import FormFieldValue, ImageAnnotation, TextAnnotation
from prefect_pdfco.operations.tasks.barcodes import generate_barcode, read_barcodes
from prefect_pdfco.operations.tasks.convert import document_to_pdf, html_to_pdf, image_to_pdf, url_to_pdf
from prefect_pdfco.operations.tasks.edit import add_to_pdf, compress_pdf, make_searchable, replace_text
from prefect_pdfco.operations.tasks.extract import pdf_to_csv, pdf_to_html, pdf_to_json, pdf_to_text
from prefect_pdfco.operations.tasks.pages import delete_pages, merge_pdfs, rotate_pages, split_pdf
from prefect_pdfco.operations.tasks.parse import find_text, parse_document, parse_invoice, pdf_info
from prefect_pdfco.operations.tasks.security import add_password, remove_password

# One line per module, as imported above.
__all__ = ["FormFieldValue", "ImageAnnotation", "TextAnnotation"]
__all__ += ["generate_barcode", "read_barcodes"]
__all__ += ["document_to_pdf", "html_to_pdf", "image_to_pdf", "url_to_pdf"]
__all__ += ["add_to_pdf", "compress_pdf", "make_searchable", "replace_text"]
__all__ += ["pdf_to_csv", "pdf_to_html", "pdf_to_json", "pdf_to_text"]
__all__ += ["delete_pages", "merge_pdfs", "rotate_pages", "split_pdf"]
__all__ += ["find_text", "parse_document", "parse_invoice", "pdf_info"]
__all__ += ["add_password", "remove_password"]
