"""The public surface: the names the package promises, a sorted __all__, and nothing heavy on import."""

from __future__ import annotations

import subprocess
import sys

import prefect_pdfco

CONTRACT = {
    "PdfcoCredentials",
    "PdfcoClient",
    "JobStatus",
    "JobSubmission",
    "JobResult",
    "submit_job",
    "check_job",
    "wait_for_job",
    "PdfcoError",
    "PdfcoAPIError",
    "BadRequestError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "RateLimitError",
    "ServerError",
    "PdfcoConnectionError",
    "JobError",
    "JobFailed",
    "JobAborted",
    "JobNotFound",
    "JobTimeout",
    "JobStillWorking",
    "DestinationError",
    "SubmitOutcomeUnknown",
    "BlockNotFoundError",
    "download_results",
}


def test_all_is_sorted_complete_and_importable() -> None:
    assert prefect_pdfco.__all__ == sorted(prefect_pdfco.__all__)
    assert set(prefect_pdfco.__all__) >= CONTRACT
    for name in prefect_pdfco.__all__:
        assert getattr(prefect_pdfco, name) is not None


def test_importing_the_package_does_not_load_the_emulator() -> None:
    code = "import sys, prefect_pdfco; print('pypdf' in sys.modules, 'prefect_pdfco.testing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_entry_point_is_registered() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="prefect.collections")}
    assert names.get("prefect_pdfco") == "prefect_pdfco"


def test_public_functions_have_google_docstrings_with_a_flow_example() -> None:
    import inspect

    from prefect import Flow, Task

    from prefect_pdfco import flows

    for module, names in ((prefect_pdfco, prefect_pdfco.__all__), (flows, flows.__all__)):
        for name in names:
            obj = getattr(module, name)
            if isinstance(obj, (Task, Flow)):
                doc = obj.fn.__doc__ or ""
            elif inspect.isfunction(obj):
                doc = obj.__doc__ or ""
            else:
                continue
            assert "Example:" in doc and "@flow" in doc, f"{name}: no Example: with a flow"
            if inspect.signature(obj.fn if isinstance(obj, (Task, Flow)) else obj).parameters:
                assert "Args:" in doc, f"{name}: no Args:"
