"""The package's shape: one concern per folder, each folder importing only from those above it in
LAYERS (so no cycle between folders), no cycle between modules, a handful of modules per folder."""

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "srcore"
LAYERS = (
    *("common", "config", "data", "net", "diffusion", "eval", "train", "deploy", "report"),
    *("app", "commands"),
)
MOST_MODULES = 8


def modules() -> dict[str, Path]:
    """{dotted name: file} of every module below srcore/, srcore/__init__.py excepted (the API
    door, whose imports are lazy)."""
    return {
        ".".join(p.relative_to(REPO).with_suffix("").parts): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if p != PACKAGE / "__init__.py"
    }


def imports_of(path: Path) -> set[str]:
    """The srcore modules a file imports at its top level (what runs when it is imported)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("srcore"):
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("srcore")}
    return found


def folder(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


def test_every_folder_is_a_layer_and_holds_a_handful_of_modules():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS), folders ^ set(LAYERS)
    assert [p.name for p in PACKAGE.glob("*.py")] == ["__init__.py"]  # no module outside a folder
    for name in LAYERS:
        found = [p.name for p in (PACKAGE / name).glob("*.py") if p.name != "__init__.py"]
        assert 1 <= len(found) <= MOST_MODULES, (name, found)


def test_no_folder_imports_from_a_folder_below_it():
    upward = []
    for name, path in modules().items():
        own = LAYERS.index(folder(name))
        for imported in imports_of(path):
            other = folder(imported)
            if other is not None and LAYERS.index(other) > own:
                upward.append(f"{name} imports {imported}")
    assert not upward, upward


def test_no_cycle_between_modules():
    known = modules()
    graph = {n: {i for i in imports_of(p) if i in known and i != n} for n, p in known.items()}
    state: dict[str, str] = {}

    def visit(n: str, path: list[str]) -> None:
        state[n] = "open"
        for m in graph[n]:
            assert state.get(m) != "open", " -> ".join([*path, n, m])
            if m not in state:
                visit(m, [*path, n])
        state[n] = "done"

    for n in graph:
        if n not in state:
            visit(n, [])
