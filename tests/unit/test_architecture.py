"""The rooms keep their doors: what each layer may import, read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"
# Libraries that do I/O: only adapters (and the wiring that builds them) import them.
IO_LIBRARIES = {
    "boto3",
    "botocore",
    "psycopg",
    "psycopg_pool",
    "aiosmtplib",
    "requests",
    "urllib3",
    "imaplib",
    "socket",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("services"), ids=lambda p: p.name)
def test_a_service_imports_no_adapter_and_no_io_library(path: Path) -> None:
    imported = _imports(path)
    assert not {m for m in imported if m.startswith("chalicelib.adapters") or m == "chalicelib.wiring"}, path
    assert not {m for m in imported if m.split(".")[0] in IO_LIBRARIES}, path


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: p.name)
def test_the_domain_is_pure(path: Path) -> None:
    imported = _imports(path)
    assert not {m for m in imported if m.startswith(("chalicelib.adapters", "chalicelib.services"))}, path
    assert not {m for m in imported if m.split(".")[0] in IO_LIBRARIES}, path


ENTRY_POINTS = [ROOT.parent / "app.py", *(ROOT.parent / "functions").glob("*.py")]


@pytest.mark.parametrize("path", [*ROOT.rglob("*.py"), *ENTRY_POINTS], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_module_is_longer_than_one_sitting(path: Path) -> None:
    """A backstop, as ruff formats the code: the cap that shapes the code is per function
    (ruff's C901, PLR0912 and PLR0915 in make lint), so no line is squeezed to fit a file."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path} has {lines} lines: split it by concern"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (function-level imports too)."""
    files = [*ROOT.rglob("*.py"), *ENTRY_POINTS]
    names = {p: ".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__") for p in files}
    known = set(names.values())
    graph: dict[str, set[str]] = {}
    for path, name in names.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = (found & known) - {name}
    return graph


def test_no_module_imports_one_that_imports_it_back() -> None:
    """The walk of a message never returns to a module it left (docs/architecture.md): no
    import cycle, however long, among the service's modules."""
    graph = _import_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(graph[start])
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name])
        return False

    assert [m for m in graph if reaches(m, m)] == []
