"""web/'s modules import each other without a cycle, counting every import statement (type-only and
function-level ones included: a cycle hidden behind TYPE_CHECKING or a late import is still one)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def _imported_web_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n.startswith("web.") and (WEB / f"{n[4:]}.py").exists()}
    return found


def test_web_modules_import_each_other_without_a_cycle() -> None:
    graph = {f"web.{p.stem}": _imported_web_modules(p) for p in WEB.glob("*.py")
             if p.stem != "__init__"}
    assert {"web.http", "web.exchange", "web.robots", "web.types"} <= graph.keys()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle in web/: {exc.args[1]}") from exc
    # The data types come before everything that fetches.
    assert order.index("web.types") < order.index("web.exchange") < order.index("web.robots") \
        < order.index("web.http")
