"""The documentation stays true: every Python block runs and type-checks, every public name has a reference entry,
the site builds with no warning, and the README keeps its promises.

The blocks run as users run them: each in a process of its own (forked from one warm interpreter, see
``_runner.py``), in an empty working directory, against one Prefect API (a test harness) where a ``pdfco`` block
points at one emulator, so ``PdfcoCredentials.load("pdfco")`` works as it would after
``prefect-pdfco credentials save``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.docs._blocks import DOCS, ROOT, Block, blocks_of, pages, python_blocks

BLOCKS = python_blocks()
RUN = [block for block in BLOCKS if not block.not_run]
README = ROOT / "README.md"
#: Seconds one block may take: most take a few, a loaded 2-core machine makes the Dask one take a minute.
BLOCK_TIMEOUT = 180
#: The public modules besides the top level, and the one public name of the emulator the docs must cover.
PUBLIC_MODULES = (
    "prefect_pdfco.flows",
    "prefect_pdfco.jobs",
    "prefect_pdfco.callbacks",
    "prefect_pdfco.testing",
    "prefect_pdfco.credentials",
    "prefect_pdfco.files",
    "prefect_pdfco.convert",
    "prefect_pdfco.edit",
    "prefect_pdfco.extract",
    "prefect_pdfco.models",
)
EMULATOR_NAMES = ("pdfco_emulator.PdfcoEmulator",)


def _ids(block: Block) -> str:
    return block.id


# --- the slow tools start first, and run while the blocks wait on their jobs ----------------------------------


@dataclass
class Tool:
    """A checker running in the background: its process and where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path

    def finish(self) -> tuple[int, str]:
        """Waits for it; its exit code and output, each temporary block file named by its page and line."""
        code = self.process.wait(timeout=600)
        text = self.log.read_text(errors="replace")
        for block in BLOCKS:
            text = text.replace(f"{block.stem}.py", block.id)
        return code, text[-8000:]


@dataclass
class Tools:
    mypy: Tool
    pyright: Tool
    mkdocs: Tool
    site: Path


def _start(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> Tool:
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return Tool(process, log)


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    """mypy --strict and pyright over every block (each checker run once), and ``mkdocs build --strict``.

    mypy keeps its cache in the repository's ``.mypy_cache`` (as a developer's own run does): cold, it spends a
    minute on Prefect's modules; warm, seconds.
    """
    base = tmp_path_factory.mktemp("checkers")
    files = []
    for block in BLOCKS:
        path = base / f"{block.stem}.py"
        path.write_text(block.code, encoding="utf-8")
        files.append(str(path))
    config = {"typeCheckingMode": "standard", "pythonVersion": "3.10", "extraPaths": [str(ROOT)]}
    (base / "pyrightconfig.json").write_text(json.dumps({**config, "include": [Path(f).name for f in files]}))
    site = base / "site"
    running = Tools(
        mypy=_start(
            [sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT / "pyproject.toml"), *files],
            ROOT,
            base / "mypy.log",
        ),
        pyright=_start(["pyright", "--pythonpath", sys.executable, "-p", str(base)], base, base / "pyright.log"),
        mkdocs=_start(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
            ROOT,
            base / "mkdocs.log",
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's banner about its own future
        ),
        site=site,
    )
    try:
        yield running
    finally:
        for tool in (running.mypy, running.pyright, running.mkdocs):
            if tool.process.poll() is None:
                tool.process.kill()
                tool.process.wait()


# --- (a) every block runs -----------------------------------------------------------------------------------


@dataclass
class World:
    """The Prefect API and the emulator the blocks run against, and how long the harness took to start."""

    api_url: str
    emulator: Any
    start_seconds: float


#: The tests that need the checkers (``tools``): when any is selected, the checkers start before the harness.
TOOL_TESTS = (
    "test_blocks_pass_mypy_strict",
    "test_blocks_pass_pyright",
    "test_mkdocs_build_strict_renders_every_public_name",
)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The session's Prefect API (``prefect_harness``, tests/conftest.py) with a ``pdfco`` block saved in it,
    pointing at one emulator.

    When the checkers will be needed, they start first, so that they run while the harness starts and the blocks
    wait on their jobs.
    """
    if any(getattr(item, "originalname", "") in TOOL_TESTS for item in request.session.items):
        request.getfixturevalue("tools")
    started = time.monotonic()
    request.getfixturevalue("prefect_harness")
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from pdfco_emulator import PdfcoEmulator
    from prefect_pdfco.testing import credentials_for

    with PdfcoEmulator(job_duration=0.5) as emulator:
        saved = credentials_for(emulator)
        saved.save("pdfco", overwrite=True)
        block_id = saved._block_document_id
        assert block_id is not None
        try:
            yield World(str(PREFECT_API_URL.value()), emulator, time.monotonic() - started)
        finally:  # the harness serves the rest of the session: no block left pointing at a stopped emulator
            with get_client(sync_client=True) as client:
                client.delete_block_document(block_id)


@dataclass(frozen=True)
class Outcome:
    code: object
    seconds: float
    output: str


@pytest.fixture(scope="module")
def outcomes(
    world: World, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, Outcome]:
    """Runs every selected block once (a few at a time) and keeps each one's exit code and output."""
    base = tmp_path_factory.mktemp("blocks")
    jobs = []
    for block in _selected(request) or RUN:
        cwd = base / block.stem
        cwd.mkdir()
        script = cwd / (block.title if block.is_test_file else "main.py")
        script.write_text(block.code, encoding="utf-8")
        jobs.append(
            {
                "key": block.id,
                "cwd": str(cwd),
                "script": str(script),
                "out": str(cwd / "output.log"),
                "timeout": BLOCK_TIMEOUT,
                "pytest": block.is_test_file,
            }
        )
    env = {**os.environ, "PREFECT_API_URL": world.api_url, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_runner.py"))],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        env=env,
        timeout=BLOCK_TIMEOUT * len(jobs) + 60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    print(
        f"harness started in {world.start_seconds:.0f} s; {len(jobs)} blocks ran in {time.monotonic() - started:.0f} s"
    )
    codes: dict[str, list[Any]] = json.loads(done.stdout)
    outcomes = {}
    for job in jobs:
        code, seconds = codes.get(str(job["key"]), ["not run", 0.0])
        outcomes[str(job["key"])] = Outcome(code, seconds, Path(str(job["out"])).read_text(errors="replace"))
    return outcomes


def _selected(request: pytest.FixtureRequest) -> list[Block]:
    """The blocks whose ``test_block_runs`` is in this session (``-k`` picks some), in their order."""
    return [
        block
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_block_runs"
        and hasattr(item, "callspec")
        and isinstance(block := item.callspec.params["block"], Block)
    ]


@pytest.mark.slow
@pytest.mark.e2e  # every block runs as a user's script, in a process of its own, against a Prefect server
@pytest.mark.timeout(900)  # the first one waits for the harness and every block: minutes on a loaded machine
@pytest.mark.parametrize("block", RUN, ids=_ids)
def test_block_runs(block: Block, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[block.id]
    print(f"{block.id}: {outcome.code} in {outcome.seconds} s")  # shown with -rP: which blocks are slow
    assert outcome.code == 0, (
        f"{block.id} ended with {outcome.code} after {outcome.seconds} s:\n{outcome.output[-6000:]}"
    )


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_blocks_that_load_the_saved_block_use_the_emulator(world: World, outcomes: dict[str, Outcome]) -> None:
    ran = [block for block in RUN if block.id in outcomes]
    loading = [block for block in ran if re.search(r"PdfcoCredentials\.a?load\(\"pdfco\"\)", block.code)]
    assert loading, "no block loads the saved block"
    stats = world.emulator.stats()
    assert stats["jobs_submitted"] >= len(loading), stats


def test_blocks_not_run_say_why() -> None:
    for block in BLOCKS:
        if block.not_run:
            page = (ROOT / block.page).read_text(encoding="utf-8")
            assert "not run" in page.replace('title="not run"', ""), f"{block.id}: the page must say why"


def test_every_block_is_python_that_parses() -> None:
    for block in BLOCKS:
        compile(block.code, block.id, "exec")


# --- (b) every block type-checks ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_blocks_pass_mypy_strict(tools: Tools) -> None:
    code, output = tools.mypy.finish()
    assert code == 0, output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_blocks_pass_pyright(tools: Tools) -> None:
    code, output = tools.pyright.finish()
    assert code == 0, output


# --- (c) every public name has a reference entry -----------------------------------------------------------


def _targets() -> list[str]:
    """The ``::: target`` lines of the reference pages."""
    found = []
    for page in sorted((DOCS / "reference").glob("*.md")):
        found += re.findall(r"^:::\s+([\w.]+)\s*$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return found


def _resolve(path: str) -> Any:
    """The object a dotted path names (a module, or an attribute of one)."""
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def _public_names(module: Any) -> list[str]:
    """``__all__``, else the functions and classes the module defines without a leading underscore."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or callable(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def _documented() -> tuple[set[int], set[str]]:
    """What the reference pages render: the ids of the objects, and the dotted paths they are rendered under."""
    objects: set[int] = set()
    paths: set[str] = set()
    for target in _targets():
        value = _resolve(target)
        paths.add(target)
        objects.add(id(value))
        if inspect.ismodule(value):
            for name in _public_names(value):
                objects.add(id(getattr(value, name)))
                paths.add(f"{target}.{name}")
    return objects, paths


def _public_api() -> dict[str, Any]:
    """Every public name: ``prefect_pdfco.__all__``, the public modules' names, and the emulator."""
    import prefect_pdfco

    names = {f"prefect_pdfco.{name}": getattr(prefect_pdfco, name) for name in prefect_pdfco.__all__}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names.update({f"{module_name}.{name}": getattr(module, name) for name in _public_names(module)})
    names.update({path: _resolve(path) for path in EMULATOR_NAMES})
    return names


def test_every_public_name_has_a_reference_entry() -> None:
    objects, paths = _documented()
    missing = [
        path
        for path, value in _public_api().items()
        if path not in paths and (id(value) not in objects or isinstance(value, (str, int, float)))
    ]
    assert not missing, f"no ::: entry in docs/reference/ renders: {missing}"


def test_every_reference_target_exists() -> None:
    for target in _targets():
        _resolve(target)


# --- (d) the site builds -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mkdocs_build_strict_renders_every_public_name(tools: Tools) -> None:
    code, log = tools.mkdocs.finish()
    assert code == 0, log
    assert "WARNING" not in log, log
    site = tools.site
    html = "\n".join(page.read_text(encoding="utf-8") for page in (site / "reference").rglob("*.html"))
    anchors = set(re.findall(r'id="((?:prefect_pdfco|pdfco_emulator)\.[\w.]+)"', html))
    objects: dict[int, str] = {}
    for path in anchors:
        try:
            objects[id(_resolve(path))] = path
        except (ImportError, AttributeError):
            continue
    unrendered = [
        path
        for path, value in _public_api().items()
        if path not in anchors
        and (id(value) not in objects or isinstance(value, (str, int, float)))
        and not (path.endswith("__version__") and "__version__" in html)
    ]
    assert not unrendered, f"the built reference has no entry for {unrendered}"


# --- pages and README -------------------------------------------------------------------------------------------


def test_readme_fits_on_a_screen_and_keeps_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    bash = [block.code.strip() for block in blocks_of(README) if block.lang == "bash"]
    assert 'pip install -e ".[dev]" && python flows/quickstart.py' in bash
    assert "python -m pytest" in bash


#: The package's own commands as the pages write them, and the call that prints each one's options.
OWN_COMMANDS = {
    ("prefect-pdfco", "credentials", "save"): "prefect_pdfco.__main__:main:credentials save",
    ("prefect-pdfco", "credentials", "check"): "prefect_pdfco.__main__:main:credentials check",
    ("prefect-pdfco", "callbacks", "serve"): "prefect_pdfco.callbacks:serve:",
    ("pdfco-emulator",): "pdfco_emulator.__main__:main:",
}
_HELPS = """
import contextlib, importlib, io, json, sys
helps = {}
for key, spec in json.loads(sys.argv[1]).items():
    module, function, words = spec.split(":")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        getattr(importlib.import_module(module), function)([*words.split(), "--help"])
    helps[key] = out.getvalue()
print(json.dumps(helps))
"""


def _command_lines() -> list[tuple[str, list[str]]]:
    """Each line of a ```bash block that runs one of the package's commands, as words (env assignments dropped)."""
    found = []
    for page in pages():
        for block in blocks_of(page):
            if block.lang != "bash":
                continue
            for line in block.code.splitlines():
                words = shlex.split(line, comments=True)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words.pop(0)
                if words[:3] == ["python", "-m", "prefect_pdfco"]:
                    words = ["prefect-pdfco", *words[3:]]
                if words[:3] == ["python", "-m", "pdfco_emulator"]:
                    words = ["pdfco-emulator", *words[3:]]
                if words and words[0] in ("prefect-pdfco", "pdfco-emulator"):
                    found.append((f"{page.relative_to(ROOT)}: {line.strip()}", words))
    return found


def test_documented_commands_exist_with_the_options_they_use() -> None:
    lines = _command_lines()
    assert lines, "no page shows the package's commands"
    specs = {" ".join(key): spec for key, spec in OWN_COMMANDS.items()}
    done = subprocess.run(
        [sys.executable, "-c", _HELPS, json.dumps(specs)], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    helps: dict[str, str] = json.loads(done.stdout)
    for where, words in lines:
        command = next((key for key in OWN_COMMANDS if tuple(words[: len(key)]) == key), None)
        assert command is not None, f"{where}: not a command of the package"
        usage = helps[" ".join(command)]
        assert "usage:" in usage, f"{where}: no help for {command}"
        for option in (word.split("=")[0] for word in words[len(command) :] if word.startswith("--")):
            assert re.search(rf"(^|\s){re.escape(option)}\b", usage), f"{where}: {option} is not an option"


def test_files_the_pages_name_exist() -> None:
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for path in re.findall(
            r"(?<![\w/.-])((?:flows|blocks|benchmarks|pdfco_emulator|\.ci)/[\w/.-]+\.(?:py|json|md))", text
        ):
            assert (ROOT / path).is_file(), f"{page.relative_to(ROOT)} names {path}, which does not exist"


def test_relative_links_of_readme_and_pages_lead_somewhere() -> None:
    for page in pages():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"


def test_every_docs_link_in_the_code_has_its_page() -> None:
    sources = [*(ROOT / "prefect_pdfco").glob("*.py"), *(ROOT / "pdfco_emulator").glob("*.py")]
    for source in sources:
        for link in re.findall(r"docs/[\w/.-]+\.md", source.read_text(encoding="utf-8")):
            assert (ROOT / link).is_file(), f"{source.relative_to(ROOT)} links to {link}, which does not exist"


def test_images_are_local_files() -> None:
    for page in pages():
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            assert not re.match(r"[a-z]+:", target), f"{page}: an external image ({target}) would need the network"
            assert (page.parent / target).resolve().is_file(), f"{page}: no image at {target}"
