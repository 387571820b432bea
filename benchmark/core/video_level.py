"""Video-level scores: one score per video from its frames' scores.

DeepfakeBench (Yan, Zhang, Yuan, Lyu, Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake
Detection", NeurIPS 2023 D&B) scores a video by the mean of its frames' fake probabilities and
reports AUC over videos beside AUC over frames; ``max`` and ``median`` are offered here as
options. A video is the explicit id the dataset's loader gives every frame (``meta["video"]``:
a path below the dataset root, so a real and a fake video of one file name never merge), never
a folder name guessed here. A video's label is its frames' label (one label per video, else an
error naming it).

Video-level metric names are the frame-level names with a prefix (:func:`prefix`):
``video_roc_auc`` for the mean rule, ``video_max_roc_auc`` / ``video_median_roc_auc`` for the
others, so rows of two rules never mix and tables written before video-level rows existed read
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: How a video's score is made from its frames' scores; the first is DeepfakeBench's rule.
VIDEO_AGGREGATIONS = ("mean", "max", "median")
DEFAULT_VIDEO_AGG = "mean"


def check_agg(agg: str) -> str:
    if agg not in VIDEO_AGGREGATIONS:
        raise ValueError(f"video aggregation must be one of {VIDEO_AGGREGATIONS}, got {agg!r}")
    return agg


def prefix(agg: str = DEFAULT_VIDEO_AGG) -> str:
    """Metric-name prefix of video-level values made with ``agg``: ``video_`` for the mean."""
    return "video_" if check_agg(agg) == "mean" else f"video_{agg}_"


def video_metric(metric: str, agg: str = DEFAULT_VIDEO_AGG) -> str:
    """``roc_auc`` -> ``video_roc_auc`` (mean) / ``video_max_roc_auc`` (max) ..."""
    return prefix(agg) + metric


@dataclass(frozen=True)
class Videos:
    """Frames grouped into videos, in order of each video's first frame.

    Attributes:
        ids: the video ids.
        labels: each video's label.
        scores: each video's score (its frames' scores aggregated).
        first: index of each video's first frame (to carry other per-frame fields along).
        n_frames: frames per video.
    """

    ids: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    first: np.ndarray
    n_frames: np.ndarray


def aggregate(
    videos: Sequence[str], labels: Sequence[int], scores: Sequence[float], agg: str = "mean"
) -> Videos:
    """One score per video: the ``agg`` (mean, max or median) of its frames' scores.

    Raises:
        ValueError: lengths differ, a frame has no video id, or one video has two labels.
    """
    check_agg(agg)
    vid = np.asarray([str(v) for v in videos], dtype=object)
    y = np.asarray(labels).astype(int).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not (len(vid) == len(y) == len(s)):
        raise ValueError(f"videos, labels and scores differ in length: {len(vid)}, {len(y)}, "
                         f"{len(s)}")  # fmt: skip
    if len(vid) and ((vid == "") | (vid == "nan")).any():
        raise ValueError("every frame needs a video id for video-level metrics")
    uniq, first, inv = np.unique(vid.astype(str), return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.argsort(first, kind="stable")  # videos in order of their first frame
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inv, uniq, first = rank[inv], uniq[order], first[order]
    n = np.bincount(inv, minlength=len(uniq))
    pos = np.bincount(inv, weights=y, minlength=len(uniq))
    mixed = (pos > 0) & (pos < n)
    if mixed.any():
        raise ValueError(f"video {str(uniq[np.argmax(mixed)])!r} has frames of both labels")
    if agg == "mean":
        out = np.bincount(inv, weights=s, minlength=len(uniq)) / np.maximum(n, 1)
    elif agg == "max":
        out = np.full(len(uniq), -np.inf)
        np.maximum.at(out, inv, s)
    else:
        out = np.array([np.median(s[inv == i]) for i in range(len(uniq))])
    return Videos(uniq.astype(str), y[first], out, first, n)
