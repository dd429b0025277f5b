"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import ast
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


# DESIGN.md: imports point inward, flows -> web, warehouse, expectations, workers -> transforms.
# For each package, the project packages it may import (statically: every import statement,
# function-level and TYPE_CHECKING ones included), and libraries it must not.
PROJECT = ("flows", "transforms", "warehouse", "web", "workers", "expectations", "sample", "bench")
ALLOWED = {
    "transforms": set(),
    "web": {"transforms"},
    "warehouse": {"transforms"},
    "expectations": {"transforms"},
    "workers": {"transforms"},
    "flows": {"transforms", "web", "warehouse", "expectations", "workers", "sample"},
    "sample": set(),
}
FORBIDDEN_LIBRARIES = {
    "transforms": set(FORBIDDEN_IN_TRANSFORMS),
    "web": {"duckdb", "prefect", "great_expectations"},
    "warehouse": {"prefect", "httpx", "great_expectations"},
    "expectations": {"prefect", "duckdb", "httpx"},
    "workers": {"duckdb", "great_expectations"},
}


def imports_against_design(package: str, source: str, filename: str = "<src>") -> list[str]:
    """The imports in ``source`` (a module of ``package``) that DESIGN.md's direction forbids."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            inward = top in PROJECT and top != package and top not in ALLOWED[package]
            if inward or top in FORBIDDEN_LIBRARIES.get(package, set()):
                found.append(f"{filename}:{node.lineno} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_import_points_inward(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    wrong = [w for f in files for w in imports_against_design(
        package, f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert wrong == []


def test_the_import_check_sees_hidden_and_late_imports() -> None:
    # what expectations/ did before: a function-level import of web/ behind a fallback
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from warehouse.store import Store\n"
        "def severity(x):\n    try:\n        from web import ErrorClass\n"
        "    except ImportError:\n        return None\n"
    )
    assert [w.split(" imports ")[1] for w in imports_against_design("expectations", source)] \
        == ["warehouse.store", "web"]
    assert imports_against_design("flows", source) == []
    assert imports_against_design("transforms", "import duckdb\n") == ["<src>:1 imports duckdb"]
