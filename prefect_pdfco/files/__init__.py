"""Files: upload local files for PDF.co, and download its results (streamed, atomic, resumable, guarded).

- ``upload``: ``upload_file`` and ``aupload_file`` (presigned URL, streamed PUT);
- ``download``: ``download_result``, ``download_result_files``, ``fetch_result_text``, ``fetch_result_json``
  and their ``a``-prefixed coroutines; ``many``: ``download_results`` (a batch's files in one task run);
- below them: ``links`` (argument checks, a result's links), ``landing`` (one link into a destination),
  ``transfer`` (a streamed GET: retries, Range resume, S3's errors, optional digests), ``linkclient`` (the
  keyless client shared per process), ``expiry``, ``storage``, ``names`` and ``tempfiles`` (where files land,
  under safe names, never half-written).
"""

from __future__ import annotations

from prefect_pdfco.files import download, many, upload
from prefect_pdfco.files.download import *  # noqa: F403
from prefect_pdfco.files.many import *  # noqa: F403
from prefect_pdfco.files.upload import *  # noqa: F403

__all__: list[str] = []
__all__ += download.__all__
__all__ += many.__all__
__all__ += upload.__all__
