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
        defined = {
            key
            for key, value in vars(module).items()
            if not key.startswith("_") and getattr(value, "__module__", None) == module.__name__
        }
        exported = set(getattr(module, "__all__", defined))
        assert defined <= exported | {"logger"}, f"prefect_pdfco.{name}: {sorted(defined - exported)} not in __all__"
