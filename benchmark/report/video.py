"""The leaderboard's video-level columns: metrics over videos, their intervals, tests and ranks.

Where the test images are frames of videos (every sample carries its video's explicit id), a
run writes each metric twice, over frames and over videos (``video_``-prefixed names, see
:mod:`benchmark.core.video_level`); only then does the leaderboard get video-level columns.
From ``scores.csv`` (frame scores with their ``video`` and ``group``), each detector's frames
are grouped into videos by the same rule, then the frame-level statistics of
:mod:`benchmark.report.stats` are applied to videos: 95% bootstrap intervals of ROC-AUC, tuned
accuracy and EER resampling whole groups (a video's source group, so a fake and the real it
was made from are drawn together where the dataset says so), DeLong's test against the
detector best over videos, and ranks by Holm-adjusted pairwise DeLong tests.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from benchmark.core.video_level import VIDEO_AGGREGATIONS, aggregate, prefix, video_metric
from benchmark.report.markdown import markdown_table
from benchmark.report.stats import (
    INTERVAL_METRICS,
    _row_key,
    _scores_by_detector,
    bootstrap_intervals,
    delong_test,
    pairwise_delong,
    significance_ranks,
    significantly_better,
)

#: Video-level metrics the leaderboard shows (each with its aggregation's prefix).
VIDEO_LEADER_METRICS = ("roc_auc", "average_precision", "eer", "accuracy", "accuracy_tuned")


def video_aggs(columns: Iterable[str]) -> list[str]:
    """The aggregations whose video-level ROC-AUC is among ``columns`` (metric names)."""
    have = set(columns)
    return [agg for agg in VIDEO_AGGREGATIONS if video_metric("roc_auc", agg) in have]


def video_columns(overall: pd.DataFrame, clean: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The video-level leaderboard columns of each fit (index ``keys``): its metrics over
    videos and ``n_videos``; empty (no column) when no test set was made of videos.

    Args:
        overall: clean test metrics over all samples, pivoted (one column per metric).
        clean: the clean test rows (long), for the number of videos scored.
        keys: the columns that tell one fit from another.
    """
    aggs = video_aggs(overall.columns)
    cols = [video_metric(m, a) for a in aggs for m in VIDEO_LEADER_METRICS]
    out = overall[[c for c in cols if c in overall.columns]].copy()
    if aggs:
        auc = video_metric("roc_auc", aggs[0])
        scored = clean[(clean["subset"] == "all") & (clean["metric"] == auc)]
        n = pd.to_numeric(scored.groupby(keys)["n"].last(), errors="coerce")
        out["n_videos"] = n.reindex(out.index).round().astype("Int64")
    return out


def frames_to_videos(frames: pd.DataFrame, agg: str) -> pd.DataFrame | None:
    """One row per video (``sample_id`` = its id): label, aggregated score, group, threshold.

    None when some frame has no video id (the scores were not of video frames).
    """
    video = frames["video"] if "video" in frames else pd.Series("", index=frames.index)
    video = video.fillna("").astype(str)
    if frames.empty or (video == "").any():
        return None
    v = aggregate(list(video), frames["label"].to_numpy(int), frames["score"].to_numpy(float), agg)
    first = frames.iloc[v.first]
    return pd.DataFrame({
        "sample_id": v.ids, "label": v.labels, "score": v.scores,
        "group": first["group"].to_numpy(), "threshold": first["threshold"].to_numpy(float),
    })  # fmt: skip


def video_statistics(
    board: pd.DataFrame, scores: pd.DataFrame | None, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """``board`` with, for each video-level aggregation it has, ``<p>roc_auc_lo/hi``,
    ``<p>accuracy_tuned_lo/hi``, ``<p>eer_lo/hi`` (``<p>`` = ``video_``, ``video_max_``, ...),
    ``<p>p_vs_best`` (DeLong against the fit best over videos), ``<p>n_better`` and ``<p>rank``
    (Holm-adjusted pairwise DeLong over videos, as the frame-level rank).
    """
    aggs = video_aggs(board.columns)
    if not aggs or scores is None or scores.empty or board.empty:
        return board
    board = board.copy()
    for agg in aggs:
        _add_statistics(board, scores, agg, n_resamples, seed)
    return board


def _add_statistics(board: pd.DataFrame, scores: pd.DataFrame, agg: str, n_resamples: int,
                    seed: int) -> None:  # fmt: skip
    p = prefix(agg)
    for col in [f"{p}{m}_{b}" for m in INTERVAL_METRICS for b in ("lo", "hi")] + [f"{p}p_vs_best"]:
        board[col] = np.nan
    for col in (f"{p}rank", f"{p}n_better"):
        board[col] = pd.array([pd.NA] * len(board), dtype="Int64")
    for dataset, part in board.groupby("dataset"):
        per_fit = {}
        for key, frames in _scores_by_detector(scores, str(dataset)).items():
            videos = frames_to_videos(frames, agg)
            if videos is not None and videos["label"].nunique() == 2:
                per_fit[key] = videos
        ranked = [
            i for i in part.index
            if _row_key(board, i) in per_fit
            and board.at[i, "status"] == "ok"
            and pd.notna(board.at[i, f"{p}roc_auc"])
        ]  # fmt: skip
        for idx in ranked:
            v = per_fit[_row_key(board, idx)]
            ci = bootstrap_intervals(v["label"], v["score"], float(v["threshold"].iloc[0]),
                                     list(v["group"]), n_resamples, seed)  # fmt: skip
            for m, (lo, hi) in ci.items():
                board.loc[idx, [f"{p}{m}_lo", f"{p}{m}_hi"]] = lo, hi
        if not ranked:
            continue
        auc = board.loc[ranked, f"{p}roc_auc"].to_numpy(float)
        best = per_fit[_row_key(board, ranked[int(np.argmax(auc))])]
        for idx in ranked:
            both = best.merge(per_fit[_row_key(board, idx)], on="sample_id", suffixes=("_a", "_b"))
            if (both["label_a"] == 1).sum() >= 2 and (both["label_a"] == 0).sum() >= 2:
                y = both["label_a"].to_numpy(int)
                board.at[idx, f"{p}p_vs_best"] = delong_test(y, both["score_a"],
                                                             both["score_b"]).p_value  # fmt: skip
        better = significantly_better(
            auc, pairwise_delong([per_fit[_row_key(board, i)] for i in ranked])
        )
        board.loc[ranked, f"{p}n_better"] = better.sum(0)
        board.loc[ranked, f"{p}rank"] = significance_ranks(auc, better)


def markdown_section(board: pd.DataFrame) -> str:
    """``leaderboard.md``'s video-level section; "" when the board has no video columns."""
    aggs = video_aggs(board.columns)
    if not aggs:
        return ""
    parts = []
    for agg in aggs:
        p = prefix(agg)
        rule = "mean (DeepfakeBench's rule)" if agg == "mean" else agg
        cols = ["detector", "tuning", "status", "n_videos", f"{p}rank", f"{p}roc_auc",
                f"{p}roc_auc_lo", f"{p}roc_auc_hi", f"{p}p_vs_best", f"{p}average_precision",
                f"{p}eer", f"{p}accuracy", f"{p}accuracy_tuned"]  # fmt: skip
        parts += [
            f"\n## Video level: each video scored by the {rule} of its frames' scores\n",
            "Metrics over videos (`n_videos`); the tuned threshold is the one tuned on "
            "validation frames. Intervals resample whole source groups; `p_vs_best` and ranks "
            "are DeLong tests over videos, as the frame-level ones over frames.\n",
            markdown_table(board[[c for c in cols if c in board]]),
        ]
    return "\n".join(parts)
