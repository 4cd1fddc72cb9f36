"""Files: upload local files for PDF.co, and download its results (streamed, atomic, resumable, guarded).

- ``tasks``: the public tasks and their ``a``-prefixed coroutines;
- ``download``, ``expiry``, ``links``: streaming GETs of result links, their expiry, multi-file results;
- ``upload``: presigned uploads; ``storage``, ``names``, ``tempfiles``: where results land, safely;
"""

from __future__ import annotations

from prefect_pdfco.files.tasks import (
    MAX_FETCH_BYTES,
    MAX_UPLOAD_BYTES,
    DownloadedFile,
    ResultRef,
    adownload_result,
    adownload_result_files,
    afetch_result_json,
    afetch_result_text,
    aupload_file,
    download_result,
    download_result_files,
    fetch_result_json,
    fetch_result_text,
    upload_file,
)

__all__ = [
    "MAX_FETCH_BYTES",
    "MAX_UPLOAD_BYTES",
    "DownloadedFile",
    "ResultRef",
    "adownload_result",
    "adownload_result_files",
    "afetch_result_json",
    "afetch_result_text",
    "aupload_file",
    "download_result",
    "download_result_files",
    "fetch_result_json",
    "fetch_result_text",
    "upload_file",
]
