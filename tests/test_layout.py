"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_TRANSFORMS = ("prefect", "duckdb", "httpx", "great_expectations")


def _modules(package: str) -> list[str]:
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / package)])]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout))


def test_transforms_import_no_io_libraries() -> None:
    modules = _modules("transforms")
    assert modules, "transforms/ has no modules"
    loaded = _loaded_after_import(modules)
    assert not loaded & set(FORBIDDEN_IN_TRANSFORMS), sorted(loaded & set(FORBIDDEN_IN_TRANSFORMS))


@pytest.mark.parametrize(("package", "forbidden"), [
    ("web", ("warehouse", "flows", "prefect", "duckdb")),
    ("warehouse", ("web", "flows", "prefect", "httpx")),
])
def test_edges_do_not_import_each_other(package: str, forbidden: tuple[str, ...]) -> None:
    loaded = _loaded_after_import(_modules(package))
    assert not loaded & set(forbidden), sorted(loaded & set(forbidden))


def test_expectations_do_not_import_great_expectations_at_import_time() -> None:
    loaded = _loaded_after_import(["expectations", *_modules("expectations")])
    assert "great_expectations" not in loaded
