"""Crops: annotated boxes (OpenForensics COCO) and detected faces (``--crop-faces``).

Faces are found with OpenCV's frontal-face Haar cascade (Viola & Jones 2001), whose model file
ships inside opencv-contrib-python (``cv2.data.haarcascades``): nothing downloads. The largest
face is kept and cropped square with a margin. OpenCV's stronger YuNet detector
(``cv2.FaceDetectorYN``) needs an ONNX model file that no installed package ships, and we did
not find a better detector whose weights ship in a wheel for our torch, so Haar it is: it
misses profile and small faces, which show up as ``no_face`` skips, counted.
Crops are written once as PNG (lossless) to ``<cache>/crops/`` keyed by the source file's
SHA-1, the box and the margin; a "no face" answer is cached too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.samples import DataError, cache_dir, read_image

CASCADE = "haarcascade_frontalface_default.xml"
FACE_VERSION = 1  # bump when detection or cropping changes: part of the dataset fingerprint


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
    path: Path, sha1: str, margin: float, box: tuple[float, ...] | None = None
) -> Path | None:
    """The cached crop of the largest face in ``path`` (None when there is no face)."""
    tag = "" if box is None else "-box" + "_".join(f"{v:g}" for v in box)
    out = _crop_dir() / f"{sha1[:20]}{tag}-face-m{margin:g}.png"
    none = out.with_suffix(".noface")
    if out.is_file():
        return out
    if none.is_file():
        return None
    image = read_image(path)
    faces = detect_faces(image)
    crop = crop_square(image, faces[0], margin) if faces else None
    if crop is None:
        none.touch()
        return None
    return _save_png(out, np.ascontiguousarray(crop))
