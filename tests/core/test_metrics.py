"""Metric properties (hypothesis) and known values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from benchmark.core import metrics

labels_scores = st.integers(4, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        # scores on a 1/1000 grid: strictly monotone maps must keep distinct scores distinct,
        # which float rounding breaks for sub-ulp differences (e.g. 1 - 1e-300 == 1).
        st.lists(st.integers(0, 1000).map(lambda k: k / 1000), min_size=n, max_size=n),
    )
)


def _both(y):
    return 0 < sum(y) < len(y)


@given(labels_scores, st.sampled_from(["exp", "cube", "affine", "logit"]))
def test_auc_invariant_under_monotone_transform(ys, kind):
    y, s = ys
    assume(_both(y))
    s = np.asarray(s)
    f = {
        "exp": np.exp,
        "cube": lambda v: v**3,
        "affine": lambda v: 3 * v - 7,
        "logit": lambda v: np.log((v + 1e-3) / (1 + 1e-3 - v)),
    }[kind]
    assert metrics.roc_auc(y, f(s)) == pytest.approx(metrics.roc_auc(y, s), abs=1e-9)


@given(labels_scores)
def test_auc_of_complement(ys):
    y, s = ys
    assume(_both(y))
    s = np.asarray(s)
    assert metrics.roc_auc(y, 1 - s) == pytest.approx(1 - metrics.roc_auc(y, s), abs=1e-9)


@given(labels_scores)
def test_eer_in_unit_interval(ys):
    y, s = ys
    assume(_both(y))
    assert 0.0 <= metrics.eer(y, s) <= 1.0


@given(labels_scores, st.sampled_from(metrics.THRESHOLD_RULES))
def test_tuned_threshold_is_a_probability(ys, rule):
    y, s = ys
    t = metrics.tune_threshold(y, s, rule)
    assert 0.0 <= t <= 1.0


@given(labels_scores)
def test_youden_threshold_has_the_best_balanced_accuracy(ys):
    y, s = ys
    assume(_both(y))
    bacc = {
        rule: metrics.threshold_metrics(y, s, metrics.tune_threshold(y, s, rule))[
            "balanced_accuracy"
        ]
        for rule in metrics.THRESHOLD_RULES
    }
    assert bacc["youden"] >= bacc["max_f1"] - 1e-12
    assert bacc["youden"] >= 0.5 - 1e-12  # never worse than a constant answer


def test_max_f1_can_call_everything_fake_where_youden_does_not():
    y = [1, 1, 1, 0, 0, 0]
    s = [0.1, 0.2, 0.9, 0.3, 0.4, 0.5]  # weak: F1 of "all fake" (0.667) is the best F1
    t_f1, t_j = (metrics.tune_threshold(y, s, r) for r in ("max_f1", "youden"))
    assert metrics.threshold_metrics(y, s, t_f1)["recall"] == 1.0
    assert metrics.threshold_metrics(y, s, t_f1)["balanced_accuracy"] == 0.5
    assert metrics.threshold_metrics(y, s, t_j)["balanced_accuracy"] > 0.5


def test_known_values():
    y = [0, 0, 1, 1]
    assert metrics.roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert metrics.eer(y, [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert metrics.eer(y, [0.9, 0.8, 0.2, 0.1]) == 1.0
    assert metrics.roc_auc(y, [0.1, 0.8, 0.2, 0.9]) == 0.75
    m = metrics.threshold_metrics(y, [0.1, 0.6, 0.4, 0.9], 0.5)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 1, 1, 1)
    assert m["accuracy"] == 0.5


def test_max_f1_threshold_separates_perfectly():
    y = [0, 0, 0, 1, 1, 1]
    s = [0.05, 0.1, 0.2, 0.3, 0.35, 0.4]  # separable, but not at 0.5
    t = metrics.tune_threshold(y, s, "max_f1")
    assert metrics.threshold_metrics(y, s, t)["accuracy"] == 1.0
    assert metrics.threshold_metrics(y, s, 0.5)["accuracy"] == 0.5


def test_one_class_gives_nan_with_warning():
    with pytest.warns(metrics.UndefinedMetricWarning):
        assert math.isnan(metrics.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = metrics.all_metrics([0, 0], [0.1, 0.7], 0.5)
    assert math.isnan(out["average_precision"]) and out["accuracy"] == 0.5


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="length"):
        metrics.roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError, match="0 \\(real\\) or 1"):
        metrics.roc_auc([0, 2], [0.1, 0.2])
