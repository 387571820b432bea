"""MTCNN faces aligned as DeepfakeBench aligns them (``--crop-faces mtcnn``).

MTCNN (Zhang, Zhang, Li & Qiao, "Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks", IEEE Signal Processing Letters 2016) finds faces with three cascaded
networks (P-, R-, O-Net) and gives five landmarks per face: the two eye centres, the nose tip
and the two mouth corners. The networks' weights ship inside the ``facenet-pytorch`` wheel
(Esler; ``facenet_pytorch/data/{pnet,rnet,onet}.pt``, state dicts converted from the authors'
release). Its metadata pins torch < 2.3 and numpy < 2, so it is installed without its
dependencies (``make setup`` runs ``pip install --no-deps facenet-pytorch==2.6.0``). Its
``MTCNN`` class loads the weights with a bare ``torch.load``, so we never build it: its three
network classes are built empty, their state dicts loaded here with ``weights_only=True``,
strictly, after checking each file's pinned SHA-256, and its cascade (``detect_face``) runs
them. Nothing downloads.

Alignment follows DeepfakeBench (Yan, Zhang, Yuan & Wu, "DeepfakeBench: A Comprehensive
Benchmark of Deepfake Detection", NeurIPS 2023 Datasets and Benchmarks): the largest face's
five landmarks are mapped by a least-squares similarity transform (Umeyama 1991) onto ArcFace's
112-px five-point template (Deng, Guo, Xue & Zafeiriou, "ArcFace: Additive Angular Margin Loss
for Deep Face Recognition", CVPR 2019) scaled to the output size and shrunk by the margin
``scale`` = 1.3 about the centre, and the image is warped to ``size`` = 256 px (bilinear, black
outside the image). DeepfakeBench takes its five points from dlib's 81-point model (an upper
eyelid point per eye); MTCNN gives eye centres, the points the template was drawn for.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.samples import DataError

PACKAGE = "facenet-pytorch"
PINNED_VERSION = "2.6.0"
INSTALL_HINT = f"pip install --no-deps {PACKAGE}=={PINNED_VERSION} (make setup runs it)"
# SHA-256 of the state dicts in the facenet-pytorch wheel (unchanged since its 2.2 releases)
WEIGHTS_SHA256 = {
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
ALIGN_VERSION = 1  # bump when detection or alignment changes: part of the crop cache key
# ArcFace's five points (eyes, nose, mouth corners) in a 112 x 112 face: its 96-wide template
# shifted 8 px right, as DeepfakeBench and insightface use it
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ]
)


@dataclass(frozen=True)
class MtcnnOptions:
    """What an MTCNN crop depends on besides the image (all of it goes in the cache key).

    Attributes:
        size: side of the aligned crop, px.
        scale: margin: the template is shrunk by this factor about the crop's centre.
        min_face: smallest face searched for, px.
        thresholds: P-, R- and O-Net score thresholds.
        factor: scale step of the image pyramid.
    """

    size: int = 256
    scale: float = 1.3
    min_face: int = 20
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    factor: float = 0.709


@dataclass(frozen=True)
class Face:
    """One detection: ``box = (x0, y0, x1, y1)``, its score, ``landmarks`` (5, 2) as (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


def weight_files() -> dict[str, Path]:
    """The three state-dict files of the installed wheel, each checked against its SHA-256.

    Raises:
        DataError: facenet-pytorch is missing, or a file is missing or differs from the pin.
    """
    return dict(_weight_files())


@functools.lru_cache(maxsize=1)
def _weight_files() -> tuple[tuple[str, Path], ...]:
    try:
        files = {p.name: p for p in importlib.metadata.files(PACKAGE) or ()}
    except importlib.metadata.PackageNotFoundError:
        files = {}
    out = []
    for name, sha in WEIGHTS_SHA256.items():
        if f"{name}.pt" not in files:
            raise DataError(
                f"--crop-faces mtcnn needs MTCNN's weights facenet_pytorch/data/{name}.pt, "
                f"shipped by the {PACKAGE} wheel, which is not installed: {INSTALL_HINT}"
            )
        path = Path(files[f"{name}.pt"].locate())
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != sha:
            raise DataError(f"{path}: SHA-256 {got[:16]}... is not the pinned {sha[:16]}...")
        out.append((name, path))
    return tuple(out)


def detector_version() -> str:
    """``facenet-pytorch <version>, weights <sha>``: what the crop cache key records."""
    weight_files()  # raises when missing
    combined = hashlib.sha256("".join(WEIGHTS_SHA256.values()).encode()).hexdigest()
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}, weights {combined[:12]}"


def cache_key(options: MtcnnOptions = MtcnnOptions()) -> str:
    """Short hash of the detector, its version, the alignment version and ``options``."""
    what = {
        "detector": "mtcnn",
        "version": detector_version(),
        "align": ALIGN_VERSION,
        "options": asdict(options),
    }
    return hashlib.sha1(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def _nets() -> tuple[Any, Any, Any]:
    import torch
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    files = weight_files()
    nets = []
    for name, cls in (("pnet", PNet), ("rnet", RNet), ("onet", ONet)):
        net = cls(pretrained=False)
        state = torch.load(files[name], map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
        nets.append(net.eval())
    return tuple(nets)


def detect(image: np.ndarray, options: MtcnnOptions = MtcnnOptions()) -> list[Face]:
    """Faces in an RGB uint8 image, largest box first (empty when none)."""
    import torch
    from facenet_pytorch.models.utils.detect_face import detect_face

    if min(image.shape[:2]) < options.min_face:  # the pyramid would be empty
        return []
    with torch.no_grad():
        boxes, points = detect_face(
            np.ascontiguousarray(image),
            options.min_face,
            *_nets(),
            list(options.thresholds),
            options.factor,
            torch.device("cpu"),
        )
    faces = [
        Face(tuple(float(v) for v in b[:4]), float(b[4]), np.asarray(p, dtype=np.float64))
        for b, p in zip(boxes[0], points[0], strict=True)
    ]
    return sorted(faces, key=lambda f: -f.area)


def template(size: int, scale: float) -> np.ndarray:
    """ArcFace's five points for a ``size`` px crop with margin ``scale``, shape (5, 2)."""
    centre = size / 2
    return centre + (ARCFACE_112 * size / 112 - centre) / scale


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2 x 3 similarity (rotation, uniform scale, shift) that best maps ``src`` onto
    ``dst`` in least squares (Umeyama, "Least-squares estimation of transformation parameters
    between two point patterns", IEEE TPAMI 1991); both (n, 2), n >= 2."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s**2).sum(1).mean()
    if var <= 0:
        raise ValueError("similarity: the source points coincide")
    u, sv, vt = np.linalg.svd(d.T @ s / len(src))
    flip = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ flip @ vt
    k = float(np.trace(np.diag(sv) @ flip) / var)
    return np.hstack([k * rot, (mu_d - k * rot @ mu_s)[:, None]])


def align(
    image: np.ndarray, landmarks: np.ndarray, size: int = 256, scale: float = 1.3
) -> tuple[np.ndarray, np.ndarray]:
    """The ``size`` px face whose five ``landmarks`` land on the template; and the 2 x 3 map."""
    import cv2

    m = similarity(landmarks, template(size, scale))
    crop = cv2.warpAffine(
        image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return crop, m


def aligned_face(
    image: np.ndarray, options: MtcnnOptions = MtcnnOptions()
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The largest face aligned (None when no face) and what was found: its box
    ``[x, y, w, h]``, score, landmarks and the source size, in source pixels."""
    faces = detect(image, options)
    if not faces:
        return None, {"detector": "mtcnn", "faces": 0}
    face = faces[0]
    crop, _ = align(image, face.landmarks, options.size, options.scale)
    x0, y0, x1, y1 = face.box
    info = {
        "detector": "mtcnn",
        "faces": len(faces),
        "box": [round(v, 2) for v in (x0, y0, x1 - x0, y1 - y0)],
        "score": round(face.score, 5),
        "landmarks": np.round(face.landmarks, 2).tolist(),
        "source": [int(image.shape[1]), int(image.shape[0])],
    }
    return np.ascontiguousarray(crop), info
