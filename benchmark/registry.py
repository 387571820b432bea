"""The registry's tables: detectors, datasets and dataset layouts, with a decorator for each.

Modelled on timm's ``_registry.py`` and torchvision's ``_api.py``, minus their warts: a
duplicate name is an error and an unknown name suggests the nearest ones. This module is a leaf
that only holds tables; discovery (built-in modules, the ``fakebench.detectors`` entry-point
group) and creation by name (``create_detector``, ``list_detectors``, ``load_detector``) sit one
level above it, in ``benchmark.plugins``.

Factories must keep heavy imports (torch, cv2, sklearn) inside the function or ``fit`` so
``python -m benchmark list`` stays instant.
"""

from __future__ import annotations

import difflib
import fnmatch
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from benchmark.core.samples import MIN_SIDE
from benchmark.protocol import DetectorMeta

log = logging.getLogger(__name__)


class RegistryError(KeyError):
    """Unknown or duplicate registry name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable[..., Any]
    meta: Any  # DetectorMeta for detectors, None for datasets, LayoutMeta for layouts
    module: str
    help: str


class Registry:
    """A name → factory table with wildcard lookup."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry) -> None:
        if entry.name in self._entries:
            other = self._entries[entry.name]
            raise RegistryError(
                f"{self.kind} {entry.name!r} is registered twice: {other.module} and {entry.module}"
            )
        self._entries[entry.name] = entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self, patterns: str | Iterable[str] | None = None) -> list[str]:
        """Names matching comma-separated fnmatch patterns, in natural order."""
        names = sorted(self._entries, key=_natural_key)
        if patterns is None:
            return names
        if isinstance(patterns, str):
            patterns = [p.strip() for p in patterns.split(",") if p.strip()]
        out: list[str] = []
        for pattern in patterns:
            hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
            if not hits:
                hits = [n for n in names if fnmatch.fnmatchcase(n, f"*{pattern}*")]
            if not hits:
                raise RegistryError(self._unknown(pattern))
            out.extend(h for h in hits if h not in out)
        return out

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(self._unknown(name)) from None

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (see `python -m benchmark list`)"


DETECTORS = Registry("detector")
DATASETS = Registry("dataset")
LAYOUTS = Registry("layout")


def register_detector(
    *,
    family: str,
    paper: str,
    input_size: int | None,
    normalisation: str,
    needs_gpu: bool = False,
    needs_files: bool = False,
    min_side: int = MIN_SIDE,
    name: str | None = None,
    recipe: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a factory ``fn(**overrides) -> detector`` under ``name`` (default: its name).

    ``min_side`` is the smallest shorter side (px) of a stored image the detector can use
    (``DetectorMeta.min_side``; default ``MIN_SIDE``, the loader's own floor). ``recipe``: the
    source report's own parameters, which ``run --recipe paper`` applies.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        entry_name = name or fn.__name__
        meta = DetectorMeta(
            entry_name, family, paper, input_size, normalisation, needs_gpu, needs_files,
            min_side, dict(recipe or {}),
        )  # fmt: skip
        doc = (fn.__doc__ or "").strip().splitlines()
        DETECTORS.add(Entry(entry_name, fn, meta, fn.__module__, doc[0] if doc else ""))
        return fn

    return decorator


def register_dataset(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a dataset builder ``fn(**options) -> benchmark.data.Dataset``."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = (fn.__doc__ or "").strip().splitlines()
        DATASETS.add(Entry(name, fn, None, fn.__module__, doc[0] if doc else ""))
        return fn

    return decorator


@dataclass(frozen=True)
class LayoutMeta:
    """How a dataset layout is recognised: ``detect(root) -> bool``, tried by ``priority``."""

    detect: Callable[[Any], bool]
    priority: int
    description: str


def register_layout(
    name: str, *, detect: Callable[[Any], bool], priority: int, description: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a layout scanner ``fn(root, **options) -> benchmark.data.manifest.Scan``.

    ``--dataset PATH`` tries the layouts' ``detect`` in increasing ``priority`` and uses the
    first that answers True; ``--layout NAME`` forces one.
    """

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        meta = LayoutMeta(detect, priority, description)
        LAYOUTS.add(Entry(name, fn, meta, fn.__module__, description))
        return fn

    return decorator


def pin_params(kw: dict[str, Any], **pinned: Any) -> dict[str, Any]:
    """``kw`` plus a variant factory's pinned parameters.

    Repeating a pinned value (as ``load_detector`` does with saved params) is fine; a different
    value is an error, since the variant's name promises it.
    """
    for key, value in pinned.items():
        if kw.get(key, value) != value:
            raise TypeError(f"this variant fixes {key}={value!r}; got {key}={kw[key]!r}")
    return kw | pinned


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
