"""The public API as type checkers see it: every task call typed as what it returns, wrong calls refused.

``tests/typing/ok_sync.py`` and ``ok_async.py`` hold an ``assert_type`` for every public task call, from a sync flow
and (``.aio``) from an async one, futures included; ``errors.py`` holds wrong calls, each marked
``# E: <mypy error code>``: the lines in error must be exactly the marked ones, for mypy and for pyright.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "typing"
ERRORS = CASES / "errors.py"
CASE_FILES = [CASES / "ok_sync.py", CASES / "ok_async.py", ERRORS]

pytestmark = pytest.mark.slow

_MARK = re.compile(r"#\s*E:\s*([\w-]+)\s*$")
_MYPY_ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$")


def marked_lines() -> dict[int, str]:
    """The lines of errors.py that must be errors, with the mypy error code each must have."""
    marks = {}
    for number, text in enumerate(ERRORS.read_text().splitlines(), start=1):
        found = _MARK.search(text)
        if found:
            marks[number] = found.group(1)
    return marks


@pytest.fixture(scope="module")
def files() -> list[Path]:
    """The case files (the docs' Python blocks are type-checked by tests/docs)."""
    return CASE_FILES


def _where(path: str, line: int) -> tuple[str, int]:
    """(the file as the reports name it: relative to the repository, or README's block), the line."""
    resolved = (ROOT / path).resolve()
    return resolved.relative_to(ROOT).as_posix(), line


def test_mypy_types_every_public_call(files: list[Path]) -> None:
    assert {"arg-type", "call-arg", "attr-defined", "misc"} <= set(marked_lines().values())  # the marks parse
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(ROOT / ".mypy_cache"),
        "--show-error-codes",
        "--no-pretty",
        "--no-error-summary",
        *(str(path) for path in files),
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode in (0, 1), f"mypy did not run:\n{run.stdout}\n{run.stderr}"
    found: dict[tuple[str, int], set[str]] = {}
    for line in run.stdout.splitlines():
        error = _MYPY_ERROR.match(line)
        if error:
            found.setdefault(_where(error["path"], int(error["line"])), set()).add(error["code"] or "?")
    expected = {("tests/typing/errors.py", line): {code} for line, code in marked_lines().items()}
    unexpected = {key: codes for key, codes in found.items() if expected.get(key) != codes}
    missing = {key: codes for key, codes in expected.items() if key not in found}
    assert not unexpected and not missing, (
        f"mypy errors that are not marked (or with another code): {sorted(unexpected.items())}\n"
        f"marked lines mypy accepted: {sorted(missing.items())}\n\n{run.stdout}"
    )


def test_pyright_types_every_public_call(files: list[Path]) -> None:
    pytest.importorskip("pyright", reason="pyright is not installed (it is in the dev extra)")
    if shutil.which("node") is None:
        pytest.skip("pyright needs node on the PATH (a download of node is never attempted here)")
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}  # its bundled copy, no look-up of newer versions
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *map(str, files)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright did not run:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    found: dict[tuple[str, int], list[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            key = _where(diagnostic["file"], diagnostic["range"]["start"]["line"] + 1)
            found.setdefault(key, []).append(diagnostic["message"])
    expected = {("tests/typing/errors.py", line) for line in marked_lines()}
    unexpected = {key: messages for key, messages in found.items() if key not in expected}
    missing = sorted(expected - set(found))
    assert not unexpected and not missing, (
        f"pyright errors on lines not marked: {sorted(unexpected.items())}\nmarked lines pyright accepted: {missing}"
    )
