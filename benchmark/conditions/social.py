"""The ``social`` condition group: the damage images suffer when they are shared online.

Each entry is a pure function ``(image, severity, rng) -> image`` like those of
``benchmark.conditions.corruptions``, with one level: severity 0 is the identity, 1 applies it.

* SIDBench's grid (Schinas & Papadopoulos 2024, "SIDBench: A Python Framework for Reliably
  Assessing Synthetic Image Detection Methods"; its ``dataset/dataset.py``): JPEG at quality
  95, 90, 50 and 30 (Pillow), Gaussian blur of sigma 2 and 4 (scipy's ``gaussian_filter`` per
  channel), and JPEG 50 after a sigma-2 blur (its order: blur, then JPEG), each named.
* AI-GenBench's evaluation chain (Pellegrini et al. 2025, "AI-GenBench: A New Ongoing Benchmark
  for AI-Generated Image Detection"; ``AIGenBenchPipeline.mandatory_val_preprocessing`` of its
  released code), in its order: centre crop to 1080 px when larger; greyscale (p 0.1); JPEG
  (p 0.5); Gaussian noise of std U(0.015, 0.075) x 255 (p 0.3, albumentations ``GaussNoise``);
  JPEG (p 0.2); random-resized crop, area 0.5-1, aspect 0.9-1/0.9, to a square side U{256..512}
  with bilinear, bicubic or Lanczos (p 0.25); JPEG (p 0.1). Each JPEG goes through OpenCV or
  Pillow (chosen 50/50) at a quality uniform in 50-100. Their code passes ``[50, 101]`` to a
  ``random.choice``, which picks 50 or 101 (clamped to 100) only; we follow the stated range
  50-100. Every draw comes from the image's own generator (``grid.image_rng``: run seed,
  condition and sample id), so a test set is reproducible and independent of order.

JPEG is OpenCV's or Pillow's, encoded in memory, blur scipy's: no hand-written codec or filter.
Heavy imports stay inside the functions.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

VERSION = 1  # bump when a recipe changes: rendered test sets are cached by it

Social = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]

#: AI-GenBench's probabilities, in the chain's order
P_GREY, P_JPEG1, P_NOISE, P_JPEG2, P_CROP, P_JPEG3 = 0.1, 0.5, 0.3, 0.2, 0.25, 0.1
MAX_SIDE = 1080  # AI-GenBench's ``maximum_processing_size``: larger images are centre-cropped


def jpeg(x: np.ndarray, quality: int, library: str = "cv2") -> np.ndarray:
    """JPEG round trip in memory through OpenCV (``"cv2"``) or Pillow (``"pil"``)."""
    if library == "pil":
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(x).save(buf, format="jpeg", quality=int(quality))
        return np.asarray(Image.open(buf).convert("RGB"))
    import cv2

    ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(x[:, :, ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])  # fmt: skip
    if not ok:
        raise OSError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1])


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """SIDBench's blur: ``scipy.ndimage.gaussian_filter`` of ``sigma`` px on each channel of
    the uint8 image (reflect border, truncated at 4 sigma), as its ``dataset.gaussian_blur``."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma=(float(sigma), float(sigma), 0.0))


@dataclass(frozen=True)
class ChainPlan:
    """Every random decision of one AI-GenBench chain, drawn before any pixel is touched."""

    grey: bool
    jpegs: tuple[tuple[int, str] | None, ...]  # (quality, library) or None, for the 3 JPEGs
    noise_std: float | None  # in [0, 1] units
    crop: tuple[float, float, int, str] | None  # (area, aspect, side, interpolation)


def _jpeg_draw(rng: np.random.Generator, p: float) -> tuple[int, str] | None:
    hit, q, lib = rng.random() < p, int(rng.integers(50, 101)), rng.random() < 0.5
    return (q, "pil" if lib else "cv2") if hit else None


def aigenbench_plan(rng: np.random.Generator) -> ChainPlan:
    """Draw the chain's decisions; a fixed number of draws, whatever is applied."""
    grey = bool(rng.random() < P_GREY)
    j1 = _jpeg_draw(rng, P_JPEG1)
    noise = float(rng.uniform(0.015, 0.075)) if rng.random() < P_NOISE else None
    j2 = _jpeg_draw(rng, P_JPEG2)
    hit = rng.random() < P_CROP
    area, log_aspect = float(rng.uniform(0.5, 1.0)), rng.uniform(np.log(0.9), -np.log(0.9))
    side, interp = int(rng.integers(256, 513)), str(rng.choice(["bilinear", "bicubic", "lanczos"]))
    crop = (area, float(np.exp(log_aspect)), side, interp)
    j3 = _jpeg_draw(rng, P_JPEG3)
    return ChainPlan(grey, (j1, j2, j3), noise, crop if hit else None)


def _resized_crop(x: np.ndarray, crop: tuple[float, float, int, str],
                  rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """torchvision ``RandomResizedCrop``'s box (area, aspect; clipped to the image), then
    Pillow's resize to a ``side`` x ``side`` square."""
    from PIL import Image

    area, aspect, side, interp = crop
    h, w = x.shape[:2]
    cw = min(w, max(1, round(np.sqrt(area * h * w * aspect))))
    ch = min(h, max(1, round(np.sqrt(area * h * w / aspect))))
    y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    resample = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC,
                "lanczos": Image.Resampling.LANCZOS}[interp]  # fmt: skip
    return np.asarray(Image.fromarray(x[y0 : y0 + ch, x0 : x0 + cw]).resize((side, side), resample))


def aigenbench_chain(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """AI-GenBench's evaluation chain on one RGB uint8 image (its size may change)."""
    from PIL import Image

    h, w = x.shape[:2]
    if max(h, w) > MAX_SIDE:  # their centre crop to at most 1080 x 1080
        ch, cw = min(h, MAX_SIDE), min(w, MAX_SIDE)
        x = x[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
    plan = aigenbench_plan(rng)
    out = np.ascontiguousarray(x)
    if plan.grey:
        out = np.asarray(Image.fromarray(out).convert("L").convert("RGB"))
    if plan.jpegs[0]:
        out = jpeg(out, *plan.jpegs[0])
    if plan.noise_std is not None:
        noise = rng.normal(0.0, plan.noise_std * 255.0, out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    if plan.jpegs[1]:
        out = jpeg(out, *plan.jpegs[1])
    if plan.crop:
        out = _resized_crop(out, plan.crop, rng)
    if plan.jpegs[2]:
        out = jpeg(out, *plan.jpegs[2])
    return np.ascontiguousarray(out)


def _named(name: str, fn: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Social:
    def social(image: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                and image.shape[2] == 3 and 0 not in image.shape):  # fmt: skip
            raise ValueError(f"{name}: expected an RGB uint8 (H, W, 3) array")
        if isinstance(severity, bool) or severity not in (0, 1):
            raise ValueError(f"{name}: a named condition takes severity 0 or 1, got {severity!r}")
        return image.copy() if severity == 0 else fn(image, rng)

    social.__name__ = social.__qualname__ = name
    social.__doc__ = fn.__doc__
    return social


SOCIAL: dict[str, Social] = {
    **{
        f"sidbench_jpeg{q}": _named(f"sidbench_jpeg{q}", lambda x, r, q=q: jpeg(x, q, "pil"))
        for q in (95, 90, 50, 30)
    },  # fmt: skip
    **{
        f"sidbench_blur{s}": _named(f"sidbench_blur{s}", lambda x, r, s=s: blur(x, s))
        for s in (2, 4)
    },  # fmt: skip
    "sidbench_jpeg50_blur2": _named(
        "sidbench_jpeg50_blur2", lambda x, r: jpeg(blur(x, 2), 50, "pil")
    ),
    "aigenbench": _named("aigenbench", aigenbench_chain),
}
ALL: tuple[str, ...] = tuple(SOCIAL)
