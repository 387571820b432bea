"""The default dataset's image operations: patches, the three manipulation families, JPEG.

:mod:`benchmark.data.synthetic` draws which photo, split and family each image gets and writes
the files; the functions here turn one photograph into one real patch (:func:`extract`) or one
fake (:func:`gan_upsample`, :func:`splice` with a donor from :func:`_donor`,
:func:`resample_jpeg`), each from the caller's seeded ``numpy.random.Generator``, so the same
seed gives byte-identical images. The recipe is described in ``benchmark/data/synthetic.py``'s
docstring and ``datasets/default.md``; both modules' sources are part of the build's cache key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_STD = 10.0  # patches with a smaller grey-level standard deviation count as flat


def _jpeg(img: np.ndarray, quality: int, gray: bool) -> np.ndarray:
    """One JPEG round trip (grey photos stay exactly grey)."""
    import cv2

    src = img[:, :, 0] if gray else img
    ok, buf = cv2.imencode(".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return np.repeat(dec[:, :, None], 3, axis=2) if dec.ndim == 2 else dec


def _to_gray3(img: np.ndarray) -> np.ndarray:
    luma = np.rint(img.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
    return np.repeat(np.clip(luma, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def extract(
    photo: np.ndarray, side: int, rng: np.random.Generator, zmin: float = 0.5
) -> tuple[np.ndarray, float]:
    """A ``side``² patch (RGB uint8) at a random place and area down-scale ``z`` in [zmin, 1].

    Flat patches (grey std < ``MIN_STD``) are redrawn; after 30 tries the busiest one is kept.
    Returns the patch and ``z``; raises ``ValueError`` if the photo is smaller than ``side``.
    """
    import cv2

    h, w = photo.shape[:2]
    if min(h, w) < side:
        raise ValueError(f"photo of {w}x{h} is smaller than a {side}px patch")
    lo = max(zmin, side / min(h, w))
    best: tuple[float, np.ndarray, float] | None = None
    for _ in range(30):
        z = float(rng.uniform(lo, 1.0))
        r = min(min(h, w), int(round(side / z)))
        y, x = int(rng.integers(0, h - r + 1)), int(rng.integers(0, w - r + 1))
        crop = photo[y : y + r, x : x + r]
        patch = crop if r == side else cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        std = float(patch.astype(np.float32).mean(axis=2).std())
        if best is None or std > best[0]:
            best = (std, patch, side / r)
        if std >= MIN_STD:
            break
    assert best is not None
    return np.ascontiguousarray(best[1]), round(best[2], 4)


def gan_upsample(patch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Down-scale by 2 or 4, up-sample with zero insertion + a transposed-conv kernel.

    ``out = up + detail·(patch − smooth_up)``: the periodic artefact of the kernel stays in
    full while a random part of the lost high frequencies is restored.
    """
    import cv2

    s = patch.shape[0]
    f = int(rng.choice([2, 4], p=[0.3, 0.7]))
    kind = str(rng.choice(["nearest", "bilinear", "learned"], p=[0.15, 0.25, 0.6]))
    detail = float(rng.uniform(0.0, 0.15))
    small = cv2.resize(patch, (s // f, s // f), interpolation=cv2.INTER_AREA).astype(np.float32)
    if kind == "nearest":
        kernel, anchor = np.ones((f, f)), 0
    else:  # bilinear taps at half-pixel offsets: length 2f, each phase sums to 1
        tri = 1.0 - np.abs(np.arange(2 * f) - (2 * f - 1) / 2) / f
        kernel, anchor = np.outer(tri, tri), f // 2
        if kind == "learned":  # an imperfectly trained kernel: unequal phases -> checkerboard
            kernel = kernel + rng.normal(0.0, rng.uniform(0.15, 0.4), kernel.shape)
            kernel *= f * f / kernel.sum()
    # Transposed convolution written out (no library does zero-insertion with a free kernel):
    # pad by edge replication so borders carry no wrap-around seam, then sum shifted copies.
    pad = 2
    sm = np.pad(small, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    up = np.zeros((sm.shape[0] * f, sm.shape[1] * f, 3), np.float32)
    up[::f, ::f] = sm
    acc = np.zeros_like(up)
    for (ty, tx), w in np.ndenumerate(kernel):
        acc += np.float32(w) * np.roll(up, (ty - anchor, tx - anchor), axis=(0, 1))
    acc = acc[pad * f : pad * f + s, pad * f : pad * f + s]
    smooth = cv2.resize(small, (s, s), interpolation=cv2.INTER_CUBIC)
    out = acc + detail * (patch.astype(np.float32) - smooth)
    meta = {"upsample_factor": f, "kernel": kind, "detail": round(detail, 3)}
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), meta


def splice(
    patch: np.ndarray, donor: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """Paste square ``donor`` into ``patch``: Lab colour match, then Poisson or alpha blending."""
    import cv2

    s, d = patch.shape[0], donor.shape[0]
    mask = np.zeros((d, d), np.uint8)
    ax = (int(rng.integers(d // 3, d // 2 - 1)), int(rng.integers(d // 3, d // 2 - 1)))
    cv2.ellipse(mask, (d // 2, d // 2), ax, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    cy, cx = (int(rng.integers(d // 2 + 2, s - d // 2 - 2)) for _ in range(2))
    y0, x0 = cy - d // 2, cx - d // 2
    # Reinhard colour transfer in Lab, with a random strength, on the masked pixels only.
    strength = float(rng.uniform(0.3, 1.0))
    src = cv2.cvtColor(donor.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    dst = cv2.cvtColor(patch[y0 : y0 + d, x0 : x0 + d].astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    (mu_s, sd_s), (mu_d, sd_d) = (_stats(lab[mask > 0]) for lab in (src, dst))
    mu, sd = strength * mu_d + (1 - strength) * mu_s, strength * sd_d + (1 - strength) * sd_s
    matched = cv2.cvtColor((src - mu_s) / sd_s * sd + mu, cv2.COLOR_LAB2RGB)
    matched = np.clip(np.rint(matched * 255), 0, 255).astype(np.uint8)
    mode = str(rng.choice(["normal", "mixed", "feather"], p=[0.4, 0.2, 0.4]))
    meta = {"region": d, "clone": mode, "colour_match": round(strength, 3), "centre": [cx, cy]}
    if mode == "feather":  # alpha blending through a blurred mask: leaves a blending boundary
        sigma = float(rng.uniform(1.0, 4.0))
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), sigma)[:, :, None]
        out = patch.astype(np.float32)
        region = out[y0 : y0 + d, x0 : x0 + d]
        out[y0 : y0 + d, x0 : x0 + d] = alpha * matched + (1 - alpha) * region
        return np.clip(np.rint(out), 0, 255).astype(np.uint8), meta | {"feather": round(sigma, 2)}
    flag = cv2.NORMAL_CLONE if mode == "normal" else cv2.MIXED_CLONE
    out = cv2.seamlessClone(matched, np.ascontiguousarray(patch), mask, (cx, cy), flag)
    return out, meta


def _stats(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pixels.mean(0), pixels.std(0) + 1e-3


def resample_jpeg(
    photo: np.ndarray, side: int, rng: np.random.Generator, gray: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """Cut a region, JPEG it at ``q1``, enlarge + rotate (non-aligned resampling), crop it."""
    import cv2

    for _ in range(50):  # the rotated, scaled crop must come from inside the photo
        scale = float(rng.uniform(1.3, 2.0))  # up-scaling, as when a face is enlarged to fit
        angle = float(rng.uniform(-8, 8)) if rng.random() < 0.5 else 0.0
        q1 = int(rng.integers(40, 81))
        rad = np.deg2rad(abs(angle))
        n = max(side, int(np.ceil(side * (np.cos(rad) + np.sin(rad)) / scale)) + 4)
        if n <= min(photo.shape[:2]):
            break
    region, z = extract(photo, n, rng)
    first = _jpeg(region, q1, gray)
    interp = str(rng.choice(["linear", "cubic"], p=[0.85, 0.15]))
    m = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), angle, scale)
    flags = cv2.INTER_LINEAR if interp == "linear" else cv2.INTER_CUBIC
    warped = cv2.warpAffine(first, m, (n, n), flags=flags, borderMode=cv2.BORDER_REFLECT)
    o = (n - side) // 2
    out = warped[o : o + side, o : o + side].astype(np.float32)
    # Half are re-sharpened (unsharp mask), as editors do after enlarging: blur alone must not
    # give the family away; the resampling correlations and the first JPEG stay.
    sharpen = float(rng.uniform(0.3, 1.0)) if rng.random() < 0.5 else 0.0
    if sharpen:
        out += sharpen * (out - cv2.GaussianBlur(out, (0, 0), 1.0))
    meta = {"base_scale": z, "jpeg_q1": q1, "scale": round(scale, 3), "angle": round(angle, 2)}
    meta |= {"interp": interp, "sharpen": round(sharpen, 3)}
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), meta


def _donor(
    d: int, others: list, faces: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """A ``d``² region to paste: a real LFW face (1/3) or a region of another photo.

    Either is enlarged (as a swapped face is warped to fit), leaving a resampling trace inside.
    """
    import cv2

    if rng.random() < 1 / 3:
        fi = int(rng.choice(len(faces)))
        face = cv2.resize(faces[fi][1], (d, d), interpolation=cv2.INTER_CUBIC)
        info = {"donor": f"lfw_face_{faces[fi][0]:03d}", "donor_zoom": round(d / 25, 3)}
        return np.repeat(face[:, :, None], 3, axis=2), info
    other = others[int(rng.integers(len(others)))]
    zoom = float(rng.uniform(1.5, 3.0))
    small, _ = extract(other[2], int(round(d / zoom)), rng)
    donor = cv2.resize(small, (d, d), interpolation=cv2.INTER_LINEAR)
    return donor, {"donor": other[1], "donor_zoom": round(zoom, 3)}
