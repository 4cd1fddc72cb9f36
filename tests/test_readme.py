"""README.md stays true: its Python blocks run against the emulator, its commands name real things."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_pdfco import PdfcoCredentials
from prefect_pdfco.testing import PdfcoEmulator

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.DOTALL)
PYTHON = [code for language, code in BLOCKS if language == "python"]
BASH = [code for language, code in BLOCKS if language == "bash"]


@pytest.fixture
def pdfco_block(prefect_harness: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PdfcoEmulator]:
    """A saved `pdfco` block pointing at an emulator, as the README's reader would have; removed afterwards."""
    from prefect.client.orchestration import get_client

    monkeypatch.chdir(tmp_path)
    with PdfcoEmulator(job_duration=0.2) as emulator:
        PdfcoCredentials(api_key=emulator.api_key, base_url=emulator.base_url).save("pdfco", overwrite=True)
        try:
            yield emulator
        finally:
            with get_client(sync_client=True) as client:
                client.delete_block_document(PdfcoCredentials.load("pdfco")._block_document_id)  # type: ignore[arg-type]


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("index", range(len(PYTHON)), ids=lambda i: f"python-block-{i + 1}")
def test_python_blocks_run(index: int, pdfco_block: PdfcoEmulator) -> None:
    code = PYTHON[index]
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})
    if 'PdfcoCredentials.load("pdfco")' in code:
        assert pdfco_block.stats()["jobs_submitted"], "the block submitted no job to the saved block's emulator"


def test_the_two_set_up_commands_are_what_ci_runs() -> None:
    assert 'pip install -e ".[dev]" && python flows/quickstart.py' in BASH[0]
    assert BASH[1].strip() == "python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python -m pytest" in ci and 'python -m pip install --quiet -e ".[dev]"' in ci


def test_commands_name_files_and_scripts_that_exist() -> None:
    for block in BASH:
        for line in block.strip().splitlines():
            for word in shlex.split(line, comments=True):
                if word.endswith(".py"):
                    assert (ROOT / word).is_file(), word
    assert (ROOT / "prefect.yaml").is_file()


def test_every_typed_task_is_listed() -> None:
    from prefect_pdfco.operations import tasks

    for name in tasks.__all__:
        if name[0].islower():
            assert f"`{name}`" in README, name
