"""No function hides an import, the usual way to dodge an import cycle. (The layers themselves are
import-linter's contracts in setup.cfg, which ./scripts/test checks before the tests run.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _function_local_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_function_imports_anything():
    modules = [p for p in (ROOT / "router").rglob("*.py") if "migrations" not in p.parts]
    hidden = [where for p in modules for where in _function_local_imports(p)]
    assert hidden == [], f"imports inside functions: {hidden}"

