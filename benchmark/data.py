"""Samples, datasets and the folder loader.

A ``Sample`` is one image: an id, a label (0 real, 1 fake), the file it came from (when it
came from a file — the metadata baseline reads the stored file, not just pixels) and free
metadata (manipulation family, generator, source photo, ...) so every result can be broken
down by it. A ``Dataset`` is named splits of samples plus a fingerprint used as a cache key.

Folder layout accepted by ``--dataset PATH``::

    PATH/real/*.png|jpg|...   PATH/fake/...                  (split here: stratified, seeded)
    PATH/{train,val,test}/{real,fake}/...                    (splits given)

Sub-folders below ``real/`` or ``fake/`` are walked; the first one is recorded as
``meta["family"]`` for fakes (e.g. ``fake/faceswap/x.png``).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class DataError(ValueError):
    """Bad input data; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One image. ``pixels`` (RGB uint8 HxWx3) is set for in-memory images, else ``path``."""

    id: str
    label: int
    path: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    pixels: np.ndarray | None = field(default=None, repr=False)

    def load(self) -> np.ndarray:
        """RGB uint8 array of shape (H, W, 3)."""
        if self.pixels is not None:
            return self.pixels
        if self.path is None:
            raise DataError(f"sample {self.id}: has neither pixels nor a path")
        return read_image(self.path)

    def with_pixels(self, pixels: np.ndarray, **meta: Any) -> Sample:
        """Same sample (id, label) with new in-memory pixels and extra metadata."""
        return Sample(self.id, self.label, None, {**self.meta, **meta}, pixels)

    def with_path(self, path: Path, **meta: Any) -> Sample:
        return Sample(self.id, self.label, Path(path), {**self.meta, **meta})


ImagesLike = Union[Sequence[Sample], Sequence[np.ndarray], np.ndarray]  # noqa: UP007 (runtime alias, py3.10)


def as_samples(images: ImagesLike | None) -> list[Sample]:
    """Accept samples, a list of HxWx3 arrays, an (N, H, W, 3) array, or image paths."""
    if images is None:
        return []
    out = []
    for i, item in enumerate(images):
        if isinstance(item, Sample):
            out.append(item)
        elif isinstance(item, (str, Path)):
            out.append(Sample(Path(item).name, -1, Path(item)))
        else:
            out.append(
                Sample(f"img{i}", -1, None, {}, to_rgb_uint8(np.asarray(item), f"image {i}"))
            )
    return out


def to_rgb_uint8(arr: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate and convert gray/RGBA/float images to RGB uint8 (H, W, 3)."""
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise DataError(f"{what}: expected HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8, with an error naming the file on failure."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            return to_rgb_uint8(np.asarray(im.convert("RGB")), str(path))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None


@dataclass
class Dataset:
    """Named splits of samples. ``fingerprint`` changes whenever the content does."""

    name: str
    splits: dict[str, list[Sample]]
    fingerprint: str
    description: str = ""

    def __post_init__(self) -> None:
        for split in SPLITS:
            self.splits.setdefault(split, [])

    @property
    def train(self) -> list[Sample]:
        return self.splits["train"]

    @property
    def val(self) -> list[Sample]:
        return self.splits["val"]

    @property
    def test(self) -> list[Sample]:
        return self.splits["test"]

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            split: {"real": sum(s.label == 0 for s in ss), "fake": sum(s.label == 1 for s in ss)}
            for split, ss in self.splits.items()
        }

    def subset(self, per_split: int, seed: int = 0) -> Dataset:
        """A class-balanced random subset with at most ``per_split`` samples per split."""
        rng = np.random.default_rng(seed)
        splits = {}
        for split, samples in self.splits.items():
            picked: list[Sample] = []
            for label in (0, 1):
                idx = [i for i, s in enumerate(samples) if s.label == label]
                take = rng.permutation(idx)[: per_split // 2]
                picked.extend(samples[i] for i in sorted(take))
            splits[split] = picked
        fp = hashlib.sha1(f"{self.fingerprint}:{per_split}:{seed}".encode()).hexdigest()[:16]
        return Dataset(f"{self.name}", splits, fp, self.description)


def load_folder(
    root: str | Path, seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.2
) -> Dataset:
    """Load ``root/{real,fake}`` (or ``root/{train,val,test}/{real,fake}``) as a Dataset."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    given = [s for s in SPLITS if (root / s).is_dir()]
    if given:
        splits = {s: _scan_labelled(root / s, root) for s in given}
        if "train" not in splits or not splits["train"]:
            raise DataError(
                f"{root}: has split folders {given} but no images under train/real|fake"
            )
        if not splits.get("val"):
            splits["train"], splits["val"] = _stratified_split(splits["train"], val_frac, seed)
    else:
        samples = _scan_labelled(root, root)
        train_val, test = _stratified_split(samples, test_frac, seed)
        train, val = _stratified_split(train_val, val_frac / (1 - test_frac), seed + 1)
        splits = {"train": train, "val": val, "test": test}
    h = hashlib.sha1()
    for split in SPLITS:
        for s in splits.get(split, []):
            st = s.path.stat() if s.path else None
            h.update(
                f"{split}:{s.id}:{s.label}:{st.st_size if st else 0}:"
                f"{st.st_mtime_ns if st else 0}".encode()
            )
    return Dataset(root.name, splits, h.hexdigest()[:16], f"image folder {root}")


def _scan_labelled(folder: Path, root: Path) -> list[Sample]:
    samples: list[Sample] = []
    missing = [name for name in ("real", "fake") if not (folder / name).is_dir()]
    if missing:
        raise DataError(
            f"{folder}: missing sub-folder(s) {', '.join(missing)} (expected real/ and fake/)"
        )
    for label_name, label in (("real", 0), ("fake", 1)):
        sub = folder / label_name
        files = sorted(
            p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        if not files:
            raise DataError(f"{sub}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for p in files:
            rel = p.relative_to(sub)
            meta = {"family": rel.parts[0] if len(rel.parts) > 1 else label_name}
            samples.append(Sample(str(p.relative_to(root)), label, p, meta))
    return samples


def _stratified_split(
    samples: list[Sample], frac: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    from sklearn.model_selection import train_test_split

    labels = [s.label for s in samples]
    if min(labels.count(0), labels.count(1)) < 2:
        raise DataError("need at least 2 real and 2 fake images to split")
    a, b = train_test_split(samples, test_size=frac, random_state=seed, stratify=labels)
    return sorted(a, key=lambda s: s.id), sorted(b, key=lambda s: s.id)


def load_dataset(
    name_or_path: str, *, seed: int = 0, quick: bool = False, **options: Any
) -> Dataset:
    """A registered dataset by name (``default``) or an image folder by path."""
    from benchmark.registry import DATASETS, load_plugins

    load_plugins()
    if name_or_path in DATASETS.names():
        factory = DATASETS.get(name_or_path).factory
        known = dataset_options(factory)
        unknown = sorted(set(options) - set(known))
        if unknown and known is not None:
            raise ValueError(
                f"dataset {name_or_path!r} has no option {', '.join(map(repr, unknown))}; "
                f"its options: {', '.join(sorted(known)) or 'none'}"
            )
        return factory(seed=seed, quick=quick, **options)
    path = Path(name_or_path).expanduser()
    if path.exists() or "/" in name_or_path or name_or_path.startswith("."):
        if options:
            raise ValueError(
                f"{path}: dataset options ({', '.join(sorted(options))}) apply only to "
                "registered datasets, not to a folder"
            )
        return load_folder(path, seed=seed)
    DATASETS.get(name_or_path)  # raises with a "did you mean"
    raise AssertionError  # unreachable


def dataset_options(factory: Any) -> dict[str, Any] | None:
    """A dataset factory's options beyond ``seed``/``quick`` with their defaults (None: any)."""
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name: p.default for p in params if p.name not in ("seed", "quick")}


def cache_dir() -> Path:
    """Root of fakebench's caches: ``$FAKEBENCH_CACHE`` or ``~/.cache/fakebench``."""
    import os

    root = Path(os.environ.get("FAKEBENCH_CACHE", Path.home() / ".cache" / "fakebench"))
    root.mkdir(parents=True, exist_ok=True)
    return root
