"""Every test runs in a throwaway Prefect home with telemetry off; no test reads or writes the user's ~/.prefect."""

from __future__ import annotations

import os
import tempfile

# Before Prefect is imported anywhere: forced, not defaulted, so a developer's own PREFECT_HOME or API URL is
# never written to by a test run.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-pdfco-tests-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_TO_API_BATCH_INTERVAL"] = "0.3"
# The server's event persister flushes every 5 s by default: tests that read events back wait less.
os.environ["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"] = "0.5"
# Every emulator the tests start (and the subprocesses they run) refuses parameter names PDF.co does not document.
os.environ["PDFCO_EMULATOR_STRICT"] = "1"


from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real Prefect API (SQLite, a server subprocess), started once per session for every test that asks."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``needs_env(NAME)`` run where ``NAME`` is set and are deselected (not skipped) elsewhere: PDF.co's
    samples (its code, never committed here; CI has no network to fetch them) and minutes of busy CPUs."""
    dropped = [item for item in items if (m := item.get_closest_marker("needs_env")) and not os.environ.get(m.args[0])]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
