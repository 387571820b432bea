"""Uncertainty of a leaderboard: bootstrap intervals, paired tests, ranks by significance.

* **Bootstrap intervals** (percentile, seeded) for ROC-AUC, accuracy at the tuned threshold and
  EER. When the dataset knows the unit of independence of each image (its source photograph,
  video or identity: the ``group`` column of ``scores.csv``), whole groups are resampled, since
  images cut from one photograph are not independent; otherwise each image is its own group.
  A resample is a weight vector (how often each image was drawn), so all metrics of all
  resamples are computed at once with a few matrix products instead of a Python loop.
* **DeLong's test** for two correlated AUCs on the same images (DeLong et al. 1988) with the
  fast midrank algorithm of Sun & Xu 2014 (X. Sun, W. Xu, Fast Implementation of DeLong's
  Algorithm for Comparing the Areas Under Correlated ROC Curves, IEEE SPL 21(11), 2014).
  Written here because no maintained Python package ships it (scipy/statsmodels do not).
* **McNemar's test** (McNemar 1947) for paired accuracies: the exact binomial test on the
  discordant pairs (scipy's ``binomtest``; statsmodels' ``mcnemar(exact=True)`` is the same).
* **Ranks by significance**: rank = 1 + the number of detectors significantly better by a
  paired DeLong test on the same test images, at ``ALPHA`` = 0.05 with Holm's step-down
  correction over all pairwise comparisons of a dataset (S. Holm, A Simple Sequentially
  Rejective Multiple Test Procedure, Scand. J. Statist. 6(2), 1979), then raised to the
  smallest ranks that are monotone in AUC and strictly behind every significantly better
  detector (``significance_ranks``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from benchmark.report.ranks import (  # noqa: F401  (re-exported: stats.holm, stats.ALPHA)
    ALPHA,
    holm,
    significance_ranks,
    significantly_better,
)

INTERVAL_METRICS = ("roc_auc", "accuracy_tuned", "eer")


@dataclass(frozen=True)
class PairedTest:
    """Result of a paired test: the statistic, its two-sided p-value and the two estimates."""

    statistic: float
    p_value: float
    estimate_a: float
    estimate_b: float


def _groups_index(groups: Sequence[str] | None, n: int) -> np.ndarray:
    """Integer group of each image; an empty/missing group makes the image its own group."""
    if groups is None:
        return np.arange(n)
    labels = np.asarray(["" if g is None else str(g) for g in groups], dtype=object)
    if len(labels) != n:
        raise ValueError(f"groups has {len(labels)} entries for {n} scores")
    own = np.array([f"\0image{i}" for i in range(n)], dtype=object)
    labels = np.where((labels == "") | (labels == "nan"), own, labels)
    return np.unique(labels.astype(str), return_inverse=True)[1].reshape(-1)


def bootstrap_weights(
    groups: Sequence[str] | None, n: int, n_resamples: int, seed: int = 0
) -> np.ndarray:
    """``(n_resamples, n)`` counts: how often each image is drawn when whole groups are drawn.

    Args:
        groups: independence unit of each image (empty or ``None``: each image alone).
        n: number of images.
        n_resamples: number of bootstrap resamples.
        seed: seed of the generator (the same seed gives the same resamples).
    """
    gi = _groups_index(groups, n)
    n_groups = int(gi.max()) + 1 if n else 0
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_groups, size=(n_resamples, n_groups))
    counts = np.zeros((n_resamples, n_groups))
    np.add.at(counts, (np.arange(n_resamples)[:, None], drawn), 1.0)
    return counts[:, gi]


def weighted_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """ROC-AUC, accuracy at ``threshold`` and EER for each row of ``weights`` (vectorised).

    With all weights 1 these equal ``benchmark.core.metrics`` (AUC with ties counted half, EER
    interpolated linearly between the ROC points around FPR = FNR).
    """
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    # distinct scores from high to low: one ROC point per distinct score
    uniq, inv = np.unique(-s, return_inverse=True)
    onehot = sparse.csr_matrix((np.ones(len(s)), (np.arange(len(s)), inv.reshape(-1))),
                               shape=(len(s), len(uniq)))  # fmt: skip
    pos = np.asarray((onehot.T @ (w * (y == 1)).T).T)  # (B, U) positive weight per score
    neg = np.asarray((onehot.T @ (w * (y == 0)).T).T)
    p_tot, n_tot = pos.sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.cumsum(pos, 1) / p_tot[:, None]
        fpr = np.cumsum(neg, 1) / n_tot[:, None]
        neg_below = n_tot[:, None] - np.cumsum(neg, 1)  # negatives scored strictly lower
        auc = ((pos * (neg_below + 0.5 * neg)).sum(1)) / (p_tot * n_tot)
        correct = ((s >= threshold).astype(int) == y).astype(float)
        acc = (w @ correct) / w.sum(1)
    zeros = np.zeros((len(w), 1))
    tpr, fpr = np.hstack([zeros, tpr]), np.hstack([zeros, fpr])
    diff = fpr - (1.0 - tpr)  # increases from -1 to +1 along the curve
    i = np.clip(np.argmax(diff >= 0, axis=1), 1, diff.shape[1] - 1)
    rows = np.arange(len(w))
    d0, d1 = diff[rows, i - 1], diff[rows, i]
    t = np.where(d1 == d0, 0.0, -d0 / np.where(d1 == d0, 1.0, d1 - d0))
    eer = np.clip(fpr[rows, i - 1] + t * (fpr[rows, i] - fpr[rows, i - 1]), 0.0, 1.0)
    undefined = (p_tot == 0) | (n_tot == 0)
    auc[undefined], eer[undefined] = np.nan, np.nan
    return {"roc_auc": auc, "accuracy_tuned": acc, "eer": eer}


def bootstrap_intervals(
    labels: Sequence[int],
    scores: Sequence[float],
    threshold: float,
    groups: Sequence[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of ROC-AUC, tuned accuracy and EER.

    Args:
        labels: 0 = real, 1 = fake.
        scores: fake scores.
        threshold: the decision threshold tuned on validation (for accuracy).
        groups: independence unit of each image; whole groups are resampled.
        n_resamples: bootstrap resamples (0 gives NaN intervals).
        seed: seed of the resampling.
        level: coverage of the interval.

    Returns:
        ``{metric: (low, high)}`` for ``INTERVAL_METRICS``.
    """
    y, s = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    if len(y) != len(s):
        raise ValueError(f"labels and scores differ in length: {len(y)} vs {len(s)}")
    if n_resamples <= 0 or len(y) == 0:
        return {m: (math.nan, math.nan) for m in INTERVAL_METRICS}
    out: dict[str, list[np.ndarray]] = {m: [] for m in INTERVAL_METRICS}
    weights = bootstrap_weights(groups, len(y), n_resamples, seed)
    for start in range(0, n_resamples, 256):  # chunks keep the (B, distinct scores) arrays small
        for m, v in weighted_metrics(y, s, threshold, weights[start : start + 256]).items():
            out[m].append(v)
    alpha = (1.0 - level) / 2.0
    result = {}
    for m, parts in out.items():
        v = np.concatenate(parts)
        v = v[np.isfinite(v)]
        result[m] = (
            (float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha)))
            if len(v)
            else (math.nan, math.nan)
        )
    return result


def _midrank(x: np.ndarray) -> np.ndarray:
    """Midranks (1-based; ties share their mean rank), as in Sun & Xu 2014."""
    return stats.rankdata(x, method="average")


def delong_covariance(
    labels: Sequence[int], *scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of ``k`` score vectors on the same images and their DeLong covariance matrix.

    Sun & Xu 2014's algorithm: the structural components of DeLong et al. 1988 come from
    midranks within the positives, within the negatives and over both.

    Returns:
        ``(aucs (k,), covariance (k, k))``.
    """
    y = np.asarray(labels).astype(int)
    x = np.vstack([np.asarray(s, dtype=float) for s in scores])
    pos, neg = x[:, y == 1], x[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least 2 real and 2 fake images, got {n} and {m}")
    tx = np.apply_along_axis(_midrank, 1, pos)
    ty = np.apply_along_axis(_midrank, 1, neg)
    tz = np.apply_along_axis(_midrank, 1, np.hstack([pos, neg]))
    aucs = tz[:, :m].sum(1) / m / n - (m + 1.0) / 2.0 / n
    v01 = (tz[:, :m] - tx) / n  # structural components of the positives
    v10 = 1.0 - (tz[:, m:] - ty) / m  # ... of the negatives
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    return aucs, cov


def delong_test(
    labels: Sequence[int], scores_a: Sequence[float], scores_b: Sequence[float]
) -> PairedTest:
    """Two-sided DeLong test of equal AUC for two detectors scored on the same images."""
    aucs, cov = delong_covariance(labels, scores_a, scores_b)
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = aucs[0] - aucs[1]
    if var <= 0:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    else:
        z = float(diff / math.sqrt(var))
    p = float(2 * stats.norm.sf(abs(z)))
    return PairedTest(z, p, float(aucs[0]), float(aucs[1]))


def mcnemar_test(
    correct_a: Sequence[bool], correct_b: Sequence[bool], exact: bool = True
) -> PairedTest:
    """McNemar's test of equal accuracy of two detectors on the same images.

    Args:
        correct_a: whether detector A classified each image correctly.
        correct_b: the same for detector B.
        exact: the exact binomial test on the discordant pairs (default, right at any sample
            size); ``False`` gives McNemar's 1947 chi-square without continuity correction.

    Returns:
        ``statistic`` is the smaller discordant count (exact) or the chi-square (``exact=False``).
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired predictions differ in length: {a.size} vs {b.size}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    est_a, est_b = float(a.mean()) if a.size else math.nan, float(b.mean()) if b.size else math.nan
    if only_a + only_b == 0:
        return PairedTest(0.0, 1.0, est_a, est_b)
    if exact:
        p = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
        return PairedTest(float(min(only_a, only_b)), float(p), est_a, est_b)
    chi2 = (only_a - only_b) ** 2 / (only_a + only_b)
    return PairedTest(float(chi2), float(stats.chi2.sf(chi2, 1)), est_a, est_b)


def pairwise_delong(per_fit: Sequence[pd.DataFrame]) -> np.ndarray:
    """Symmetric matrix of two-sided DeLong p-values between fits, each pair on the test images
    both scored (by ``sample_id``); NaN where fewer than 2 real and 2 fake images are shared."""
    k = len(per_fit)
    p = np.full((k, k), np.nan)
    wide = pd.concat(
        [f.set_index("sample_id")["score"].rename(i) for i, f in enumerate(per_fit)], axis=1
    )
    labels = pd.concat([f.set_index("sample_id")["label"] for f in per_fit])
    labels = labels[~labels.index.duplicated()].reindex(wide.index).to_numpy(int)
    values = wide.to_numpy(float)
    for i in range(k):
        for j in range(i + 1, k):
            both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
            y = labels[both]
            if (y == 1).sum() < 2 or (y == 0).sum() < 2:
                continue
            p[i, j] = p[j, i] = delong_test(y, values[both, i], values[both, j]).p_value
    return p


def leaderboard_statistics(
    board: pd.DataFrame, scores: pd.DataFrame | None, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """``board`` with intervals, paired tests against the best detector and tie-aware ranks.

    Adds ``roc_auc_lo/hi``, ``accuracy_tuned_lo/hi``, ``eer_lo/hi`` (95% bootstrap, whole
    groups resampled), ``p_vs_best`` (DeLong), ``p_mcnemar_vs_best`` (exact McNemar at each
    detector's tuned threshold), ``n_better`` (fits significantly better by DeLong, Holm-adjusted
    over all pairs of the dataset), ``rank`` (``significance_ranks`` of ROC-AUC), ``n_groups``
    and ``n_resamples``. Rows without per-image scores keep NaN there.

    Args:
        board: a ``report.leaderboard`` table.
        scores: ``scores.csv`` rows (clean test score per image and detector), or None.
        n_resamples: bootstrap resamples per row.
        seed: seed of the resampling (the same for every row, so rows are comparable).
    """
    board = board.copy()
    new = [f"{m}_{b}" for m in INTERVAL_METRICS for b in ("lo", "hi")]
    for col in [*new, "p_vs_best", "p_mcnemar_vs_best"]:
        board[col] = np.nan
    board["rank"] = pd.array([pd.NA] * len(board), dtype="Int64")
    board["n_better"] = pd.array([pd.NA] * len(board), dtype="Int64")
    board["n_groups"] = pd.array([pd.NA] * len(board), dtype="Int64")
    board["n_resamples"] = n_resamples
    if scores is None or scores.empty or board.empty:
        return board
    for dataset, part in board.groupby("dataset"):
        per_det = _scores_by_detector(scores, str(dataset))
        for idx in part.index:
            sc = per_det.get(_row_key(board, idx))
            if sc is None or sc["label"].nunique() < 2:
                continue
            ci = bootstrap_intervals(sc["label"], sc["score"], float(sc["threshold"].iloc[0]),
                                     list(sc["group"]), n_resamples, seed)  # fmt: skip
            for m, (lo, hi) in ci.items():
                board.loc[idx, [f"{m}_lo", f"{m}_hi"]] = lo, hi
            board.at[idx, "n_groups"] = len(set(_groups_index(list(sc["group"]), len(sc))))
        ranked = board.loc[part.index, "n_groups"].notna()  # rows with per-image scores,
        if "status" in board:  # not a degenerate one (constant scores: not a method)
            ranked &= board.loc[part.index, "status"].fillna("ok") != "degenerate"
        ok = part[ranked]
        if ok.empty:
            continue
        best_idx = board.loc[ok.index, "roc_auc"].idxmax()
        best = per_det[_row_key(board, best_idx)]
        for idx in ok.index:
            other = per_det[_row_key(board, idx)]
            both = best.merge(other, on="sample_id", suffixes=("_a", "_b"))
            if len(both) < 4 or both["label_a"].nunique() < 2:
                continue
            y = both["label_a"].to_numpy(int)
            board.at[idx, "p_vs_best"] = delong_test(y, both["score_a"], both["score_b"]).p_value
            correct = [
                (both[f"score_{k}"] >= both[f"threshold_{k}"]).to_numpy(int) == y for k in "ab"
            ]
            board.at[idx, "p_mcnemar_vs_best"] = mcnemar_test(*correct).p_value
        auc = board.loc[ok.index, "roc_auc"].to_numpy(float)
        better = significantly_better(
            auc, pairwise_delong([per_det[_row_key(board, i)] for i in ok.index])
        )
        board.loc[ok.index, "n_better"] = better.sum(0)
        board.loc[ok.index, "rank"] = significance_ranks(auc, better)
    return board


def _row_key(board: pd.DataFrame, idx: object) -> str:
    tuning = board.at[idx, "tuning"] if "tuning" in board else "default"
    return _key(board.at[idx, "detector"], tuning)


def _scores_by_detector(scores: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """Each detector's clean test scores on ``dataset`` (one row per image)."""
    part = scores[scores["dataset"].astype(str) == dataset]
    if "condition" in part:
        part = part[part["condition"].fillna("clean").isin(["clean", ""])]
    out = {}
    tuning = part["tuning"] if "tuning" in part else pd.Series("", index=part.index)
    tuning = tuning.astype(object).where(tuning.notna(), "").astype(str).replace("", "default")
    for (det, tun), g in part.assign(_tuning=tuning).groupby(["detector", "_tuning"]):
        g = g.drop_duplicates("sample_id", keep="last").copy()
        g["group"] = g["group"].fillna("").astype(str)
        out[_key(det, tun)] = g
    return out


def _key(detector: object, tuning: object = "default") -> str:
    """A leaderboard row's identity: the detector, plus its tuning when tuned on validation."""
    tuning = "default" if pd.isna(tuning) or tuning in ("", "default") else str(tuning)
    return str(detector) if tuning == "default" else f"{detector}@{tuning}"
