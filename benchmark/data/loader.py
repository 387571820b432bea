"""``load_dataset``: a registered dataset by name, or a folder in any supported layout.

``--dataset PATH`` tries every registered layout's ``detect`` in priority order (``coco``,
``datalist``, ``yolo``, ``csv``, ``video``, ``folders``; ``python -m benchmark datasets`` lists
them) and the first that recognises the folder scans it; ``--layout NAME`` forces one. The
scan then goes through :func:`benchmark.data.manifest.build_dataset` (checks, crops, splits).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from pathlib import Path
from typing import Any

from benchmark.core import events
from benchmark.core.samples import MIN_SIDE, DataError, Dataset
from benchmark.data.faces import face_method
from benchmark.data.manifest import build_dataset
from benchmark.data.video import FRAMES_PER_VIDEO
from benchmark.registry import DATASETS, LAYOUTS

log = logging.getLogger(__name__)

# options a folder accepts (``--dataset-opt KEY=VALUE``); the rest are for registered datasets
FOLDER_OPTIONS = {
    "layout": None,
    "crop_faces": False,
    "face_margin": 0.3,
    "box_margin": 0.2,
    "min_side": MIN_SIDE,
    "frames_per_video": FRAMES_PER_VIDEO,
    "val_frac": 0.15,
    "test_frac": 0.2,
}


_errors: dict[str, str] = {}
_imported = False


def register_builtin() -> dict[str, str]:
    """Import every module of this package once: each layout and dataset registers itself
    (``@register_layout``, ``@register_dataset``), so no module is named here. Returns the
    modules that failed to import, with their error (the others still register)."""
    global _imported
    if not _imported:
        _imported = True
        here = [str(Path(__file__).parent)]  # this package's folder, without importing it again
        for mod in pkgutil.walk_packages(here, prefix="benchmark.data."):
            try:
                importlib.import_module(mod.name)
            except Exception as exc:  # noqa: BLE001 - a broken layout must not take the others down
                _errors[mod.name] = f"{type(exc).__name__}: {exc}"
                log.warning("dataset module %s failed to load: %s", mod.name, exc)
    return dict(_errors)


def layouts_in_order() -> list[str]:
    """Registered dataset layouts, in the order ``--dataset PATH`` tries them."""
    register_builtin()
    return sorted(LAYOUTS.names(), key=lambda n: LAYOUTS.get(n).meta.priority)


def detect_layout(root: Path) -> str:
    """Name of the first registered layout that recognises ``root``."""
    names = layouts_in_order()
    for name in names:
        try:
            if LAYOUTS.get(name).meta.detect(root):
                return name
        except OSError as exc:
            raise DataError(f"{root}: cannot be read ({exc})") from None
    hints = "; ".join(f"{n}: {LAYOUTS.get(n).meta.description}" for n in names)
    raise DataError(
        f"{root}: no known dataset layout recognised it (missing fake/? real/?). Layouts: {hints}"
    )


def load_folder(
    root: str | Path,
    seed: int = 0,
    val_frac: float = 0.15,
    test_frac: float = 0.2,
    *,
    layout: str | None = None,
    crop_faces: bool | str = False,
    face_margin: float = 0.3,
    box_margin: float = 0.2,
    min_side: int = MIN_SIDE,
    frames_per_video: int = FRAMES_PER_VIDEO,
) -> Dataset:
    """Load a dataset folder in any registered layout (detected unless ``layout`` is given).

    Args:
        root: the dataset folder.
        seed: seed of the split when the layout gives none.
        val_frac, test_frac: fractions split off when no split is given.
        layout: force a layout by name (``folders``, ``datalist``, ``yolo``, ``csv``, ``coco``,
            ``video``).
        crop_faces: replace every image by its largest face: ``haar`` (or True; OpenCV's
            Haar cascade, a square crop) or ``mtcnn`` (aligned as DeepfakeBench, 256 px);
            images without a face are counted skips.
        face_margin, box_margin: margin around a detected face / an annotated box, as a
            fraction of its side.
        min_side: images smaller than this (px) are counted skips.
        frames_per_video: frames sampled evenly per video, the same in every split (every
            layout of videos: ``video``, ``ff++``, ``celeb-df``, ``dfdc``, ...).

    Returns:
        The dataset; ``dataset.skipped`` lists the files left out with their reason.
    """
    register_builtin()
    method = face_method(crop_faces)  # an unknown method fails before the scan
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    name = layout or detect_layout(root)
    scanner = LAYOUTS.get(name).factory
    takes = inspect.signature(scanner).parameters
    kwargs = {"frames_per_video": frames_per_video} if "frames_per_video" in takes else {}
    scan = scanner(root, **kwargs)
    if not scan.records and not scan.skipped:
        raise DataError(f"{root}: the {name} layout found no image")
    suffix = {None: "", "haar": "-faces"}.get(method, f"-faces-{method}")
    return build_dataset(
        scan,
        name=root.resolve().name + suffix,
        seed=seed,
        val_frac=val_frac,
        test_frac=test_frac,
        min_side=min_side,
        crop_faces=crop_faces,
        face_margin=face_margin,
        box_margin=box_margin,
        progress=events.emit,
    )


def load_dataset(
    name_or_path: str, *, seed: int = 0, quick: bool = False, **options: Any
) -> Dataset:
    """A registered dataset by name (``default``) or a dataset folder by path.

    Folder options are those of :func:`load_folder` (``layout``, ``crop_faces``, ...).
    """
    register_builtin()
    if name_or_path in DATASETS.names():
        factory = DATASETS.get(name_or_path).factory
        known = dataset_options(factory)
        unknown = sorted(set(options) - set(known or {}))
        if unknown and known is not None:
            raise ValueError(
                f"dataset {name_or_path!r} has no option {', '.join(map(repr, unknown))}; "
                f"its options: {', '.join(sorted(known)) or 'none'}"
            )
        return factory(seed=seed, quick=quick, **options)
    path = Path(name_or_path).expanduser()
    if path.exists() or "/" in name_or_path or name_or_path.startswith("."):
        unknown = sorted(set(options) - set(FOLDER_OPTIONS))
        if unknown:
            raise ValueError(
                f"{path}: dataset options ({', '.join(unknown)}) apply only to registered "
                f"datasets, not to a folder (folder options: {', '.join(FOLDER_OPTIONS)})"
            )
        return load_folder(path, seed=seed, **options)
    DATASETS.get(name_or_path)  # raises with a "did you mean"
    raise AssertionError  # unreachable


def dataset_options(factory: Any) -> dict[str, Any] | None:
    """A dataset factory's options beyond ``seed``/``quick`` with their defaults (None: any)."""
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name: p.default for p in params if p.name not in ("seed", "quick")}
