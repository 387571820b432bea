"""SIFT feature extraction speed: images/s on one core vs all cores (``benchmark.features``).

Dense SIFT + keypoint statistics (what ``sift_svm``/``sift_rf`` extract) over a batch of 128 px
images, serially and with joblib over every core; the speed-up ratio is printed and stored in
``benchmark.extra_info`` (goal >= 1.6x on 2 cores), never asserted: the machine is shared.
With the default ``--benchmark-disable`` this runs one small round as a plain test;
``pytest tests/benchmarks --benchmark-enable`` measures for real.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmark.core.samples import Sample
from benchmark.toolkit.features import extract_parallel
from detectors.classical.sift_bovw import dense_sift, keypoint_stats


def sift_both(samples: list[Sample]) -> np.ndarray:
    d = dense_sift(samples, 128, 8, 8.0).reshape(len(samples), -1).astype(np.float32)
    return np.concatenate([d, keypoint_stats(samples, 128, 0.0)], axis=1)


def _images(n: int) -> list[Sample]:
    import cv2

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        base = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        img = cv2.resize(base, (128, 128), interpolation=cv2.INTER_CUBIC)
        out.append(Sample(f"b{i}", i % 2, None, {}, img))
    return out


def test_sift_extraction_scaling(benchmark, capsys) -> None:
    enabled = not benchmark.disabled
    samples = _images(192 if enabled else 48)
    extract_parallel(samples[:16], sift_both, n_jobs=-1)  # start the worker pool once
    rate = {}
    for label, n_jobs in (("1 core", 1), ("all cores", -1)):
        t0 = time.perf_counter()
        extract_parallel(samples, sift_both, n_jobs=n_jobs)
        rate[label] = len(samples) / (time.perf_counter() - t0)
    ratio = rate["all cores"] / rate["1 core"]
    one, every = rate["1 core"], rate["all cores"]
    benchmark.extra_info.update(
        {
            "images_per_s_1": one,
            "images_per_s_all": every,
            "speedup": ratio,
            "cores": os.cpu_count(),
        }
    )
    benchmark.pedantic(
        extract_parallel,
        args=(samples, sift_both),
        kwargs={"n_jobs": -1},
        rounds=3 if enabled else 1,
        iterations=1,
    )
    with capsys.disabled():
        print(
            f"\nSIFT features, {len(samples)} images of 128 px: {one:.0f} img/s on 1 core, "
            f"{every:.0f} img/s on {os.cpu_count()} cores -> {ratio:.2f}x (goal >= 1.6x on 2)"
        )
    assert np.isfinite(ratio) and ratio > 0
