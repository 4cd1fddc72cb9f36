"""prefect-pdfco: Prefect 3 tasks, flows and a credentials block for the PDF.co REST API."""

from prefect_pdfco._version import __version__

__all__ = ["__version__"]
