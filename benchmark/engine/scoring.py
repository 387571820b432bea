"""Scoring a fitted detector: cached per-image scores and metric rows.

Used by the cells of a run and by the cross-dataset cell. Where the test images are frames of
videos (each sample carries its video's id), every metric is computed twice: over frames and
over videos (``video_``-prefixed, :mod:`benchmark.core.video_level`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core import metrics
from benchmark.core.samples import Dataset, Sample
from benchmark.core.video_level import DEFAULT_VIDEO_AGG, aggregate, prefix
from benchmark.results.rows import RowWriter


def cached_scores(det: Any, samples: list[Sample], path: Path) -> np.ndarray:
    """Fake probabilities for ``samples``, cached in ``path`` (npz keyed by sample ids)."""
    ids = np.array([s.id for s in samples])
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if np.array_equal(z["ids"], ids):
                return z["scores"]
    scores = det.predict_proba(samples)[:, 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # concurrent tasks never collide
    np.savez(tmp, ids=ids, scores=scores)
    tmp.replace(path)
    return scores


def native_size(dataset: Dataset) -> int | None:
    """Longer side of the first test image (the resolution sweep and timing use it)."""
    return max(dataset.test[0].load().shape[:2]) if dataset.test else None


def has_videos(samples: list[Sample]) -> bool:
    """Whether every sample carries the explicit id of the video it was cut from."""
    return bool(samples) and all(s.meta.get("video") not in (None, "") for s in samples)


def metric_values(
    samples: list[Sample],
    scores: np.ndarray,
    threshold: float,
    by_family: bool,
    video_agg: str = DEFAULT_VIDEO_AGG,
) -> list[tuple[str, str, float, int]]:
    """``(subset, metric, value, n)`` of every metric over all samples (and, with ``by_family``,
    all reals vs each family's fakes).

    When every sample carries a video id (``meta["video"]``), the same metrics over videos
    follow, each video scored by ``video_agg`` of its frames (``core.video_level``), under
    ``video_``-prefixed names, ``n`` counting videos. The threshold is the one tuned on
    validation frames.
    """
    y = np.array([s.label for s in samples])
    scores = np.asarray(scores, dtype=float)
    fam = np.array([str(s.meta.get("family", "fake" if s.label else "real")) for s in samples])
    levels = [("", y, scores, fam)]
    if has_videos(samples):
        v = aggregate([s.meta["video"] for s in samples], y, scores, video_agg)
        levels.append((prefix(video_agg), v.labels, v.scores, fam[v.first]))
    out = []
    for pre, labels, values, families in levels:
        subsets: dict[str, np.ndarray] = {"all": np.ones(len(labels), bool)}
        if by_family:
            for f in sorted(set(families[labels == 1])):
                subsets[f] = (labels == 0) | (families == f)  # all reals vs this family's fakes
        for subset, mask in subsets.items():
            got = metrics.all_metrics(labels[mask], values[mask], threshold)
            out += [(subset, pre + m, value, int(mask.sum())) for m, value in got.items()]
    return out


def metric_rows(
    writer: RowWriter,
    base: dict,
    samples: list[Sample],
    scores: np.ndarray,
    threshold: float,
    by_family: bool,
    video_agg: str = DEFAULT_VIDEO_AGG,
) -> None:
    """Every metric over all samples (and, with ``by_family``, all reals vs each family), frame-
    and, where samples carry videos, video-level (:func:`metric_values`): one row each."""
    for subset, metric, value, n in metric_values(samples, scores, threshold, by_family,
                                                  video_agg):  # fmt: skip
        writer.add(**(base | {"subset": subset, "metric": metric, "value": value, "n": n}))
