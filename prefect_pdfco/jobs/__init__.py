"""Jobs: submit a billed PDF.co job once, check it, wait for it.

- ``tasks``: the public tasks ``submit_job``, ``check_job``, ``wait_for_job``, ``wait_for_jobs``;
- ``submit`` and ``keys``: the one submit path, its crash-safe record and cache keys;
- ``wait``: ``check_once`` (one check and its verdict) and the polling loops; ``schedule``: how often to check.
"""

from __future__ import annotations

# The names of ``tasks.__all__``, listed once there.
from prefect_pdfco.jobs.tasks import *  # noqa: F403
from prefect_pdfco.jobs.tasks import __all__ as __all__
