"""ImageNet-C's frost: the image dimmed and blended with a crop of a real frost photograph.

Hendrycks & Dietterich 2019 blend one of five photographs of frosted glass (``frost1.png`` ..
``frost5.jpg``; the reference draws ``randint(5)``, so its sixth file is never used) into the
image. The photographs ship only inside the ``imagecorruptions`` package (Michaelis et al.
2019, Apache-2.0), whose dependencies include ``opencv-python``, which would overwrite the
``cv2`` of our ``opencv-contrib-python``. So the package is installed without its dependencies
(``pip install --no-deps imagecorruptions==1.1.2``; ``make setup`` does it) and never imported:
its files are found through ``importlib.metadata``. Without it, frost raises a ``RuntimeError``
that names the command. Generated textures were the alternative; real photographs keep frost
what ImageNet-C's mCE tables measured.

The photograph is cut as the reference cuts it for an image of 224 px on its shorter side
(enlarged 1.1x with a bicubic filter, a random crop), then resized to the image, so frost
covers the same share of any image.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math

import numpy as np

from benchmark.conditions.weather import reference_shape, resize_layer, to_unit

PACKAGE = "imagecorruptions"
FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")
INSTALL_HINT = f"pip install --no-deps {PACKAGE}==1.1.2"


@functools.lru_cache(maxsize=1)
def frost_photographs() -> tuple[np.ndarray, ...]:
    """ImageNet-C's five frost photographs as RGB uint8 arrays, read from the installed
    ``imagecorruptions`` distribution's files (the package itself is not imported).

    Raises:
        RuntimeError: the distribution or one of its frost files is missing or unreadable; the
            message names the install command.
    """
    import cv2

    try:
        files = {p.name: p for p in importlib.metadata.files(PACKAGE) or () if "frost" in str(p)}
    except importlib.metadata.PackageNotFoundError:
        files = {}
    out = []
    for name in FILES:
        if name not in files:
            raise RuntimeError(
                f"frost needs ImageNet-C's frost photograph {name}, shipped by the "
                f"{PACKAGE} package, which is not installed; install it without its "
                f"dependencies (they would replace OpenCV): {INSTALL_HINT}"
            )
        path = files[name].locate()
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError(f"frost: cannot read {path}; reinstall with {INSTALL_HINT}")
        out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _enlarged(index: int, rh: int, rw: int) -> np.ndarray:
    """Frost photograph ``index`` enlarged as the reference does for an ``rh`` x ``rw`` image
    (bicubic); cached, as most images of a run share one shape."""
    import cv2

    photo = frost_photographs()[index]
    fh, fw = photo.shape[:2]
    # the reference's four cases reduce to this: enlarge until the crop fits, then 10% more
    f = 1.1 * max(1.0, rh / fh, rw / fw)
    big = cv2.resize(photo, (math.ceil(fw * f), math.ceil(fh * f)), interpolation=cv2.INTER_CUBIC)
    big.flags.writeable = False  # shared by every call: crops are copied
    return big


def frost_layer(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``(h, w, 3)`` float32 crop of a frost photograph (0-255), cut as the reference
    cuts it for this image's 224-px version and resized to ``h`` x ``w``."""
    index = int(rng.integers(len(frost_photographs())))  # fails clearly without them
    rh, rw = reference_shape(h, w)
    big = _enlarged(index, rh, rw)
    top = int(rng.integers(0, max(1, big.shape[0] - rh)))
    left = int(rng.integers(0, max(1, big.shape[1] - rw)))
    crop = big[top : top + rh, left : left + rw].astype(np.float32)
    return resize_layer(crop, h, w).reshape(h, w, 3)


def frost(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """``c[0]`` times the image plus ``c[1]`` times a frost photograph crop."""
    h, w = x.shape[:2]
    return c[0] * to_unit(x) + c[1] * to_unit(frost_layer(h, w, rng))
