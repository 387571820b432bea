"""Per-sample feature extraction, parallel over cores and cached on disk.

``cached_features(samples, extractor_fn, key_params)`` returns ``extractor_fn`` applied to
every sample, stacked along the first axis. The result is stored with ``np.save`` under
``cache_dir()/features/`` and keyed by

* a fingerprint of the samples: ids, labels, and for file-backed samples the resolved path,
  size and mtime, for in-memory samples a BLAKE2 hash of the pixels (so a corrupted or resized
  copy of a dataset gets its own entry), and
* the extractor's name and every parameter that changes its output (``key_params``),

so a second run on the same data skips extraction and any parameter change invalidates it.

Extraction runs in joblib's loky worker processes, over contiguous chunks of samples (a few
chunks per worker keeps the load balanced while amortising the pickling of each chunk).
``extractor_fn`` must therefore be picklable (a module-level function or a
``functools.partial`` of one) and map ``list[Sample] -> ndarray`` with one row per sample.
OpenCV-based extractors should call ``cv2.setNumThreads(1)`` themselves: each worker is one
process, and OpenCV's own thread pool would oversubscribe the cores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.samples import Sample, cache_dir

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the file layout changes
MIN_PER_WORKER = 8  # below this many samples per worker, process start-up costs more than it saves

Extractor = Callable[[list[Sample]], np.ndarray]


def sample_fingerprint(samples: Sequence[Sample]) -> str:
    """A hex digest that changes whenever any sample's identity or content may have changed."""
    h = hashlib.blake2b(digest_size=16)
    for s in samples:
        h.update(f"{s.id}\x00{s.label}\x00".encode())
        if s.pixels is not None:
            px = np.ascontiguousarray(s.pixels)
            h.update(f"px{px.shape}{px.dtype}".encode())
            h.update(px.data)
        elif s.path is not None:
            path = Path(s.path).resolve()
            try:
                st = path.stat()
                h.update(f"file{path}:{st.st_size}:{st.st_mtime_ns}".encode())
            except OSError:  # a missing file is the extractor's error to report, with its name
                h.update(f"missing{path}".encode())
        else:
            h.update(b"empty")
        h.update(b"\x01")
    return h.hexdigest()


def feature_key(samples: Sequence[Sample], name: str, key_params: dict[str, Any]) -> str:
    """Cache key of (samples, extractor name, extractor parameters)."""
    try:
        params = json.dumps(key_params, sort_keys=True, default=str)
    except TypeError as exc:
        raise TypeError(f"{name}: key_params must be JSON-serialisable: {exc}") from None
    h = hashlib.blake2b(digest_size=16)
    h.update(f"v{CACHE_VERSION}\x00{name}\x00{params}\x00".encode())
    h.update(sample_fingerprint(samples).encode())
    return h.hexdigest()


def cache_path(samples: Sequence[Sample], name: str, key_params: dict[str, Any]) -> Path:
    """Where ``cached_features`` stores this (samples, extractor, params) combination."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return cache_dir() / "features" / f"{safe}-{feature_key(samples, name, key_params)}.npy"


def extract_parallel(
    samples: Sequence[Sample], extractor_fn: Extractor, n_jobs: int = -1
) -> np.ndarray:
    """Apply ``extractor_fn`` to chunks of ``samples`` on ``n_jobs`` processes; stack the rows."""
    from joblib import Parallel, delayed, effective_n_jobs

    samples = list(samples)
    workers = max(1, min(effective_n_jobs(n_jobs), len(samples) // MIN_PER_WORKER))
    if workers == 1:
        return _check_rows(extractor_fn(samples), len(samples))
    n_chunks = min(len(samples), 4 * workers)
    bounds = np.linspace(0, len(samples), n_chunks + 1).astype(int)
    chunks = [samples[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    parts = Parallel(n_jobs=workers, backend="loky")(delayed(extractor_fn)(c) for c in chunks)
    for part, chunk in zip(parts, chunks, strict=True):
        _check_rows(part, len(chunk))
    return np.concatenate(parts, axis=0)


def cached_features(
    samples: Sequence[Sample],
    extractor_fn: Extractor,
    key_params: dict[str, Any],
    n_jobs: int = -1,
    *,
    name: str | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Features of ``samples``, loaded from the disk cache or extracted in parallel and saved.

    Args:
        samples: the images.
        extractor_fn: picklable ``list[Sample] -> ndarray`` with one row per sample.
        key_params: every parameter that changes the output (JSON-serialisable).
        n_jobs: joblib worker count (-1: all cores). Ignored on a cache hit.
        name: cache-entry name; defaults to the extractor's qualified name.
        use_cache: set False to always extract (nothing is read or written).

    Returns:
        The stacked features, first axis aligned with ``samples``.
    """
    samples = list(samples)
    name = name or _qualname(extractor_fn)
    if not use_cache:
        return extract_parallel(samples, extractor_fn, n_jobs)
    path = cache_path(samples, name, key_params)
    if path.is_file():
        try:
            feats = np.load(path, allow_pickle=False)
            if feats.shape[0] == len(samples):
                log.debug("feature cache hit: %s", path)
                return feats
        except (OSError, ValueError) as exc:  # a truncated file from a killed run: re-extract
            log.warning("ignoring unreadable feature cache %s: %s", path, exc)
    feats = extract_parallel(samples, extractor_fn, n_jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, feats, allow_pickle=False)
    os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    return feats


def _check_rows(arr: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise RuntimeError(f"feature extractor returned shape {arr.shape} for {n} samples")
    return arr


def _qualname(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial
    return f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', repr(inner))}"
