"""The architecture, checked: the layers contract, no import cycles, no oversized module.

The layers (top to bottom; a module may import only from layers below it, imports inside
functions included) are the ``[tool.importlinter]`` contract in ``pyproject.toml``; this file
runs it with import-linter, so ``make test`` (the README's test command, and CI's ``.ci/run``)
fails when it breaks.

To see the contract fail, add a deliberate upward import, e.g. ``import benchmark.run`` at the
top of ``benchmark/core/io.py`` (the bottom layer importing a high one), then run
``.venv/bin/lint-imports`` or ``.venv/bin/python -m pytest tests/test_architecture.py``: the
report names the broken contract, "benchmark.core is not allowed to import benchmark.run",
and the import, ``benchmark.core.io -> benchmark.run (l.1)``. (That line also closes an import
cycle, so ``test_no_import_cycles`` fails too.) Remove the line afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "detectors")
MAX_LINES = 420  # "about 400": a module past this is doing two jobs; split it


def _lint_imports_command() -> list[str]:
    """The ``lint-imports`` entry point installed beside this interpreter, else its function."""
    script = Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command as m; sys.exit(m())",
    ]


def test_layers_contract_kept():
    pytest.importorskip("importlinter", reason="pip install -e '.[test]' (it has import-linter)")
    proc = subprocess.run(
        [*_lint_imports_command(), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        "the import contract in pyproject.toml is broken (lint-imports report):\n"
        + proc.stdout
        + proc.stderr
    )


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit); components in reverse topological
    order, each listing its nodes. Nodes only imported (absent as keys) count as sinks."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(sorted(graph.get(start, ()))))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:  # every child of node done
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components that are cycles: two or more modules, or one module
    importing itself."""
    return [
        c
        for c in strongly_connected_components(graph)
        if len(c) > 1 or c[0] in set(graph.get(c[0], ()))
    ]


def test_tarjan_finds_cycles():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["d"]}
    assert sorted(find_cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert find_cycles({"a": ["b"], "b": ["c"], "c": []}) == []


def test_no_import_cycles():
    """Zero cycles among the modules of benchmark/ and detectors/, imports inside functions and
    under ``TYPE_CHECKING`` included (grimp records both). grimp names ``pkg/__init__.py`` as
    ``pkg`` and records only the imports written in a file, not Python's implicit import of a
    parent package: an ``__init__`` re-exporting its submodules is no cycle, but a submodule
    importing its own package (``import pkg`` inside ``pkg.sub``) closes one and counts."""
    grimp = pytest.importorskip("grimp", reason="pip install -e '.[test]' (import-linter has it)")
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycles = find_cycles(edges)
    lines = []
    for members in cycles:
        lines.append(f"cycle of {len(members)} modules: {', '.join(members)}")
        inside = set(members)
        for importer in members:
            for imported in sorted(edges[importer] & inside):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    lines.append(
                        f"    {importer} -> {imported}  (line {detail['line_number']}: "
                        f"{detail['line_contents']})"
                    )
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(lines)


def test_modules_are_small():
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert sizes, "no modules found"
    too_big = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not too_big, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(
        f"    {path}: {n}" for path, n in sorted(too_big.items(), key=lambda kv: -kv[1])
    )
