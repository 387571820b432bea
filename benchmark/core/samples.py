"""Samples, datasets and reading one image the same way for every detector.

A ``Sample`` is one image: an id, a label (0 real, 1 fake), the file it came from (when it
came from a file — the metadata baseline reads the stored file, not just pixels) and free
metadata (manipulation family, generator, source photo, ...) so every result can be broken
down by it. A ``Dataset`` is named splits of samples plus a fingerprint used as a cache key.

Loaders for every layout live in ``benchmark.data`` (``folders``, ``lists``, ``csv_layout``,
``coco``, ``video``); they all end in :func:`benchmark.data.manifest.build_dataset`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
# Our own decompression-bomb guard (Pillow only warns below 2x its limit): images with more
# pixels than this are skipped at load, before anything decodes them.
MAX_PIXELS = 64_000_000
#: Smallest shorter side (px) of a stored image the loader keeps: the floor every detector's
#: ``min_side`` starts from.
MIN_SIDE = 8
# what Pillow raises on hostile files (struct.error, ZeroDivisionError: broken TIFF/BMP headers)
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    ZeroDivisionError,
    IndexError,
    struct.error,
    EOFError,
)


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


def stored_size(sample: Sample) -> tuple[int, int]:
    """``(width, height)`` of the image as stored, without decoding it when the size is known.

    In-memory pixels give their shape; a file's size comes from the check made at load (the
    ``width``/``height`` a layout's manifest records in ``meta``), else from its header only.
    EXIF rotation is not applied: it swaps the sides, the shorter one stays the same.
    """
    if sample.pixels is not None:
        h, w = sample.pixels.shape[:2]
        return int(w), int(h)
    w, h = sample.meta.get("width"), sample.meta.get("height")
    if w and h:
        return int(w), int(h)
    if sample.path is None:
        raise DataError(f"sample {sample.id}: has neither pixels nor a path")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(sample.path) as im:  # reads the header, decodes nothing
            return im.size
    except FileNotFoundError:
        raise DataError(f"{sample.path}: file not found") from None
    except (*READ_ERRORS, UnidentifiedImageError) as exc:
        raise DataError(f"{sample.path}: not a readable image ({type(exc).__name__})") from None


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
    """Read an image file as RGB uint8 (H, W, 3), with an error naming the file on failure.

    Every mode is converted the same way for every detector: EXIF orientation applied, grey
    and palette expanded, alpha dropped, CMYK converted by Pillow, 16/32-bit integer and float
    images scaled from their full range (16-bit: ``>> 8``) instead of Pillow's clipping.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise DataError(
                    f"{path}: {w}x{h} px exceeds the decompression-bomb guard ({MAX_PIXELS} px)"
                )
            return pil_to_rgb(ImageOps.exif_transpose(im), str(path))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except DataError:
        raise
    except Image.DecompressionBombError as exc:
        raise DataError(f"{path}: exceeds the decompression-bomb guard ({exc})") from None
    except (*READ_ERRORS, UnidentifiedImageError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None


def pil_to_rgb(im: Any, what: str = "image") -> np.ndarray:
    """A PIL image of any mode as RGB uint8, converted as :func:`read_image` documents."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return to_rgb_uint8(arr * (255.0 / top), what)
    if im.mode == "F":
        return to_rgb_uint8(np.asarray(im), what)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return to_rgb_uint8(np.asarray(im.convert("RGB")), what)


@dataclass
class Dataset:
    """Named splits of samples. ``fingerprint`` changes whenever the content does."""

    name: str
    splits: dict[str, list[Sample]]
    fingerprint: str
    description: str = ""
    # files left out at load: {"file", "reason", "detail"}; reasons are counted in reports
    skipped: list[dict[str, str]] = field(default_factory=list)
    # exact duplicate files found in two different splits: {"sha1", "splits", "files"}
    duplicates: list[dict[str, Any]] = field(default_factory=list)

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
        return Dataset(f"{self.name}", splits, fp, self.description, self.skipped, self.duplicates)

    def skip_counts(self) -> dict[str, int]:
        """Number of files skipped at load, per reason."""
        counts: dict[str, int] = {}
        for item in self.skipped:
            counts[item["reason"]] = counts.get(item["reason"], 0) + 1
        return dict(sorted(counts.items()))


def cache_dir() -> Path:
    """Root of fakebench's caches: ``$FAKEBENCH_CACHE`` or ``~/.cache/fakebench``."""
    import os

    root = Path(os.environ.get("FAKEBENCH_CACHE", Path.home() / ".cache" / "fakebench"))
    root.mkdir(parents=True, exist_ok=True)
    return root
