"""Procedural weather layers (fog, snow, rain) for the "external" corruptions.

Holds ImageNet-C's recipes (Hendrycks & Dietterich 2019, ``make_imagenet_c.py`` as packaged in
``imagecorruptions``, Michaelis et al. 2019) for fog (a diamond-square plasma fractal, after
FLHerne/mapgen) and snow (zoomed, thresholded noise streaked by ImageMagick's one-sided
motion-blur kernel), fakebench's rain (the same streaking on sparse drops, with the dimming and
whitish streaks of Albumentations' ``RandomRain``), and the helpers they share; ``motion_blur``
uses the same kernel. ``fog``, ``snow`` and ``rain`` here are the raw ``(uint8 image, level,
rng, scale) -> float image in [0, 1]`` implementations: ``benchmark.conditions.corruptions``
wraps them into checked ``(image, severity, rng)`` corruptions with their tables. OpenCV is
imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import math

import numpy as np


def to_unit(x: np.ndarray) -> np.ndarray:
    """uint8 image as float32 in [0, 1]."""
    return x.astype(np.float32) / 255.0


def motion_kernel(radius: float, sigma: float, angle: float) -> np.ndarray:
    """ImageMagick's one-sided motion-blur kernel as ImageNet-C re-implemented it, as a 2-D
    kernel for ``cv2.filter2D``: Gaussian weights along a line of ``2 * radius + 1`` taps."""
    width = 2 * max(1, round(radius)) + 1
    w = np.exp(-(np.arange(width) ** 2) / (2 * max(sigma, 1e-3) ** 2))
    kernel = np.zeros((2 * width - 1, 2 * width - 1), np.float32)
    t = math.radians(angle)
    for i, wi in enumerate(w / w.sum()):  # out(p) = sum_i w_i x(p - d_i)
        dy, dx = -math.ceil(i * math.sin(t) - 0.5), -math.ceil(i * math.cos(t) - 0.5)
        kernel[width - 1 - dy, width - 1 - dx] += wi
    return kernel


def plasma(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """ImageNet-C's diamond-square plasma fractal (after FLHerne/mapgen), drawn from ``rng``:
    a ``size`` x ``size`` heightmap in [0, 1], ``size`` a power of two. Hand-written because
    neither OpenCV nor scipy has fractal noise; kept as the original (its wibble is squared)."""
    m, step, wibble = np.zeros((size, size)), size, 100.0
    while step >= 2:
        half = step // 2

        def wibbled(total: np.ndarray, wibble: float = wibble) -> np.ndarray:
            return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

        corners = m[0::step, 0::step]
        square = corners + np.roll(corners, -1, axis=0)
        m[half::step, half::step] = wibbled(square + np.roll(square, -1, axis=1))
        mids = m[half::step, half::step]
        m[0::step, half::step] = wibbled(
            mids + np.roll(mids, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        )
        m[half::step, 0::step] = wibbled(
            mids + np.roll(mids, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        )
        step, wibble = half, wibble / decay
    m -= m.min()
    return (m / max(float(m.max()), 1e-12)).astype(np.float32)


def reference_shape(h: int, w: int, side: int = 224, cap: int = 4096) -> tuple[int, int]:
    """(H, W) of this image scaled so its shorter side is ``side`` (longer side <= ``cap``)."""
    f = min(side / min(h, w), cap / max(h, w))
    return max(1, round(h * f)), max(1, round(w * f))


def resize_layer(layer: np.ndarray, h: int, w: int) -> np.ndarray:
    """``layer`` resized to ``h`` x ``w``: area filter when shrinking, bilinear when enlarging."""
    import cv2

    shrink = layer.shape[0] * layer.shape[1] > h * w
    return cv2.resize(layer, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def fog(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Add ``c[0]`` times a plasma fractal (decay ``c[1]``), then rescale to the max."""
    h, w = x.shape[:2]
    size = max(2, 1 << (max(h, w) - 1).bit_length())  # next power of two, as imagecorruptions
    f = to_unit(x)
    top = float(f.max())
    f = f + c[0] * plasma(size, c[1], rng)[:h, :w, None]
    return f * top / (top + c[0])


def snow(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Zoomed, thresholded Gaussian noise streaked by motion blur, over a whitened image. The
    flake layer is drawn at 224 px (shorter side), ImageNet-C's size, and resized to the image.
    As in the reference, the noise is enlarged with ``scipy.ndimage.zoom`` (order 1, corners
    aligned: OpenCV's half-pixel bilinear smooths more and leaves fewer flakes above the
    threshold), streaked, quantised to 1/255 and cut to size from the top-left."""
    import cv2
    from scipy.ndimage import zoom as nd_zoom

    loc, std, factor, thresh, radius, sigma, keep = c
    h, w = x.shape[:2]
    rh, rw = reference_shape(h, w)
    # the reference's centre crop of a full-size draw: the same i.i.d. noise, fewer draws
    flakes = rng.normal(loc, std, (math.ceil(rh / factor), math.ceil(rw / factor)))
    flakes = nd_zoom(flakes, factor, order=1).astype(np.float32)
    flakes = np.clip(np.where(flakes < thresh, 0, flakes), 0, 1)
    kernel = motion_kernel(radius, sigma, rng.uniform(-135, -45))
    flakes = cv2.filter2D(flakes, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    flakes = np.rint(flakes[:rh, :rw] * 255) / 255
    flakes = resize_layer(flakes + np.rot90(flakes, 2), h, w)
    f = to_unit(x)
    grey = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[:, :, None]
    f = keep * f + (1 - keep) * np.maximum(f, grey * 1.5 + 0.5)
    return f + flakes.reshape(h, w, 1)


def rain(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Sparse drops drawn into near-vertical streaks (at 224 px, then resized to the image),
    added over a dimmed image."""
    import cv2

    density, radius, bright, dim = c
    h, w = x.shape[:2]
    drops = (rng.random(reference_shape(h, w), dtype=np.float32) < density).astype(np.float32)
    line = (motion_kernel(radius, 1e6, rng.uniform(-100, -80)) > 0).astype(np.float32)
    streaks = np.clip(cv2.filter2D(drops, -1, line, borderType=cv2.BORDER_CONSTANT), 0, 1)
    return to_unit(x) * dim + bright * resize_layer(streaks, h, w).reshape(h, w, 1)


def spatter(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """ImageNet-C's spatter: thresholded, blurred Gaussian noise as a liquid layer, drawn at
    224 px (shorter side) and resized to the image. Water (``c[5] == 0``): pale turquoise
    (175, 238, 238) added where the layer's Canny edges, distance transform and an emboss kernel
    give it relief, scaled to ``c[4]`` at its peak. Mud (``c[5] == 1``): the layer's mask blurred
    by ``c[4]`` and cut at 0.8 replaces the image with brown (63, 42, 20)."""
    import cv2
    from scipy.ndimage import gaussian_filter

    loc, std, sigma, thresh, strength, mud = c
    h, w = x.shape[:2]
    # scikit-image's gaussian, as the reference calls it: scipy, edge mode nearest, 4 sigma
    liquid = gaussian_filter(rng.normal(loc, std, reference_shape(h, w)), sigma, mode="nearest")
    liquid[liquid < thresh] = 0
    f = to_unit(x)
    if not mud:
        liquid8 = (liquid * 255).astype(np.uint8)
        dist = cv2.distanceTransform(255 - cv2.Canny(liquid8, 50, 150), cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
        emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
        dist = cv2.blur(cv2.filter2D(dist, cv2.CV_8U, emboss), (3, 3)).astype(np.float32)
        m = liquid8 * dist
        m *= strength / max(float(m.max()), 1e-12)
        colour = np.array([175, 238, 238], np.float32) / 255
        return f + resize_layer(m, h, w).reshape(h, w, 1) * colour
    m = gaussian_filter((liquid > thresh).astype(np.float32), strength, mode="nearest")
    m[m < 0.8] = 0
    m = resize_layer(m, h, w).reshape(h, w, 1)
    return f * (1 - m) + m * (np.array([63, 42, 20], np.float32) / 255)
