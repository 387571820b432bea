"""ImageNet-C's glass and zoom blur for ``benchmark.conditions.corruptions``.

Both follow Hendrycks & Dietterich 2019 (``make_imagenet_c.py`` as packaged in
``imagecorruptions`` 1.1.2, Michaelis et al. 2019) and are raw ``(uint8 image, level, rng,
scale) -> float image in [0, 1]`` implementations, wrapped into checked corruptions there.

* Zoom blur averages the image with centre crops of itself enlarged by each factor of the level
  (the reference's ``scipy.ndimage.zoom`` mapping, order 1, done by ``cv2.warpAffine``): it is
  deterministic and size-free, and at 224 px within a grey level of the reference on all but
  one value in 1.5 million (2 levels there; we round where the reference truncates).
* Glass blur blurs, locally shuffles pixels, and blurs again. The reference shuffles with a
  per-pixel Python loop (about 0.8 s per 224-px image, tens of seconds at 1024 px): every
  interior pixel, in descending raster order, "swaps" with the pixel at a random offset in
  ``[-max_delta, max_delta)``; but its tuple swap assigns numpy views, so it is really a copy,
  ``x[p] = x[p + offset]``, in place. A pixel whose partner was visited before it therefore takes
  that partner's new value, and so on down a chain. Ours draws all offsets at once and resolves
  every chain by following the pointers, all pixels together, until each lands on a pixel not
  yet visited: the same result as the loop for the same offsets, not a swap approximation. The
  offsets come from our generator, so images differ draw by draw but not in distribution. The
  blur radius and offsets scale with ``min(H, W) / 224``.
"""

from __future__ import annotations

import numpy as np

from benchmark.conditions.weather import to_unit


def _gaussian(f: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image's ``gaussian`` as ImageNet-C calls it: per channel, edge mode ``nearest``,
    truncated at 4 sigma (scipy is what scikit-image calls underneath)."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(f, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)


def glass_blur(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Blur (sigma ``c[0]``), move every pixel by up to ``c[1]`` px (``c[2]`` rounds of the
    reference's sequential in-place copies, vectorised), blur again."""
    sigma, delta, rounds = c[0] * s, max(1, round(c[1] * s)), c[2]
    # the reference quantises the first blur to uint8 (truncating) before shuffling
    out = np.floor(_gaussian(to_unit(x), sigma) * 255).astype(np.float32) / 255
    for _ in range(rounds):
        out = out.reshape(-1, 3)[_shuffle_sources(x.shape[:2], delta, rng)].reshape(x.shape)
    return _gaussian(out, sigma)


def _shuffle_sources(shape: tuple[int, int], delta: int, rng: np.random.Generator) -> np.ndarray:
    """For each pixel (flat index), the pixel whose value it holds after one round of the
    reference's loop ``for p in interior, descending: x[p] = x[p + offset(p)]``."""
    h, w = shape
    if min(h, w) <= 2 * delta:  # the loop visits no pixel
        return np.arange(h * w)
    # the pixels the loop visits: rows/columns delta+1 .. size-delta, both inclusive
    inner = np.s_[delta + 1 : h - delta + 1, delta + 1 : w - delta + 1]
    target = np.arange(h * w).reshape(h, w)
    ys, xs = np.mgrid[inner]
    dy, dx = rng.integers(-delta, delta, size=(2, *ys.shape))
    target[inner] = (ys + dy) * w + xs + dx
    visited = np.zeros((h, w), bool)
    visited[inner] = True
    target, visited = target.ravel(), visited.ravel()
    # visited earlier = a larger flat index: such a partner already holds its new value
    chained = visited[target] & (target > np.arange(h * w))
    node = np.arange(h * w)
    active = np.flatnonzero(chained)
    while active.size:  # chains only climb, so this ends; most are one link long
        node[active] = target[node[active]]
        active = active[chained[node[active]]]
    return target[node]


def _clipped_zoom(f: np.ndarray, factor: float) -> np.ndarray:
    """ImageNet-C's ``clipped_zoom``: the centre ``1 / factor`` crop enlarged by ``factor``
    with ``scipy.ndimage.zoom`` (linear, corners aligned), cut to the image's size from the
    top-left. The same mapping as one ``cv2.warpAffine`` that computes only the kept part: 8x
    faster than scipy, and within a grey level of it (OpenCV rounds coordinates to 1/32 px)."""
    import cv2

    h, w = f.shape[:2]
    ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    # scipy's zoomed size, and its corner-aligned map from output to input coordinates
    oh, ow = round(ch * factor), round(cw * factor)
    sy, sx = (ch - 1) / max(oh - 1, 1), (cw - 1) / max(ow - 1, 1)
    m = np.array([[sx, 0, left], [0, sy, top]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(f, m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(f.shape)


def zoom_factors(c: tuple) -> np.ndarray:
    """The zoom factors of a level ``(stop, step)``: ``np.arange(1, stop, step)`` as in the
    reference table (float steps: the same arange call gives the same count)."""
    return np.arange(1, c[0], c[1])


def zoom_blur(x: np.ndarray, c: tuple, rng: np.random.Generator, s: float) -> np.ndarray:
    """Average of the image and its centre zooms by every factor in ``arange(1, c[0], c[1])``."""
    f = to_unit(x)
    factors = zoom_factors(c)
    out = f.copy()
    for factor in factors:
        out += _clipped_zoom(f, factor)
    return out / (len(factors) + 1)
