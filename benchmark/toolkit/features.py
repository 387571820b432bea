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
chunks per worker keeps the load balanced while amortising the pickling of each chunk), and
never more than ``CHUNK_SIZE`` samples per call, serial runs included: an extractor holds one
chunk's images and intermediates at a time, whatever the dataset's size. Chunks come back in
order as they finish and are written straight into the output (on a cache miss, into the
``.npy`` file through a memory map), so the peak is the features themselves plus a few chunks.
``extractor_fn`` must therefore be picklable (a module-level function or a
``functools.partial`` of one) and map ``list[Sample] -> ndarray`` with one row per sample;
its output must not depend on how the samples are chunked. OpenCV-based extractors should
call ``cv2.setNumThreads(1)`` themselves: each worker is one process, and OpenCV's own thread
pool would oversubscribe the cores. ``map_chunks`` is the same chunked map for extractors
whose output is not one row per sample; ``cached_array`` caches such a result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from benchmark.core.samples import Sample, cache_dir

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the file layout changes
MIN_PER_WORKER = 8  # below this many samples per worker, process start-up costs more than it saves
CHUNK_SIZE = 64  # most samples one extractor call sees: what bounds the memory of extraction

Extractor = Callable[[list[Sample]], np.ndarray]
T = TypeVar("T")
R = TypeVar("R")


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


def chunk_bounds(n: int, workers: int = 1) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` chunks of ``n`` items: about four per worker (load balance),
    none longer than ``CHUNK_SIZE``; ``[(0, 0)]`` for no items (the extractor still says what
    its empty output looks like)."""
    if n == 0:
        return [(0, 0)]
    n_chunks = min(n, max(4 * workers if workers > 1 else 1, -(-n // CHUNK_SIZE)))
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def map_chunks(items: Sequence[T], fn: Callable[[list[T]], R], n_jobs: int = -1) -> Iterator[R]:
    """``fn`` of each chunk of ``items`` (``chunk_bounds``) on ``n_jobs`` processes, in order.

    A generator: each result comes as soon as it and those before it are done, and only a few
    chunks are dispatched ahead, so the caller can write the results away one at a time.
    """
    return (result for _, result in _sized_chunks(items, fn, n_jobs))


def _sized_chunks(
    items: Sequence[T], fn: Callable[[list[T]], R], n_jobs: int
) -> Iterator[tuple[int, R]]:
    from joblib import Parallel, delayed, effective_n_jobs

    items = list(items)
    workers = max(1, min(effective_n_jobs(n_jobs), len(items) // MIN_PER_WORKER))
    bounds = chunk_bounds(len(items), workers)
    if workers == 1:
        return ((b - a, fn(items[a:b])) for a, b in bounds)
    run = Parallel(n_jobs=workers, backend="loky", return_as="generator", pre_dispatch="2*n_jobs")
    results = run(delayed(fn)(items[a:b]) for a, b in bounds)
    return zip((b - a for a, b in bounds), results, strict=True)


def extract_parallel(
    samples: Sequence[Sample], extractor_fn: Extractor, n_jobs: int = -1
) -> np.ndarray:
    """Apply ``extractor_fn`` to chunks of ``samples`` on ``n_jobs`` processes; stack the rows."""
    samples = list(samples)
    return _stack(len(samples), _sized_chunks(samples, extractor_fn, n_jobs))


def cached_array(
    samples: Sequence[Sample],
    name: str,
    key_params: dict[str, Any],
    compute: Callable[[], np.ndarray],
    *,
    use_cache: bool = True,
) -> np.ndarray:
    """``compute()``, cached like ``cached_features`` but for any array derived from ``samples``
    (not one row per sample: a codebook's sample of descriptors, say)."""
    if not use_cache:
        return compute()
    path = cache_path(samples, name, key_params)
    arr = _load(path)
    if arr is not None:
        return arr
    arr = np.asarray(compute())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    np.save(tmp, arr, allow_pickle=False)
    os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    return arr


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
    feats = _load(path, len(samples))
    if feats is not None:
        return feats
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)

    def to_file(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)

    try:
        out = _stack(len(samples), _sized_chunks(samples, extractor_fn, n_jobs), to_file)
        if isinstance(out, np.memmap):
            out.flush()
        else:  # the rows changed dtype midway and were stacked in memory
            np.save(tmp, out, allow_pickle=False)
        del out  # unmapped: the features are read back once, below
        os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
    finally:
        tmp.unlink(missing_ok=True)
    return np.load(path, allow_pickle=False)


def _stack(
    n: int,
    parts: Iterator[tuple[int, np.ndarray]],
    allocate: Callable[[tuple[int, ...], np.dtype], np.ndarray] | None = None,
) -> np.ndarray:
    """Write chunks of rows, each checked against its expected length, into one array of ``n``
    rows shaped like the first chunk's (``allocate``: e.g. a memory-mapped file)."""
    out: np.ndarray | None = None
    row = 0
    for size, part in parts:
        part = _check_rows(part, size)
        if out is None:
            shape = (n, *part.shape[1:])
            out = allocate(shape, part.dtype) if allocate else np.empty(shape, part.dtype)
        elif part.shape[1:] != out.shape[1:]:
            raise RuntimeError(
                f"feature extractor returned rows of shape {part.shape[1:]} after {out.shape[1:]}"
            )
        elif np.result_type(out, part) != out.dtype:
            out = np.array(out, dtype=np.result_type(out, part))  # promoted (as concatenate does)
        out[row : row + size] = part
        row += size
    assert out is not None  # chunk_bounds gives at least one chunk
    return out


def _load(path: Path, n_rows: int | None = None) -> np.ndarray | None:
    """The cached array at ``path`` (``None``: absent, unreadable or not ``n_rows`` long)."""
    if not path.is_file():
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:  # a truncated file from a killed run: re-extract
        log.warning("ignoring unreadable feature cache %s: %s", path, exc)
        return None
    if n_rows is not None and (arr.ndim == 0 or arr.shape[0] != n_rows):
        return None
    log.debug("feature cache hit: %s", path)
    return arr


def _tmp_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")


def _check_rows(arr: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise RuntimeError(f"feature extractor returned shape {arr.shape} for {n} samples")
    return arr


def _qualname(fn: Callable[..., Any]) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial
    return f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', repr(inner))}"
