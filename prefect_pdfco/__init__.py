"""prefect-pdfco: Prefect 3 tasks, flows and a credentials block for the PDF.co REST API.

The public API is this module's ``__all__``; ``prefect_pdfco.flows`` (run_operation, run_batch),
``prefect_pdfco.callbacks`` (the receiver) and ``prefect_pdfco.testing`` (offline tests) are public modules too.
"""

from prefect_pdfco._client import PdfcoClient
from prefect_pdfco._exceptions import (
    AuthenticationError,
    BadRequestError,
    BlockNotFoundError,
    ChecksumMismatchError,
    DestinationError,
    FileTooLargeError,
    FileTransferError,
    InsufficientCreditsError,
    InvalidParametersError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    LocalFileError,
    LocalFileNotFoundError,
    NotFoundError,
    PdfcoAPIError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    SubmitOutcomeUnknown,
    SubmittedJobGone,
    UnexpectedResponseError,
    UnknownOperationError,
)
from prefect_pdfco._operations import Operation, OutputKind, get_operation
from prefect_pdfco._util import __version__
from prefect_pdfco.convert import (
    document_to_pdf,
    generate_barcode,
    html_to_pdf,
    image_to_pdf,
    pdf_to_csv,
    pdf_to_html,
    pdf_to_json,
    pdf_to_text,
    url_to_pdf,
)
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.edit import (
    FormFieldValue,
    ImageAnnotation,
    TextAnnotation,
    add_to_pdf,
    compress_pdf,
    delete_pages,
    merge_pdfs,
    replace_text,
    rotate_pages,
    split_pdf,
)
from prefect_pdfco.extract import (
    add_password,
    find_text,
    make_searchable,
    parse_document,
    parse_invoice,
    pdf_info,
    read_barcodes,
    remove_password,
)
from prefect_pdfco.files import (
    download_result,
    download_result_files,
    download_results,
    fetch_result_json,
    fetch_result_text,
    upload_file,
)
from prefect_pdfco.jobs import check_job, submit_job, wait_for_job, wait_for_jobs
from prefect_pdfco.models import DownloadedFile, JobResult, JobStatus, JobSubmission, PollPolicy, RetryPolicy

__all__ = ["Operation", "OutputKind", "PdfcoClient", "PdfcoCredentials", "__version__", "get_operation"]
__all__ += ["DownloadedFile", "JobResult", "JobStatus", "JobSubmission", "PollPolicy", "RetryPolicy"]
__all__ += ["document_to_pdf", "generate_barcode", "html_to_pdf", "image_to_pdf", "pdf_to_csv", "pdf_to_html"]
__all__ += ["pdf_to_json", "pdf_to_text", "url_to_pdf"]
__all__ += ["FormFieldValue", "ImageAnnotation", "TextAnnotation", "add_to_pdf", "compress_pdf", "delete_pages"]
__all__ += ["merge_pdfs", "replace_text", "rotate_pages", "split_pdf"]
__all__ += ["add_password", "find_text", "make_searchable", "parse_document", "parse_invoice", "pdf_info"]
__all__ += ["read_barcodes", "remove_password"]
__all__ += ["check_job", "download_result", "download_result_files", "download_results", "fetch_result_json"]
__all__ += ["fetch_result_text", "submit_job", "upload_file", "wait_for_job", "wait_for_jobs"]
__all__ += ["AuthenticationError", "BadRequestError", "BlockNotFoundError", "ChecksumMismatchError", "DestinationError"]
__all__ += ["FileTooLargeError", "FileTransferError", "InsufficientCreditsError", "InvalidParametersError"]
__all__ += ["JobAborted", "JobError", "JobFailed", "JobNotFound", "JobStillWorking", "JobTimeout", "LocalFileError"]
__all__ += ["LocalFileNotFoundError", "NotFoundError", "PdfcoAPIError", "PdfcoConnectionError", "PdfcoError"]
__all__ += ["RateLimitError", "ResultExpiredError", "ResultNotReadyError", "ResultTooLargeError", "ServerError"]
__all__ += ["SubmitOutcomeUnknown", "SubmittedJobGone", "UnexpectedResponseError", "UnknownOperationError"]
