"""What import-linter cannot see: Prefect's private modules are used through ``prefect_pdfco/_compat.py`` only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "prefect_pdfco"
#: Modules of Prefect that its documentation does not describe as API.
PRIVATE = (
    "prefect._internal",
    "prefect.utilities.asyncutils",
    "prefect.utilities.callables",
    "prefect.utilities.engine",
)


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found += [
            name
            for name in names
            if name.startswith(PRIVATE) or ".__" in name or "._" in name.removeprefix("prefect_pdfco")
        ]
    return [name for name in found if name.startswith("prefect")]


def test_private_prefect_apis_go_through_compat_only() -> None:
    offenders = {
        path.name: names
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "_compat.py"
        and (names := [n for n in _private_imports(path) if not n.startswith("prefect_pdfco")])
    }
    assert offenders == {}
    assert _private_imports(PACKAGE / "_compat.py"), "the door is there"


def test_no_module_is_over_400_lines() -> None:
    long = {path.name: n for path in PACKAGE.glob("*.py") if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}
