"""Bootstrap intervals, DeLong, McNemar, Holm and significance ranks (benchmark.report.stats)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from benchmark.core import metrics
from benchmark.report import stats


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=4, max_size=40))
def test_unit_weights_equal_the_metrics_module(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] / 6 for p in pairs])
    if len(np.unique(y)) < 2:
        return
    got = stats.weighted_metrics(y, s, 0.5, np.ones((1, len(y))))
    assert got["roc_auc"][0] == pytest.approx(metrics.roc_auc(y, s))
    assert got["eer"][0] == pytest.approx(metrics.eer(y, s))
    assert got["accuracy_tuned"][0] == pytest.approx(
        metrics.threshold_metrics(y, s, 0.5)["accuracy"]
    )


def test_bootstrap_interval_covers_true_auc_at_nominal_rate():
    """Binormal scores, d' = 1: true AUC = Phi(1/sqrt 2). 300 repetitions tell 95% from 80%
    (binomial sd of the coverage ~1.3% at 95%, ~2.3% at 80%)."""
    true_auc = norm.cdf(1 / np.sqrt(2))
    rng = np.random.default_rng(0)
    n, reps, hits = 60, 300, 0
    y = np.r_[np.zeros(n), np.ones(n)].astype(int)
    for r in range(reps):
        s = np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]
        lo, hi = stats.bootstrap_intervals(y, s, 0.5, n_resamples=400, seed=r)["roc_auc"]
        hits += lo <= true_auc <= hi
    assert 0.89 <= hits / reps <= 0.99


def test_groups_are_resampled_whole_and_widen_clustered_intervals():
    rng = np.random.default_rng(1)
    # 8 source photos, each giving 15 real and 15 fake crops whose scores share a photo effect
    groups = np.repeat([f"photo{i}" for i in range(8)], 30)
    y = np.tile(np.r_[np.zeros(15), np.ones(15)], 8).astype(int)
    s = np.repeat(rng.normal(0, 1.5, 8), 30) + y * 0.8 + rng.normal(0, 0.5, 240)
    w = stats.bootstrap_weights(groups, 240, 50, seed=0)
    for row in w:  # every image of a photo is drawn the same number of times
        assert all(len(set(row[groups == g])) == 1 for g in np.unique(groups))
    iid = stats.bootstrap_intervals(y, s, 0.5, None, 500, seed=0)["roc_auc"]
    grouped = stats.bootstrap_intervals(y, s, 0.5, list(groups), 500, seed=0)["roc_auc"]
    assert grouped[1] - grouped[0] > 1.5 * (iid[1] - iid[0])
    again = stats.bootstrap_intervals(y, s, 0.5, list(groups), 500, seed=0)["roc_auc"]
    assert again == grouped  # seeded


def test_delong_variance_matches_reference_implementation():
    """yandexdataschool/roc_comparison test.py, TestIris.test_variance_const (fast DeLong of
    Sun & Xu 2014): variance 0.0015359814789736538 on this iris split."""
    from sklearn import datasets, linear_model, model_selection

    data = datasets.load_iris()
    x_tr, x_te, y_tr, y_te = model_selection.train_test_split(
        data.data, (data.target == 1).astype(int), test_size=0.8, random_state=42
    )
    pred = linear_model.LogisticRegression(solver="lbfgs").fit(x_tr, y_tr).predict_proba(x_te)
    auc, cov = stats.delong_covariance(y_te, pred[:, 1])
    assert auc[0] == pytest.approx(metrics.roc_auc(y_te, pred[:, 1]))
    assert cov[0, 0] == pytest.approx(0.0015359814789736538, rel=1e-6)


def test_delong_variance_is_the_variance_of_the_auc():
    """Same reference's TestGauss: the mean DeLong variance equals the AUC's variance over
    repetitions (7 vs 14 samples, N(0.5, 1) vs N(-0.5, 1)), within 10%."""
    rng = np.random.default_rng(1234235)
    y = np.r_[np.ones(7), np.zeros(14)].astype(int)
    aucs, variances = [], []
    for _ in range(1500):
        s = np.r_[rng.normal(0.5, 1, 7), rng.normal(-0.5, 1, 14)]
        a, c = stats.delong_covariance(y, s)
        aucs.append(a[0])
        variances.append(c[0, 0])
    assert np.mean(variances) == pytest.approx(np.var(aucs), rel=0.1)


def test_delong_test_of_a_detector_against_itself_and_a_clear_difference():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(100), np.ones(100)].astype(int)
    good = y * 2.0 + rng.normal(0, 1, 200)
    bad = y * 0.2 + rng.normal(0, 1, 200)
    same = stats.delong_test(y, good, good)
    assert same.p_value == 1.0
    diff = stats.delong_test(y, good, bad)
    assert diff.p_value < 1e-6 and diff.statistic > 0


def test_mcnemar_worked_example():
    """Wikipedia's McNemar example (a=101, b=121, c=59, d=33): chi2 = 21.35, p = 3.8e-6 (the
    1947 statistic without continuity correction); exact binomial p on 59 of 180."""
    a = [1] * 101 + [1] * 121 + [0] * 59 + [0] * 33
    b = [1] * 101 + [0] * 121 + [1] * 59 + [0] * 33
    chi = stats.mcnemar_test(a, b, exact=False)
    assert chi.statistic == pytest.approx(21.3556, abs=1e-3)
    assert chi.p_value == pytest.approx(3.8e-6, rel=0.02)
    exact = stats.mcnemar_test(a, b)
    assert exact.p_value == pytest.approx(2 * __import__("scipy").stats.binom.cdf(59, 180, 0.5))
    assert stats.mcnemar_test([1, 0, 1], [1, 0, 1]).p_value == 1.0


def test_leaderboard_statistics_without_resamples_still_tests_and_ranks():
    import pandas as pd

    from tests._report_data import scores_frame

    board = pd.DataFrame({"detector": ["good", "fair", "metadata_baseline", "no_scores"],
                          "dataset": "d", "roc_auc": [0.9, 0.7, 0.5, 0.99]})  # fmt: skip
    out = stats.leaderboard_statistics(board, scores_frame(), n_resamples=0).set_index("detector")
    assert out["roc_auc_lo"].isna().all()
    assert out.loc["good", "p_vs_best"] == 1.0 and out.loc["fair", "p_vs_best"] < 0.05
    # good beats both (Holm-adjusted DeLong p < 0.002); fair vs the baseline: p = 0.44, a tie
    assert list(out["n_better"].iloc[:3]) == [0, 1, 1]
    assert list(out["rank"].iloc[:3]) == [1, 2, 2] and pd.isna(out.loc["no_scores", "rank"])


def test_holm_matches_the_step_down_definition():
    # p sorted: 0.01, 0.02, 0.04 (m = 3): 0.03, 0.04, 0.04 after the running maximum
    assert stats.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    out = stats.holm([0.5, np.nan, 0.6])
    assert np.isnan(out[1]) and out[[0, 2]] == pytest.approx([1.0, 1.0])


def test_significance_rank_is_one_plus_the_number_significantly_better():
    est = [0.9, 0.8, 0.7]
    p = np.array([[np.nan, 0.3, 0.001], [0.3, np.nan, 0.2], [0.001, 0.2, np.nan]])
    better = stats.significantly_better(est, p)  # Holm: 0.003, 0.4, 0.4
    assert better[0, 2] and not better[2, 0] and better.sum() == 1
    assert stats.significance_ranks(est, better) == [1, 1, 2]


def test_significance_ranks_repair_a_non_monotone_count():
    # b (0.8) has two detectors significantly better, c (0.7) only one: the bare count would
    # rank c (2) above b (3); the rule raises c to b's rank
    est = [0.95, 0.9, 0.8, 0.7]
    better = np.zeros((4, 4), dtype=bool)
    better[0, 2] = better[1, 2] = better[1, 3] = True
    assert stats.significance_ranks(est, better) == [1, 1, 3, 3]
    assert stats.significance_ranks([0.9, float("nan"), 0.8], np.zeros((3, 3), bool)) == [1, 3, 1]


@st.composite
def _boards(draw):
    k = draw(st.integers(1, 9))
    est = draw(st.lists(st.sampled_from([0.5, 0.6, 0.7, 0.75, 0.8, 0.9]), min_size=k,
                        max_size=k))  # fmt: skip  (repeated values: ties)
    p = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            p[i, j] = p[j, i] = draw(st.sampled_from([1e-6, 0.001, 0.01, 0.04, 0.2, 0.9]))
    return np.array(est), p


@settings(max_examples=300, deadline=None)
@given(_boards())
def test_significance_ranks_agree_with_the_numbers(board):
    est, p = board
    better = stats.significantly_better(est, p)
    ranks = np.array(stats.significance_ranks(est, better))
    order = np.argsort(-est, kind="stable")
    assert (np.diff(ranks[order]) >= 0).all()  # sorted by AUC, ranks never decrease
    for j, i in zip(*np.nonzero(better), strict=True):
        assert ranks[i] > ranks[j]  # never ranked above or level with one significantly better
    for i in range(len(est)):
        assert ranks[i] >= 1 + better[:, i].sum()  # at least 1 + the number better
        assert ranks[i] <= 1 + (est > est[i]).sum()  # never below its plain AUC position
    assert (ranks[est == est.max()] == 1).all()


def test_pairwise_delong_is_symmetric_and_matches_delong_test():
    from tests._report_data import scores_frame

    sc = scores_frame()
    fits = [g for _, g in sc.groupby("detector", sort=True)]
    p = stats.pairwise_delong(fits)
    assert np.allclose(p, p.T, equal_nan=True) and np.isnan(np.diag(p)).all()
    a, b = fits[0], fits[1]
    expect = stats.delong_test(a["label"], a["score"], b["score"]).p_value
    assert p[0, 1] == pytest.approx(expect)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.0, 3.0), min_size=2, max_size=6), st.integers(0, 2**16))
def test_leaderboard_ranks_agree_with_the_auc_end_to_end(separations, seed):
    """Through the leaderboard (real DeLong p-values on shared images, Holm, ranks): sorted by
    ROC-AUC the ranks never decrease, and a fit never ranks above or level with one that is
    significantly better."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = np.arange(60) % 2
    rows, aucs = [], []
    for i, sep in enumerate(separations):
        s = y * sep + rng.normal(0, 1, len(y))
        aucs.append(metrics.roc_auc(y, s))
        rows += [
            {"detector": f"f{i}", "dataset": "d", "sample_id": str(j), "label": int(y[j]),
             "score": float(s[j]), "threshold": 0.5, "group": ""}
            for j in range(len(y))
        ]  # fmt: skip
    board = pd.DataFrame({"detector": [f"f{i}" for i in range(len(aucs))], "dataset": "d",
                          "roc_auc": aucs})  # fmt: skip
    out = stats.leaderboard_statistics(board, pd.DataFrame(rows), n_resamples=0)
    per = [g for _, g in pd.DataFrame(rows).groupby("detector", sort=True)]
    better = stats.significantly_better(aucs, stats.pairwise_delong(per))
    ranks = out["rank"].to_numpy(int)
    order = np.argsort(-np.asarray(aucs), kind="stable")
    assert (np.diff(ranks[order]) >= 0).all()
    for j, i in zip(*np.nonzero(better), strict=True):
        assert ranks[i] > ranks[j]
