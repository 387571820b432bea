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


SEEN: list[int] = []


def mean_colour_logged(samples: list[Sample]) -> np.ndarray:
    SEEN.append(len(samples))
    return mean_colour(samples)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_extraction_is_chunked_and_the_result_does_not_depend_on_it(monkeypatch, n_jobs) -> None:
    """No extractor call sees more than CHUNK_SIZE samples, serial runs included."""
    from benchmark.toolkit import features

    samples = _samples(23)
    whole = mean_colour(samples)
    monkeypatch.setattr(features, "CHUNK_SIZE", 4)
    assert features.chunk_bounds(23, 1)[:2] == [(0, 3), (3, 7)]
    assert all(0 < b - a <= 4 for a, b in features.chunk_bounds(23, 2))
    SEEN.clear()
    np.testing.assert_array_equal(extract_parallel(samples, mean_colour_logged, n_jobs), whole)
    if n_jobs == 1:  # (worker processes log in their own copy of SEEN)
        assert sum(SEEN) == 23 and max(SEEN) <= 4 and len(SEEN) == 6
    SEEN.clear()
    cached = cached_features(samples, mean_colour_logged, {}, n_jobs, name="chunked")
    np.testing.assert_array_equal(cached, whole)
    path = cache_path(samples, "chunked", {})
    np.testing.assert_array_equal(np.load(path), whole)
    assert not list(path.parent.glob("*.tmp.npy")), "the streamed temporary file is left behind"
    assert isinstance(cached, np.ndarray) and not isinstance(cached, np.memmap)
    cached[0] = 0  # an ordinary writable array, not a view of the file


def test_map_chunks_is_lazy_and_in_order(monkeypatch) -> None:
    from benchmark.toolkit import features

    monkeypatch.setattr(features, "CHUNK_SIZE", 5)
    SEEN.clear()
    chunks = features.map_chunks(_samples(12), mean_colour_logged, n_jobs=1)
    assert SEEN == [], "nothing runs before the first result is asked for"
    parts = list(chunks)
    assert SEEN == [4, 4, 4] and [len(p) for p in parts] == [4, 4, 4]
    parallel = features.map_chunks(list(range(40)), sum, n_jobs=2)
    assert list(parallel) == [sum(range(a, b)) for a, b in features.chunk_bounds(40, 2)]


def test_no_samples_still_ask_the_extractor_for_its_shape() -> None:
    def empty_shape(samples):
        return np.zeros((len(samples), 7, 2))

    assert extract_parallel([], empty_shape, n_jobs=1).shape == (0, 7, 2)
    assert cached_features([], empty_shape, {}, n_jobs=1, name="empty").shape == (0, 7, 2)


def test_cached_array_hit_and_key() -> None:
    from benchmark.toolkit.features import cached_array

    samples, calls = _samples(3), []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(5.0)

    a = cached_array(samples, "arr", {"p": 1}, compute)
    b = cached_array(samples, "arr", {"p": 1}, compute)
    cached_array(samples, "arr", {"p": 2}, compute)
    cached_array(samples, "arr", {"p": 1}, compute, use_cache=False)
    np.testing.assert_array_equal(a, b)
    assert len(calls) == 3
