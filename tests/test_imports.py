"""Every module of the product imports: a module no other test touches cannot rot unseen.

(``benchmark.durall_check`` once failed to import after a refactor moved a helper it used.)
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import benchmark
import detectors

MODULES = sorted(
    m.name
    for pkg in (benchmark, detectors)
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    if not m.name.endswith("__main__")  # runs the CLI on import
)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    importlib.import_module(name)
