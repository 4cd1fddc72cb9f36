"""The public surface is ``__all__``: every public name exported, nothing else looking public (httpx's own test)."""

from __future__ import annotations

import importlib
import pkgutil

import prefect_pdfco

PUBLIC_MODULES = (
    "callbacks",
    "convert",
    "credentials",
    "edit",
    "extract",
    "files",
    "flows",
    "jobs",
    "models",
    "testing",
)


def test_all_is_the_public_names() -> None:
    exported = set(prefect_pdfco.__all__)
    public = {name for name in dir(prefect_pdfco) if not name.startswith("_") and name not in PUBLIC_MODULES}
    assert public == exported - {"__version__"}
    assert len(prefect_pdfco.__all__) == len(exported), "a name is exported twice"


def test_every_module_is_private_but_the_public_ones() -> None:
    found = {info.name for info in pkgutil.iter_modules(prefect_pdfco.__path__)}
    assert {name for name in found if not name.startswith("_")} == set(PUBLIC_MODULES)


def test_public_modules_say_what_they_export() -> None:
    for name in PUBLIC_MODULES:
        module = importlib.import_module(f"prefect_pdfco.{name}")
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"prefect_pdfco.{name} has no __all__"
        assert all(hasattr(module, item) for item in exported), f"prefect_pdfco.{name}.__all__ names a missing name"
        top = set(prefect_pdfco.__all__)
        assert name in ("callbacks", "flows", "testing", "jobs") or set(exported) <= top, f"{name}: not all re-exported"
