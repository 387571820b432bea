"""Layout ``coco``: OpenForensics-style COCO annotations, one face crop per box.

OpenForensics (Le et al., ICCV 2021; used by Congiu, Giuffrida, Littera & Puglisi, "Deep
Learning and Applications, Module I - Deepfake Detection", 2025) ships images with many faces
and ``Train_poly.json``, ``Val_poly.json``, ``Test-Dev_poly.json``, ``Test-Challenge_poly.json``
in COCO format. Every annotation's ``bbox = [x, y, w, h]`` becomes one sample: the face cropped
square with a margin (``box_margin``, default 0.2 of the side) into the crop cache. Its label is
the category: by name when the categories are named real/fake, else id 0 real / 1 fake. The
faces of one image share a group, so an automatic split keeps them together.

Split from the file name: Train → train, Val → val, Test-Dev → test; Test-Challenge is the test
split only when there is no Test-Dev. Any other ``*.json`` at the root with ``images`` and
``annotations`` is read as well (split from its name when it has one, else none).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from benchmark.core.samples import DataError
from benchmark.data.checks import skip
from benchmark.data.folders import SPLIT_NAMES
from benchmark.data.lists import read_text
from benchmark.data.manifest import Record, Scan
from benchmark.registry import register_layout

OPENFORENSICS = {"train": "train", "val": "val", "test-dev": "test", "test-challenge": "challenge"}


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*.json") if p.is_file() and p.name != "manifest.json")


def _split_of(path: Path) -> str | None:
    stem = path.stem.lower().removesuffix("_poly")
    return OPENFORENSICS.get(stem) or SPLIT_NAMES.get(stem)


def detect(root: Path) -> bool:
    return any(p.name.lower().endswith("_poly.json") for p in _files(root))


def load_coco(path: Path) -> dict[str, Any]:
    """A COCO json with ``images`` and ``annotations`` lists, or a DataError naming the file."""
    try:
        doc = json.loads(read_text(path))
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("images"), list)
        or not isinstance(doc.get("annotations"), list)
    ):
        raise DataError(f"{path}: not COCO (needs 'images' and 'annotations' lists)")
    return doc


def _category_labels(doc: dict[str, Any]) -> dict[Any, int]:
    cats = [c for c in doc.get("categories") or [] if isinstance(c, dict)]
    named = {c.get("id"): str(c.get("name", "")).lower() for c in cats}
    if named and set(named.values()) >= {"real", "fake"}:
        return {k: 0 if v == "real" else 1 for k, v in named.items() if v in ("real", "fake")}
    return {0: 0, 1: 1}


def _box(value: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(value, list) or len(value) != 4:
        return None
    try:
        box = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        return None
    return box  # type: ignore[return-value]


def records_from(
    doc: dict[str, Any], where: Path, root: Path, split: str | None
) -> tuple[list[Record], list[dict[str, str]]]:
    """Records (one per box) and skips of one parsed COCO document."""
    images: dict[Any, str] = {}
    for im in doc["images"]:
        if isinstance(im, dict) and isinstance(im.get("file_name"), str) and "id" in im:
            try:
                images[im["id"]] = im["file_name"]
            except TypeError:  # unhashable id
                continue
    labels = _category_labels(doc)
    records, skipped = [], []
    for i, ann in enumerate(doc["annotations"]):
        tag = f"{where.name}: annotation {i}"
        if not isinstance(ann, dict):
            skipped.append(skip(tag, "bad_box", "not an object"))
            continue
        try:
            name = images.get(ann.get("image_id"))
            label = labels.get(ann.get("category_id"))
        except TypeError:
            name = label = None
        box = _box(ann.get("bbox"))
        if name is None or "\x00" in name:
            skipped.append(skip(tag, "bad_label", "image_id not in images"))
        elif label is None:
            skipped.append(skip(tag, "bad_label", f"category {ann.get('category_id')!r}"[:80]))
        elif box is None:
            skipped.append(skip(tag, "bad_box", f"bbox {ann.get('bbox')!r}"[:80]))
        else:
            path = _image_path(root, name, split)
            group = str(ann.get("image_id"))
            records.append(Record(path, label, split, group=f"{where.stem}:{group}", box=box))
    return records, skipped


def _image_path(root: Path, name: str, split: str | None) -> Path:
    direct = root / name
    if direct.exists() or split is None:
        return direct
    for folder in ("Train", "Val", "Test-Dev", "Test-Challenge", "Images", "images"):
        if (root / folder / name).exists():
            return root / folder / name
    return direct


@register_layout(
    "coco",
    detect=detect,
    priority=10,
    description="OpenForensics COCO *_poly.json: every face box [x, y, w, h] cropped",
)
def scan(root: Path) -> Scan:
    """Records of every annotated face box in the root's COCO files."""
    files = [p for p in _files(root) if _split_of(p) or p.name.lower().endswith("_poly.json")]
    if not files:
        raise DataError(f"{root}: no COCO *_poly.json annotation file")
    by_split: dict[str | None, list[Path]] = {}
    for f in files:
        by_split.setdefault(_split_of(f), []).append(f)
    if "test" not in by_split and "challenge" in by_split:
        by_split["test"] = by_split.pop("challenge")
    by_split.pop("challenge", None)
    records, skipped = [], []
    for split, group in by_split.items():
        for f in group:
            recs, skips = records_from(load_coco(f), f, root, split)
            records += recs
            skipped += skips
    return Scan("coco", root, records, skipped)
