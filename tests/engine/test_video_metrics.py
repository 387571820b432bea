"""Video-level metrics: frames grouped by their explicit video id, one score per video, every
metric again over videos. The example's numbers are worked out by hand below."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.core import metrics
from benchmark.core.samples import Sample
from benchmark.core.video_level import aggregate, prefix, video_metric
from benchmark.engine.scoring import metric_values

# 3 real and 3 fake videos, 4 frames each. A real and a fake share the file name 000.mp4: their
# ids differ by the folder below the dataset root, so they are two videos.
VIDEOS = {
    ("ff++:original_sequences/youtube/c23/videos/000", 0, "real"): [0.1, 0.2, 0.3, 0.4],
    ("ff++:original_sequences/youtube/c23/videos/001", 0, "real"): [0.5, 0.5, 0.6, 0.6],
    ("ff++:original_sequences/youtube/c23/videos/002", 0, "real"): [0.0, 0.1, 0.1, 0.2],
    ("ff++:manipulated_sequences/Deepfakes/c23/videos/000", 1, "Deepfakes"): [0.9, 0.8, 0.7, 0.6],
    ("ff++:manipulated_sequences/Deepfakes/c23/videos/001", 1, "Deepfakes"): [0.2, 0.3, 0.4, 0.3],
    ("ff++:manipulated_sequences/FaceSwap/c23/videos/002", 1, "FaceSwap"): [0.6, 0.6, 0.7, 0.5],
}


def frames() -> tuple[list[Sample], np.ndarray]:
    samples, scores = [], []
    for (video, label, family), values in VIDEOS.items():
        for f, value in enumerate(values):
            meta = {"video": video, "family": family, "group": video}
            samples.append(Sample(f"{video.rsplit('/', 1)[1]}.mp4#f{f}", label, None, meta))
            scores.append(value)
    order = np.random.default_rng(0).permutation(len(samples))  # frames in any order
    return [samples[i] for i in order], np.array(scores)[order]


def values(out: list[tuple[str, str, float, int]]) -> dict[tuple[str, str], tuple[float, int]]:
    return {(subset, metric): (value, n) for subset, metric, value, n in out}


def test_hand_computed_video_auc_ap_eer_accuracy():
    samples, scores = frames()
    got = values(metric_values(samples, scores, threshold=0.28, by_family=True))
    # video means: reals 0.25, 0.55, 0.10; fakes 0.75, 0.30, 0.60
    # AUC: 0.75 and 0.60 beat all 3 reals, 0.30 beats 2 of them: (3 + 2 + 3) / 9
    assert got[("all", "video_roc_auc")] == (pytest.approx(8 / 9), 6)
    # ranked: .75 F, .60 F, .55 R, .30 F, .25 R, .10 R -> precision at each fake 1, 1, 3/4
    assert got[("all", "video_average_precision")][0] == pytest.approx((1 + 1 + 3 / 4) / 3)
    # ROC (fpr, tpr): (0, 1/3), (0, 2/3), (1/3, 2/3) -> FPR = FNR = 1/3 at the third point
    assert got[("all", "video_eer")][0] == pytest.approx(1 / 3)
    # at 0.5 the real 0.55 and the fake 0.30 are wrong; at the tuned 0.28 only the real 0.55
    assert got[("all", "video_accuracy")][0] == pytest.approx(4 / 6)
    assert got[("all", "video_accuracy_tuned")][0] == pytest.approx(5 / 6)
    assert (got[("all", "video_tp")][0], got[("all", "video_fp")][0]) == (2, 1)
    # per family, all real videos vs that family's: Deepfakes' .75 and .30 -> (3 + 2) / 6
    assert got[("Deepfakes", "video_roc_auc")] == (pytest.approx(5 / 6), 5)
    assert got[("FaceSwap", "video_roc_auc")] == (pytest.approx(1.0), 4)
    # the frame-level values are still there, over the 24 frames
    y = np.array([s.label for s in samples])
    assert got[("all", "roc_auc")] == (pytest.approx(metrics.roc_auc(y, scores)), 24)
    assert got[("all", "roc_auc")][0] != pytest.approx(8 / 9)


def test_max_and_median_rules_have_their_own_names():
    samples, scores = frames()
    got = values(metric_values(samples, scores, 0.5, by_family=False, video_agg="max"))
    # maxima: reals .4, .6, .2; fakes .9, .4, .7 -> 3 + (1 + a tie with .4 counted half) + 3
    assert got[("all", "video_max_roc_auc")][0] == pytest.approx(7.5 / 9)
    assert ("all", "video_roc_auc") not in got
    med = values(metric_values(samples, scores, 0.5, by_family=False, video_agg="median"))
    assert med[("all", "video_median_roc_auc")][0] == pytest.approx(8 / 9)
    assert (prefix("mean"), video_metric("eer", "max")) == ("video_", "video_max_eer")
    with pytest.raises(ValueError, match="one of"):
        prefix("mode")


def test_no_video_rows_unless_every_frame_has_a_video():
    samples, scores = frames()
    plain = [Sample(s.id, s.label, None, {"family": s.meta["family"]}) for s in samples]
    assert not any(m.startswith("video_") for _, m, _, _ in metric_values(plain, scores, 0.5,
                                                                           True))  # fmt: skip
    mixed = plain[:1] + samples[1:]
    assert not any(m.startswith("video_") for _, m, _, _ in metric_values(mixed, scores, 0.5,
                                                                           True))  # fmt: skip


def test_a_video_with_two_labels_is_an_error():
    with pytest.raises(ValueError, match="'v1' has frames of both labels"):
        aggregate(["v0", "v1", "v1"], [0, 0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="video id"):
        aggregate(["v0", ""], [0, 1], [0.1, 0.2])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1)), min_size=1, max_size=30))
def test_aggregates_match_numpy_per_video(frames_):
    vids = [f"v{v}" for v, _ in frames_]
    labels = [int(v) % 2 for v, _ in frames_]  # one label per video
    s = np.array([x for _, x in frames_])
    for agg, fn in (("mean", np.mean), ("max", np.max), ("median", np.median)):
        got = aggregate(vids, labels, s, agg)
        assert list(got.ids) == list(dict.fromkeys(vids))  # order of first frames
        for vid, score, label, n in zip(got.ids, got.scores, got.labels, got.n_frames,
                                        strict=True):  # fmt: skip
            mine = np.array([v == vid for v in vids])
            assert score == pytest.approx(fn(s[mine]))
            assert (label, n) == (int(vid[1:]) % 2, mine.sum())
