"""The feature cache: hit on a second run, invalidated by parameters, pixels and file changes."""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import pytest
from PIL import Image

from benchmark.core.samples import Sample
from benchmark.toolkit.features import (
    cache_path,
    cached_features,
    extract_parallel,
    sample_fingerprint,
)

CALLS: list[int] = []


def mean_colour(samples: list[Sample], scale: float = 1.0) -> np.ndarray:
    CALLS.append(len(samples))
    return np.stack([s.load().reshape(-1, 3).mean(0) * scale for s in samples])


def _samples(n: int, seed: int = 0, size: int = 16) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [
        Sample(f"s{i}", i % 2, None, {}, rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        for i in range(n)
    ]


def test_cache_hit_and_invalidation() -> None:
    samples = _samples(6)
    CALLS.clear()
    a = cached_features(
        samples, partial(mean_colour, scale=1.0), {"scale": 1.0}, n_jobs=1, name="mc"
    )
    assert CALLS == [6] and cache_path(samples, "mc", {"scale": 1.0}).is_file()
    b = cached_features(
        samples, partial(mean_colour, scale=1.0), {"scale": 1.0}, n_jobs=1, name="mc"
    )
    assert CALLS == [6], "second run must come from the cache"
    np.testing.assert_array_equal(a, b)
    c = cached_features(
        samples, partial(mean_colour, scale=2.0), {"scale": 2.0}, n_jobs=1, name="mc"
    )
    assert CALLS == [6, 6], "a parameter change must re-extract"
    np.testing.assert_allclose(c, 2 * a)
    changed = samples[:5] + [samples[5].with_pixels(255 - samples[5].pixels)]
    cached_features(changed, partial(mean_colour, scale=1.0), {"scale": 1.0}, n_jobs=1, name="mc")
    assert CALLS == [6, 6, 6], "changed pixels must re-extract"
    cached_features(samples, mean_colour, {"scale": 1.0}, n_jobs=1, name="mc", use_cache=False)
    assert CALLS == [6, 6, 6, 6]


def test_file_samples_invalidate_on_change(tmp_path) -> None:
    paths = []
    for i, s in enumerate(_samples(3)):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(s.pixels).save(paths[-1])
    samples = [Sample(p.stem, 0, p) for p in paths]
    fp = sample_fingerprint(samples)
    assert sample_fingerprint(samples) == fp
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))  # a different mtime even on coarse file systems
    assert sample_fingerprint(samples) != fp


def test_parallel_matches_serial() -> None:
    samples = _samples(24)
    serial = extract_parallel(samples, mean_colour, n_jobs=1)
    parallel = extract_parallel(samples, mean_colour, n_jobs=2)
    np.testing.assert_array_equal(serial, parallel)


def test_bad_extractor_output_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="for 3 samples"):
        extract_parallel(_samples(3), lambda ss: np.zeros((2, 1)), n_jobs=1)
