"""Discovery and factories above the registry's tables: built-in and entry-point plugins,
``create_detector``, ``list_detectors``, ``load_detector``.

Modelled on timm's ``_factory.py`` sitting above ``_registry.py``: ``benchmark.registry`` only
holds the tables; this module fills them (importing every built-in detector and dataset
module and every ``fakebench.detectors`` entry point) before it answers. A plugin that fails to
import is recorded in ``plugin_errors()`` and the rest still load.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from benchmark.data.loader import layouts_in_order, register_builtin
from benchmark.protocol import BaseDetector, DetectorMeta
from benchmark.registry import DATASETS, DETECTORS

log = logging.getLogger(__name__)


ENTRY_POINT_GROUP = "fakebench.detectors"
_plugin_errors: dict[str, str] = {}
_loaded = False


def load_plugins() -> None:
    """Import every dataset/layout module under ``benchmark.data``, every built-in detector
    module and every ``fakebench.detectors`` entry point."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import detectors

    # dataset builders and layouts register themselves, like detectors: no module named here
    _plugin_errors.update(register_builtin())
    for mod in pkgutil.walk_packages(detectors.__path__, prefix="detectors."):
        _import_plugin(mod.name, lambda n=mod.name: importlib.import_module(n))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _import_plugin(f"{ep.name} ({ep.value})", ep.load)


def _import_plugin(label: str, load: Callable[[], Any]) -> None:
    try:
        load()
    except Exception as exc:  # a broken plugin must not take the others down
        _plugin_errors[label] = f"{type(exc).__name__}: {exc}"
        log.warning("detector plugin %s failed to load: %s", label, exc)


def plugin_errors() -> dict[str, str]:
    """Plugins that failed to import, with their error."""
    load_plugins()
    return dict(_plugin_errors)


def list_detectors(pattern: str | None = None) -> list[str]:
    """Registered detector names matching comma-separated wildcards (all when ``None``)."""
    load_plugins()
    return DETECTORS.names(pattern)


def detector_meta(name: str) -> DetectorMeta:
    load_plugins()
    meta = DETECTORS.get(name).meta
    assert meta is not None
    return meta


def create_detector(name: str, **overrides: Any) -> Any:
    """Build detector ``name`` with parameter overrides; unknown parameters are an error."""
    load_plugins()
    entry = DETECTORS.get(name)
    try:
        det = entry.factory(**overrides)
    except TypeError as exc:
        raise TypeError(f"{name}: bad parameter override {sorted(overrides)}: {exc}") from exc
    det.meta = entry.meta
    return det


def list_datasets(pattern: str | None = None) -> list[str]:
    load_plugins()
    return DATASETS.names(pattern)


def list_layouts() -> list[str]:
    """Registered dataset layouts, in the order ``--dataset PATH`` tries them."""
    return layouts_in_order()


def load_detector(directory: str | Path) -> BaseDetector:
    """Rebuild a fitted detector saved with ``BaseDetector.save``."""
    directory = Path(directory)
    spec_file = directory / "detector.json"
    if not spec_file.is_file():
        raise FileNotFoundError(f"{spec_file}: no saved detector here")
    spec = json.loads(spec_file.read_text())
    det = create_detector(spec["name"], **spec["params"])
    det._load_fitted(directory)
    det.fitted_ = True
    return det
