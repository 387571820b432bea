"""Crops: annotated boxes (OpenForensics COCO) and detected faces (``--crop-faces``).

Two face pipelines. ``haar``: OpenCV's frontal-face Haar cascade (Viola & Jones 2001), whose
model file ships inside opencv-contrib-python (``cv2.data.haarcascades``); the largest face is
cropped square with a margin (``face_margin`` of its side on each side), so the crop's size is
the face's. It misses profile and small faces. ``mtcnn``: MTCNN's largest face aligned to
ArcFace's five-point template at 256 px with margin 1.3, DeepfakeBench's crops
(:mod:`benchmark.data.faces_mtcnn`). Images without a face are ``no_face`` skips, counted, with
their class and (when the layout gave it) split, so :func:`detection_rates` reports the share of
faces found per split and class.
Crops are written once as PNG (lossless) to ``<cache>/crops/`` keyed by the source file's
SHA-1 and the box and margin (``haar``) or the detector, its version (facenet-pytorch version,
weights hash) and its options (``mtcnn``); a "no face" answer is cached too, and a JSON file
beside each new crop records the detection (box, score, landmarks, source size).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.samples import SPLITS, DataError, Dataset, Sample, cache_dir, read_image
from benchmark.data import faces_mtcnn

CASCADE = "haarcascade_frontalface_default.xml"
FACE_VERSION = 1  # bump when detection or cropping changes: part of the dataset fingerprint
METHODS = ("haar", "mtcnn")


def face_method(crop_faces: bool | str | None) -> str | None:
    """The face pipeline a ``crop_faces`` option names: None (no crop), ``haar`` or ``mtcnn``.

    ``True`` means ``haar`` (the option was a flag before MTCNN came).
    """
    if crop_faces in (None, False, "", "none", "false", "False"):
        return None
    if crop_faces is True or crop_faces in ("true", "True"):
        return "haar"
    if crop_faces not in METHODS:
        raise ValueError(f"crop_faces={crop_faces!r}: choose one of {', '.join(METHODS)}")
    return str(crop_faces)


def method_key(method: str | None) -> str:
    """What a pipeline's crops depend on beyond the image (part of the dataset fingerprint)."""
    if method == "mtcnn":
        return f"mtcnn:{faces_mtcnn.cache_key()}"
    return str(method == "haar")  # as the flag was written: old fingerprints stay valid


def crop_square(image: np.ndarray, box: tuple[float, ...], margin: float) -> np.ndarray | None:
    """Square crop around ``box = (x, y, w, h)`` grown by ``margin`` x its side, clipped."""
    x, y, w, h = (float(v) for v in box[:4])
    if not all(np.isfinite([x, y, w, h])) or w <= 0 or h <= 0:
        return None
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(max(0, round(cx - side / 2))), int(max(0, round(cy - side / 2)))
    x1 = int(min(image.shape[1], round(cx + side / 2)))
    y1 = int(min(image.shape[0], round(cy + side / 2)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return image[y0:y1, x0:x1]


def _crop_dir() -> Path:
    folder = cache_dir() / "crops"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(image).save(tmp)
    tmp.replace(path)
    return path


def crop_box_file(
    path: Path, sha1: str, box: tuple[float, ...], margin: float
) -> tuple[Path | None, str]:
    """The cached crop of ``box`` from ``path`` (or None and why)."""
    key = "_".join(f"{v:g}" for v in box)
    out = _crop_dir() / f"{sha1[:20]}-box{key}-m{margin:g}.png"
    if out.is_file():
        return out, ""
    try:
        crop = crop_square(read_image(path), box, margin)
    except DataError as exc:
        return None, str(exc)
    if crop is None:
        return None, "box empty or outside the image"
    return _save_png(out, np.ascontiguousarray(crop)), ""


@functools.lru_cache(maxsize=1)
def _cascade() -> Any:
    import cv2

    file = Path(cv2.data.haarcascades) / CASCADE
    clf = cv2.CascadeClassifier(str(file))
    if clf.empty():
        raise DataError(f"{file}: OpenCV's face cascade is missing (opencv-contrib-python 4.x)")
    return clf


def detect_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes ``(x, y, w, h)`` in an RGB uint8 image, largest first."""
    import cv2

    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    side = min(gray.shape)
    found = _cascade().detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(max(16, side // 8),) * 2
    )
    boxes = [tuple(int(v) for v in b) for b in found]
    return sorted(boxes, key=lambda b: -b[2] * b[3])


def face_crop_file(
    path: Path,
    sha1: str,
    margin: float,
    box: tuple[float, ...] | None = None,
    method: str = "haar",
) -> Path | None:
    """The cached crop of the largest face in ``path`` (None when there is no face).

    ``margin`` is the Haar crop's margin; ``mtcnn`` crops use
    :class:`~benchmark.data.faces_mtcnn.MtcnnOptions` (DeepfakeBench's alignment).
    """
    tag = "" if box is None else "-box" + "_".join(f"{v:g}" for v in box)
    if method == "mtcnn":
        out = _crop_dir() / f"{sha1[:20]}{tag}-mtcnn-{faces_mtcnn.cache_key()}.png"
    else:
        out = _crop_dir() / f"{sha1[:20]}{tag}-face-m{margin:g}.png"
    none = out.with_suffix(".noface")
    if out.is_file() and out.with_suffix(".json").is_file():  # a crop cached without its
        return out  # record (before records were written) is made again, identically
    if none.is_file():
        return None
    image = read_image(path)
    if method == "mtcnn":
        crop, info = faces_mtcnn.aligned_face(image)
    else:
        faces = detect_faces(image)
        crop = crop_square(image, faces[0], margin) if faces else None
        info = {"detector": "haar", "faces": len(faces)}
        if faces:
            info |= {"box": list(faces[0]), "source": [image.shape[1], image.shape[0]]}
    if crop is None:
        none.touch()
        return None
    _save_json(out.with_suffix(".json"), info)  # before the crop: a crop always has its record
    return _save_png(out, np.ascontiguousarray(crop))


def _save_json(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(path)


def face_info(crop: Path | str | None) -> dict[str, Any] | None:
    """What the detector found for a face crop (box in source pixels, ...); None if unknown."""
    if crop is None:
        return None
    try:
        return json.loads(Path(crop).with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None


def face_sides(samples: list[Sample]) -> np.ndarray:
    """Per sample, the detected face box's longer side in source pixels (NaN when unknown):
    the scale the crop was resampled from, a candidate shortcut even when crops share a size."""
    out = []
    for s in samples:
        box = (face_info(s.path) or {}).get("box")
        out.append(float(max(box[2], box[3])) if box else float("nan"))
    return np.array(out, dtype=np.float64)


def black_shares(samples: list[Sample]) -> np.ndarray:
    """Per sample, the share of pure-black pixels: an aligned crop's border outside the source
    image, which grows with the face's size there (NaN for an unreadable file)."""
    out = []
    for s in samples:
        try:
            out.append(float((s.load().max(axis=2) == 0).mean()))
        except DataError:
            out.append(float("nan"))
    return np.array(out, dtype=np.float64)


def no_face_skip(skip: dict[str, str], label: int, split: str | None) -> dict[str, str]:
    """A ``no_face`` skip record with the image's class and given split (``""``: none given)."""
    return skip | {"label": "fake" if label else "real", "split": split or ""}


def detection_rates(dataset: Dataset) -> list[dict[str, Any]]:
    """Faces found per split and class: ``{split, class, found, missed, rate}`` rows.

    ``found`` counts the samples of each split; ``missed`` the ``no_face`` skips. An image
    without a face has a split only when the layout gave one: with an automatic split it has
    none, so the per-split rates are None and only the ``all`` rows have a rate.
    """
    missed = [d for d in dataset.skipped if d.get("reason") == "no_face"]
    known = all(d.get("split") in SPLITS for d in missed)
    rows = []
    for split in (*SPLITS, "all"):
        samples = [s for sp in SPLITS if split in (sp, "all") for s in dataset.splits[sp]]
        found = Counter("fake" if s.label else "real" for s in samples)
        lost = Counter(d.get("label", "") for d in missed if split in (d.get("split"), "all"))
        for cls in ("real", "fake", "all"):
            f = sum(found.values()) if cls == "all" else found[cls]
            m = sum(lost.values()) if cls == "all" else lost[cls]
            rate = f / (f + m) if (known or split == "all") and f + m else None
            rows.append({"split": split, "class": cls, "found": f, "missed": m, "rate": rate})
    return rows


def detection_summary(dataset: Dataset, method: str) -> str:
    """One line for the load log: faces found per class (and per split when known)."""
    rows = detection_rates(dataset)

    def cell(r: dict[str, Any]) -> str:
        if r["rate"] is None:  # images without a face have no split: only the found count
            return f"{r['class']} {r['found']}"
        return f"{r['class']} {r['found']}/{r['found'] + r['missed']} ({r['rate']:.1%})"

    parts = [cell(r) for r in rows if r["split"] == "all"]
    per_split = [
        f"{r['split']} {cell(r)}" for r in rows if r["split"] != "all" and r["class"] != "all"
    ]
    if all(r["rate"] is None for r in rows if r["split"] != "all"):
        per_split.append("(split made after detection: faces found only)")
    return f"faces ({method}) found: {', '.join(parts)}; per split: {', '.join(per_split)}"
