"""The leaderboard's video-level columns: metrics over videos, grouped bootstrap intervals and
DeLong over videos, present only where the test images are frames of videos."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.core.samples import Sample
from benchmark.engine.scoring import metric_rows
from benchmark.report import tables
from benchmark.report.stats import bootstrap_intervals, delong_test
from benchmark.report.video import markdown_section
from benchmark.results.rows import RowWriter
from benchmark.results.store import typed_rows, typed_scores
from tests.engine.test_video_metrics import VIDEOS


def _samples(with_video: bool) -> tuple[list[Sample], np.ndarray]:
    samples, scores = [], []
    for (video, label, family), values in VIDEOS.items():
        pair = video.rsplit("/", 1)[1]  # a fake and the real it was made from: one group
        for f, value in enumerate(values):
            meta = {"family": family, "group": f"pair{pair}"} | ({"video": video} if with_video
                                                                  else {})  # fmt: skip
            samples.append(Sample(f"{video}#f{f}", label, None, meta))
            scores.append(value)
    return samples, np.array(scores)


def _board(with_video: bool, tmp_path) -> pd.DataFrame:
    samples, a = _samples(with_video)
    b = np.clip(a + np.random.default_rng(3).normal(0, 0.25, len(a)), 0, 1)
    writer = RowWriter(tmp_path / "rows.csv", {"run_id": "r1", "seed": 0})
    for det, scores in (("det_a", a), ("det_b", b)):
        base = {"detector": det, "dataset": "ff", "split": "test", "condition": "clean",
                "train_aug": "none", "tuning": "default"}  # fmt: skip
        writer.add(**(base | {"split": "train", "condition": "fit", "metric": "train_seconds",
                              "value": 1.0}))  # fmt: skip
        metric_rows(writer, base, samples, scores, 0.28, by_family=True)
        writer.add_scores(base, samples, scores, 0.28)
    rows, frame_scores = typed_rows(writer.frame()), typed_scores(writer.scores_frame())
    return tables.leaderboard(rows, pd.DataFrame(), frame_scores, bootstrap=300), (a, b)


def test_video_columns_intervals_and_delong_over_videos(tmp_path):
    board, (a, b) = _board(True, tmp_path)
    board = board.set_index("detector")
    assert board.at["det_a", "video_roc_auc"] == pytest.approx(8 / 9)
    assert board.at["det_a", "video_average_precision"] == pytest.approx(11 / 12)
    assert (board.at["det_a", "n_videos"], board.at["det_a", "n"]) == (6, 24)
    # by hand: one score per video (mean of its 4 frames, in VIDEOS' order), one group per pair
    y = np.array([label for _, label, _ in VIDEOS])
    groups = [f"pair{v.rsplit('/', 1)[1]}" for v, _, _ in VIDEOS]
    va, vb = a.reshape(6, 4).mean(1), b.reshape(6, 4).mean(1)
    ci = bootstrap_intervals(y, va, 0.28, groups, 300, 0)
    for m, (lo, hi) in ci.items():
        assert board.at["det_a", f"video_{m}_lo"] == pytest.approx(lo)
        assert board.at["det_a", f"video_{m}_hi"] == pytest.approx(hi)
    assert ci["roc_auc"][0] <= 8 / 9 <= ci["roc_auc"][1]
    best, other = ("det_a", vb) if board.at["det_a", "video_roc_auc"] >= board.at[
        "det_b", "video_roc_auc"] else ("det_b", va)  # fmt: skip
    worse = "det_b" if best == "det_a" else "det_a"
    p = delong_test(y, va if best == "det_a" else vb, other).p_value
    assert board.at[worse, "video_p_vs_best"] == pytest.approx(p)
    assert board.at[best, "video_p_vs_best"] == pytest.approx(1.0)
    assert board.at[best, "video_rank"] == 1
    # the frame-level columns are untouched by the video ones
    assert board.at["det_a", "roc_auc"] != pytest.approx(board.at["det_a", "video_roc_auc"])
    text = markdown_section(board.reset_index())
    assert "Video level" in text and "0.889" in text


def test_no_video_columns_without_videos(tmp_path):
    board, _ = _board(False, tmp_path)
    assert not [c for c in board.columns if c.startswith("video_") or c == "n_videos"]
    assert markdown_section(board) == ""
    assert board["roc_auc"].notna().all()
