"""Dense SIFT, keypoint statistics and the per-image encoding of ``sift_bovw``'s detectors.

Every function here maps images to arrays one image after the other, so its memory does not
grow with the number of images it is given: ``dense_sift`` returns every descriptor (tests,
timing), but the detectors never call it on a split. They draw the codebook's training sample
with ``picked_descriptors`` (only the picked rows of each image are computed) and turn each image
into its pooled vector with ``encode_images`` (``ENCODE_BATCH`` images' descriptors at a
time). The extractors are picklable and run in ``benchmark.toolkit.features``' worker
processes; their output never depends on how the images are chunked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmark.core.samples import Sample

N_STAT_BINS = 10  # bins of each keypoint histogram (log2 scale, log10 response)
ENCODE_BATCH = 64  # images whose descriptors are encoded together (a few MB of RootSIFT)


def _gray(sample: Sample, size: int) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(sample.load(), cv2.COLOR_RGB2GRAY)
    interp = cv2.INTER_AREA if min(gray.shape) >= size else cv2.INTER_CUBIC
    return cv2.resize(gray, (size, size), interpolation=interp)


def _dense_iter(
    samples: list[Sample], size: int, step: int, kp_size: float, picks: list | None = None
) -> Iterator[np.ndarray]:
    """Dense SIFT descriptors of one image after the other, ``(n_grid_points, 128)`` uint8, or
    only rows ``picks[i]`` of image ``i``: each descriptor depends on its own keypoint alone, so
    computing just those gives the same rows for a fraction of the work."""
    import cv2

    cv2.setNumThreads(1)  # one process per core already (see benchmark.toolkit.features)
    sift = cv2.SIFT_create()
    grid = range(step // 2, size, step)
    kps = [cv2.KeyPoint(float(x), float(y), float(kp_size)) for y in grid for x in grid]
    for i, s in enumerate(samples):
        want = kps if picks is None else [kps[j] for j in picks[i]]
        got, desc = sift.compute(_gray(s, size), want)
        if desc is not None and len(got) == len(want):  # OpenCV keeps grid keypoints in order
            yield np.clip(np.rint(desc), 0, 255).astype(np.uint8)
        else:
            yield np.zeros((len(want), 128), np.uint8)


def n_grid_points(size: int, step: int) -> int:
    """Number of dense SIFT descriptors per image."""
    return len(range(step // 2, size, step)) ** 2


def dense_sift(samples: list[Sample], size: int, step: int, kp_size: float) -> np.ndarray:
    """Dense SIFT descriptors, ``(n, n_grid_points, 128)`` uint8 (OpenCV's values are 0..255)."""
    descs = np.array(list(_dense_iter(samples, size, step, kp_size)), np.uint8)
    return descs.reshape(len(samples), n_grid_points(size, step), 128)


def picked_descriptors(
    items: list[tuple[Sample, np.ndarray]], size: int, step: int, kp_size: float
) -> np.ndarray:
    """The dense SIFT descriptors at the picked grid positions of each ``(sample, positions)``,
    concatenated in order, ``(total picked, 128)`` uint8; images with no pick are not read."""
    chosen = [(s, at) for s, at in items if len(at)]
    picks = [at for _, at in chosen]
    descs = _dense_iter([s for s, _ in chosen], size, step, kp_size, picks)
    return np.concatenate([np.zeros((0, 128), np.uint8), *descs])


def encode_images(
    samples: list[Sample], size: int, step: int, kp_size: float, codebook: Any, encoding: str
) -> np.ndarray:
    """Each image's descriptors pooled on ``codebook`` (``bovw``: word histogram, ``vlad``:
    residuals per centre), power + L2 normalised; a few images' descriptors at a time."""
    from threadpoolctl import threadpool_limits

    descs = _dense_iter(samples, size, step, kp_size)
    out = []
    with threadpool_limits(1):  # a batch of images: BLAS and OpenMP threads would only spin
        for a in range(0, len(samples), ENCODE_BATCH):
            batch = np.stack([next(descs) for _ in samples[a : a + ENCODE_BATCH]])
            n, k, _ = batch.shape
            flat = root_sift(batch).reshape(n * k, 128)
            words = codebook.predict(flat)
            c = codebook.n_clusters
            rows = np.repeat(np.arange(n), k) * c + words
            if encoding == "bovw":
                pooled = np.bincount(rows, minlength=n * c).reshape(n, c).astype(np.float64)
            else:  # vlad: sum of residuals to the assigned centre, per centre
                resid = flat - codebook.cluster_centers_[words]
                pooled = np.zeros((n * c, 128))
                np.add.at(pooled, rows, resid)
                pooled = pooled.reshape(n, c * 128)
            out.append(power_l2(pooled))
    return np.concatenate(out) if out else np.zeros((0, codebook.n_clusters), np.float64)


def keypoint_stats(samples: list[Sample], size: int, contrast_threshold: float) -> np.ndarray:
    """``log1p`` of [keypoint count, scale histogram, response histogram] per image."""
    import cv2

    cv2.setNumThreads(1)
    sift = cv2.SIFT_create(contrastThreshold=contrast_threshold)
    out = np.zeros((len(samples), 1 + 2 * N_STAT_BINS), dtype=np.float32)
    for i, s in enumerate(samples):
        kps = sift.detect(_gray(s, size), None)
        if not kps:
            continue  # a flat image: zero keypoints is itself a valid feature
        sizes = np.log2(np.maximum([k.size for k in kps], 1e-3))
        resp = np.log10(np.maximum([k.response for k in kps], 1e-6))
        out[i, 0] = len(kps)
        out[i, 1 : 1 + N_STAT_BINS] = np.histogram(sizes, N_STAT_BINS, range=(0, 6))[0]
        out[i, 1 + N_STAT_BINS :] = np.histogram(resp, N_STAT_BINS, range=(-3, 0))[0]
    return np.log1p(out)


def root_sift(desc: np.ndarray) -> np.ndarray:
    """RootSIFT: L1-normalise then square-root (Hellinger kernel); all-zero rows stay zero."""
    d = desc.astype(np.float32)
    return np.sqrt(d / np.maximum(d.sum(axis=-1, keepdims=True), 1e-6))


def power_l2(x: np.ndarray) -> np.ndarray:
    x = np.sign(x) * np.sqrt(np.abs(x))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
