"""House rule: no function longer than 80 lines outside benches, migrations and tests
(issue 10). Run `python -m tests.test_function_length` for the list with lengths."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 80
APPS = ("chat", "ml", "tenants", "config")


def _skipped(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return "migrations" in parts or "bench" in parts or path.name == "bench.py" or path.name.startswith("bench_")


def long_functions(limit: int = LIMIT) -> list[tuple[str, str, int]]:
    """(file, qualified name, lines) of every function longer than `limit` lines."""
    found = []
    for path in sorted(p for app in APPS for p in (ROOT / app).rglob("*.py") if not _skipped(p)):
        tree = ast.parse(path.read_text(), str(path))
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                        length = (child.end_lineno or child.lineno) - start + 1
                        if length > limit:
                            found.append((str(path.relative_to(ROOT)), name, length))
                    stack.append((child, f"{name}."))
    return found


def test_no_function_over_80_lines():
    assert long_functions() == []


if __name__ == "__main__":
    for file, name, length in sorted(long_functions(), key=lambda f: -f[2]):
        print(f"{length:5d}  {file}:{name}")
    print(f"over {LIMIT} lines: {len(long_functions())}; over 50: {len(long_functions(50))}")
