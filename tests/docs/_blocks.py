"""The ```python blocks of README.md and docs/**/*.md, as the tests run and type-check them."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)(?P<attrs>[^\n`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its title attribute and its code (dedented)."""

    page: str  # relative to the repository root, e.g. "docs/guides/batches.md"
    line: int  # 1-based line of the opening fence
    lang: str
    title: str
    code: str

    @property
    def id(self) -> str:
        """A readable test id: ``docs/guides/batches.md:42``."""
        return f"{self.page}:{self.line}"

    @property
    def stem(self) -> str:
        """A Python module name unique to the block (for the type checkers' temporary files)."""
        return "block_" + re.sub(r"[^a-z0-9]+", "_", f"{self.page.removesuffix('.md')}_{self.line}".lower())

    @property
    def not_run(self) -> bool:
        """Blocks titled "not run" are shown, type-checked, and not executed (the page says why)."""
        return self.title == "not run"

    @property
    def is_test_file(self) -> bool:
        """Blocks titled ``test_*.py`` are pytest files: the tests run them with pytest."""
        return bool(re.fullmatch(r"test_\w+\.py", self.title))


def pages() -> list[Path]:
    """README.md and every page of the site, in a stable order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of one Markdown page (fences may be indented, e.g. inside admonitions or tabs)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None or not match["lang"]:
            index += 1
            continue
        indent, start = match["indent"], index
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f"{path}:{start + 1}: a code fence that never closes")
        title = _TITLE.search(match["attrs"])
        code = textwrap.dedent("\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body))
        found.append(
            Block(
                page=str(path.relative_to(ROOT)),
                line=start + 1,
                lang=match["lang"],
                title=title["title"] if title else "",
                code=code.rstrip() + "\n",
            )
        )
        index += 1
    return found


def python_blocks() -> list[Block]:
    """Every ```python block of README.md and the site."""
    return [block for page in pages() for block in blocks_of(page) if block.lang == "python"]
