"""Image corruptions as pure functions ``(image, severity, rng) -> image``.

Every corruption takes an RGB uint8 ``(H, W, 3)`` array of any size, a severity 1-5 (0 is the
identity) and a ``numpy.random.Generator``, and returns a new array of the same shape and dtype;
the same generator state gives the same output. The parameter of each severity lives in one
table, ``TABLES``, next to its source:

* ImageNet-C (Hendrycks & Dietterich 2019, "Benchmarking neural network robustness to common
  corruptions and perturbations"; the tables of ``imagecorruptions``, Michaelis et al. 2019)
  wherever it defines the corruption: all 19 (its 15, ``IMAGENET_C_15``, and its 4 held-out
  ones, ``IMAGENET_C_EXTRA``), with "jpeg" for its "jpeg_compression" and "saturate" for its
  HSV saturation. ``tests/conditions/test_imagenet_c.py`` checks each against the reference's
  damage.
* DeeperForensics-1.0 (Jiang et al. 2020, ``perturbation/distortions.py``) for the rest: colour
  saturation (chroma scaling toward grey, "saturation", beside ImageNet-C's "saturate"),
  block-wise distortion, YCbCr colour noise, plus its own variants of contrast,
  Gaussian blur and "JPEG" (which is really down/up-scaling by 2-6x) under a ``df_`` prefix.
* Rain has no standard table; ours builds streaks like ImageNet-C builds snow (a motion-blurred
  sparse noise layer), with the dimming and whitish streaks of Albumentations' ``RandomRain``.

``family`` groups them as OpenForensics' Test-Challenge set does (Le et al. 2021): colour
changes, corruptions, distortions, external effects.

Size rule: ImageNet-C's spatial parameters (blur radii) were set for 224 px images and
DeeperForensics' block and kernel sizes for 256 px, so they are scaled by ``min(H, W) /
ref_side``; the snow and rain layers are drawn at 224 px and resized to the image. A corruption
thus does the same relative damage at 32 px as at 1024 px and reproduces the published tables
at the reference size. Fog (a fractal over the whole image) and pixelate are size-free already.

ImageNet-C's Wand and scikit-image primitives are replaced by OpenCV and scipy.ndimage ones (the
PyPI ``imagecorruptions`` 1.1.2 fails on current scikit-image and numpy); glass blur's per-pixel
Python loop is vectorised (``benchmark.blur``), and frost reads the reference's photographs from
an ``imagecorruptions`` installed without its dependencies (``benchmark.frost``). OpenCV is
imported inside the functions so that importing this module stays cheap.

The tables themselves live in ``benchmark.corruption_tables``, the fog, snow, rain and spatter
recipes in ``benchmark.weather``, glass and zoom blur in ``benchmark.blur`` and frost in
``benchmark.frost``; this module re-exports the tables and registers every corruption.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmark.conditions import blur, weather
from benchmark.conditions import frost as _frost
from benchmark.conditions.parameters import (  # noqa: F401 - re-exported: the public API
    DEEPERFORENSICS,
    FAKEBENCH,
    FAMILIES,
    IMAGECORRUPTIONS,
    IMAGENET_C,
    IMAGENET_C_15,
    IMAGENET_C_EXTRA,
    TABLES,
    Table,
    parameter_table,
)
from benchmark.conditions.weather import motion_kernel
from benchmark.conditions.weather import to_unit as _f

VERSION = 2  # bump when any recipe or table changes: rendered test sets are cached by it

Corruption = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
CORRUPTIONS: dict[str, Corruption] = {}
# One per family, cheap enough for ``run --all``: JPEG and blur first (``--quick`` keeps two).
DEFAULT_SUBSET: tuple[str, ...] = (
    "jpeg",
    "gaussian_blur",
    "gaussian_noise",
    "contrast",
    "saturation",
    "fog",
    "elastic_transform",
)


def _register(name: str) -> Callable[[Callable[..., Any]], Corruption]:
    """Wrap ``impl(uint8 image, level, rng, scale)`` into a checked ``(image, severity, rng)``."""
    table = TABLES[name]

    def decorator(impl: Callable[..., Any]) -> Corruption:
        def corruption(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
            image, severity = _check(image, severity, name)
            if severity == 0:
                return image.copy()
            scale = min(image.shape[:2]) / table.ref_side if table.ref_side else 1.0
            out = impl(image, table.levels[severity - 1], rng, scale)
            if out.dtype != np.uint8:  # float results are in [0, 1]
                out = np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
            return np.ascontiguousarray(out.reshape(image.shape))

        corruption.__name__ = corruption.__qualname__ = name
        corruption.__doc__ = (
            f"{(impl.__doc__ or '').strip()}\n\nSeverity 1-5 parameters "
            f"{table.levels} ({table.source})."
        )
        CORRUPTIONS[name] = corruption
        return corruption

    return decorator


def _check(image: Any, severity: Any, name: str) -> tuple[np.ndarray, int]:
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
        or 0 in image.shape
    ):
        what = (
            f"{image.dtype} array of shape {image.shape}"
            if isinstance(image, np.ndarray)
            else type(image).__name__
        )
        raise ValueError(f"corruption {name}: expected an RGB uint8 (H, W, 3) array, got {what}")
    if (
        isinstance(severity, bool)
        or not isinstance(severity, (int, np.integer))
        or not 0 <= severity <= 5
    ):
        raise ValueError(f"corruption {name}: severity must be an integer 0-5, got {severity!r}")
    return image, int(severity)


@_register("gaussian_noise")
def gaussian_noise(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Additive Gaussian noise of standard deviation ``c`` (image in [0, 1])."""
    return _f(x) + c * rng.standard_normal(x.shape, dtype=np.float32)


@_register("shot_noise")
def shot_noise(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Poisson (photon) noise with ``c`` photons at full intensity."""
    return rng.poisson(_f(x) * c).astype(np.float32) / c


@_register("impulse_noise")
def impulse_noise(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Salt-and-pepper noise on a fraction ``c`` of the values (scikit-image's ``s&p``)."""
    hit, salt = rng.random((2, *x.shape), dtype=np.float32)
    return np.where(hit < c, (salt < 0.5).astype(np.float32), _f(x))


@_register("speckle_noise")
def speckle_noise(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Multiplicative Gaussian noise of standard deviation ``c``."""
    f = _f(x)
    return f + f * c * rng.standard_normal(x.shape, dtype=np.float32)


@_register("color_noise")
def color_noise(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Gaussian noise of variance ``c`` on Y, Cb and Cr in studio-range [0, 1] units."""
    import cv2

    ycc = cv2.cvtColor(_f(x), cv2.COLOR_RGB2YCrCb)
    gain = (np.sqrt(c) * np.array([255 / 219, 255 / 224, 255 / 224])).astype(np.float32)
    return cv2.cvtColor(
        ycc + gain * rng.standard_normal(x.shape, dtype=np.float32), cv2.COLOR_YCrCb2RGB
    )


@_register("gaussian_blur")
def gaussian_blur(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``c`` px at 224 px."""
    import cv2

    return cv2.GaussianBlur(_f(x), (0, 0), c * s, borderType=cv2.BORDER_REPLICATE)


@_register("defocus_blur")
def defocus_blur(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Disk (defocus) kernel of radius ``c[0]``, smoothed by a Gaussian of sigma ``c[1]``."""
    import cv2

    r = max(c[0] * s, 0.1)  # >= 0.1 keeps the centre sample of the supersampled grid
    R, n = math.ceil(r) + 1, 8
    # area coverage on an 8x supersampled grid, so sub-pixel radii (small images) still blur
    t = (np.arange((2 * R + 1) * n) + 0.5) / n - (R + 0.5)
    inside = (t[None, :] ** 2 + t[:, None] ** 2 <= r * r).astype(np.float32)
    disk = inside.reshape(2 * R + 1, n, 2 * R + 1, n).mean(axis=(1, 3))
    ksize = (3, 3) if r <= 8 else (5, 5)
    disk = cv2.GaussianBlur(disk / disk.sum(), ksize, max(c[1] * s, 1e-3))
    return cv2.filter2D(_f(x), -1, disk / disk.sum())


@_register("motion_blur")
def motion_blur(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Motion blur (radius ``c[0]``, sigma ``c[1]``) at a random angle in [-45, 45] degrees."""
    import cv2

    kernel = motion_kernel(c[0] * s, c[1] * s, rng.uniform(-45, 45))
    return cv2.filter2D(_f(x), -1, kernel, borderType=cv2.BORDER_REPLICATE)


@_register("df_gaussian_blur")
def df_gaussian_blur(x: np.ndarray, c: int, rng: np.random.Generator, s: float) -> np.ndarray:
    """DeeperForensics' Gaussian blur: kernel ``c`` px at 256 px, sigma = kernel / 6."""
    import cv2

    k = max(3, 2 * int(c * s / 2) + 1)
    return cv2.GaussianBlur(x, (k, k), c * s / 6)


@_register("jpeg")
def jpeg(x: np.ndarray, c: int, rng: np.random.Generator, s: float) -> np.ndarray:
    """JPEG round trip at quality ``c`` (libjpeg, 4:2:0 chroma subsampling)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", x[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(c)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


@_register("pixelate")
def pixelate(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Downscale by factor ``c`` with PIL's ``BOX`` filter, upscale back with PIL's ``NEAREST``:
    ImageNet-C's calls, so identical pixels (OpenCV's ``INTER_AREA`` differs at non-integer
    factors)."""
    from PIL import Image

    h, w = x.shape[:2]
    box, nearest = Image.Resampling.BOX, Image.Resampling.NEAREST
    small = Image.fromarray(x).resize((max(1, int(w * c)), max(1, int(h * c))), box)
    return np.asarray(small.resize((w, h), nearest))


@_register("df_pixelate")
def df_pixelate(x: np.ndarray, c: int, rng: np.random.Generator, s: float) -> np.ndarray:
    """DeeperForensics' "JPEG" level: bilinear downscale by ``c``, bilinear upscale."""
    import cv2

    h, w = x.shape[:2]
    return cv2.resize(cv2.resize(x, (max(1, w // c), max(1, h // c))), (w, h))


@_register("brightness")
def brightness(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Add ``c`` to the HSV value channel."""
    import cv2

    hsv = cv2.cvtColor(_f(x), cv2.COLOR_RGB2HSV)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + c, 0, 1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@_register("contrast")
def contrast(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Scale deviations from the per-channel mean by ``c``."""
    f = _f(x)
    mean = f.mean(axis=(0, 1), keepdims=True)
    return (f - mean) * c + mean


@_register("df_contrast")
def df_contrast(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """DeeperForensics' colour contrast: multiply every value by ``c``."""
    return _f(x) * c


@_register("saturation")
def saturation(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Scale the chroma (Cb, Cr) by ``c`` around neutral grey; 0 gives greyscale."""
    import cv2

    ycc = cv2.cvtColor(_f(x), cv2.COLOR_RGB2YCrCb)
    ycc[:, :, 1:] = 0.5 + (ycc[:, :, 1:] - 0.5) * c
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


@_register("saturate")
def saturate(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """ImageNet-C's saturate: HSV saturation times ``c[0]`` plus ``c[1]``, clipped to [0, 1]."""
    import cv2

    hsv = cv2.cvtColor(_f(x), cv2.COLOR_RGB2HSV)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * c[0] + c[1], 0, 1)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@_register("elastic_transform")
def elastic_transform(x: np.ndarray, c: float, rng: np.random.Generator, s: float) -> np.ndarray:
    """Random displacement field smoothed with sigma = 1% of the size, times ``c``; also times
    ``min(H, W) / 224`` so the warp is the same relative to the image at every size (in
    ``imagecorruptions`` it is ~2 px everywhere: a shatter at 64 px, invisible at 1024 px)."""
    import cv2
    from scipy.ndimage import gaussian_filter

    h, w = x.shape[:2]
    d = rng.uniform(-0.005 * h, 0.005 * h, (2, h, w))
    d = gaussian_filter(d, (0, 0.01 * h, 0.01 * w), mode="reflect", truncate=3) * (c * s)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(
        _f(x),
        xx + d[0].astype(np.float32),
        yy + d[1].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


@_register("block_wise")
def block_wise(x: np.ndarray, c: int, rng: np.random.Generator, s: float) -> np.ndarray:
    """``c`` grey (128) squares of side 8 px at 256 px, at random places."""
    h, w = x.shape[:2]
    b = max(1, min(round(8 * s), h, w))
    out = x.copy()
    for y0, x0 in rng.integers(0, [h - b + 1, w - b + 1], size=(int(c), 2)):
        out[y0 : y0 + b, x0 : x0 + b] = 128
    return out


# weather layers, glass/zoom blur and frost: their recipes live in their own modules
glass_blur = _register("glass_blur")(blur.glass_blur)
zoom_blur = _register("zoom_blur")(blur.zoom_blur)
fog = _register("fog")(weather.fog)
snow = _register("snow")(weather.snow)
frost = _register("frost")(_frost.frost)
spatter = _register("spatter")(weather.spatter)
rain = _register("rain")(weather.rain)


ALL: tuple[str, ...] = tuple(TABLES)


def list_corruptions(pattern: str | None = None) -> list[str]:
    """Corruption names matching an fnmatch ``pattern`` (all when None), in table order."""
    return [n for n in ALL if pattern is None or fnmatch.fnmatchcase(n, pattern)]


def get_corruption(name: str) -> Corruption:
    """The corruption called ``name``; a ValueError suggests the nearest names otherwise."""
    if name not in CORRUPTIONS:
        near = difflib.get_close_matches(name, ALL, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else f"; known: {', '.join(ALL)}"
        raise ValueError(f"unknown corruption {name!r}{hint}")
    return CORRUPTIONS[name]


def corrupt(
    image: np.ndarray,
    name: str,
    severity: int,
    seed_or_rng: int | np.random.Generator | np.random.SeedSequence | None = 0,
) -> np.ndarray:
    """Apply corruption ``name`` at ``severity`` (0-5) with a seed or a generator."""
    return get_corruption(name)(image, severity, np.random.default_rng(seed_or_rng))


def degrade_resolution(image: np.ndarray, px: int, back_to: int | None = None) -> np.ndarray:
    """Area-downscale so the longer side is ``px`` (never upscale), then optionally resize
    bilinearly so the longer side is ``back_to``; the aspect ratio is kept."""
    import cv2

    if px < 1 or (back_to is not None and back_to < 1):
        raise ValueError(f"degrade_resolution: sizes must be >= 1, got px={px}, back_to={back_to}")

    h0, w0 = image.shape[:2]

    def fit(img: np.ndarray, side: int, interp: int) -> np.ndarray:
        # target shape from the *original* aspect ratio, so rounding at a tiny px is not
        # compounded when the image is brought back up to ``back_to``
        f = side / max(h0, w0)
        size = (max(1, round(w0 * f)), max(1, round(h0 * f)))
        return img if size == img.shape[1::-1] else cv2.resize(img, size, interpolation=interp)

    out = fit(image, px, cv2.INTER_AREA) if px < max(h0, w0) else image
    return fit(out, back_to, cv2.INTER_LINEAR) if back_to is not None else out.copy()


def cnndetection_augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wang et al. 2020 (CNNDetection) "Blur+JPEG (0.5)" training augmentation: with p=0.5 a
    Gaussian blur of sigma ~ U[0, 3] (scipy, per channel), then with p=0.5 a JPEG round trip at
    quality ~ U{30..100} through OpenCV or PIL (their ``--jpg_method cv2,pil``)."""
    import io

    import cv2
    from PIL import Image
    from scipy.ndimage import gaussian_filter

    out = np.array(image, dtype=np.uint8, copy=True)
    if rng.random() < 0.5:
        out = gaussian_filter(out, sigma=(rng.uniform(0.0, 3.0),) * 2 + (0,))
    if rng.random() < 0.5:
        quality, use_pil = int(rng.integers(30, 101)), bool(rng.random() < 0.5)
        if use_pil:
            buf = io.BytesIO()
            Image.fromarray(out).save(buf, format="jpeg", quality=quality)
            out = np.asarray(Image.open(buf).convert("RGB"))
        else:
            ok, enc = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            out = cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1]
    return np.ascontiguousarray(out)
