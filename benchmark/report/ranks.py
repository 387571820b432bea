"""Ranks that agree with the numbers: Holm-adjusted pairwise significance, made monotone.

rank = 1 + the number of detectors significantly better (paired test, ``ALPHA`` = 0.05, Holm's
step-down correction over all pairs: S. Holm, A Simple Sequentially Rejective Multiple Test
Procedure, Scand. J. Statist. 6(2), 1979), then raised to the least ranks that never decrease
with the estimate and stay strictly behind every significantly better detector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHA = 0.05  # significance level of the ranks (after Holm's correction)

RANK_RULE = (
    "Rank = 1 + the number of detectors significantly better by a paired DeLong test on the "
    "same test images (α = 0.05, Holm's correction over all pairs of the dataset), raised where "
    "needed so that ranks never decrease as ROC-AUC decreases and a detector always ranks "
    "strictly behind any detector significantly better than it; equal rank means no "
    "significant difference was established, not equal skill."
)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm 1979 step-down adjusted p-values (NaN stays NaN and is not counted).

    Written here (a few lines) because statsmodels, whose ``multipletests(method="holm")``
    gives the same numbers, is not a dependency of fakebench.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order]) if m else p[order]
    out[order] = np.minimum(adjusted, 1.0)
    return out


def significantly_better(
    estimates: Sequence[float], p_matrix: np.ndarray, alpha: float = ALPHA
) -> np.ndarray:
    """``better[j, i]``: detector ``j`` is significantly better than ``i``.

    That is: its estimate is higher and the pair's p-value (``p_matrix[i, j]``, symmetric, NaN
    where untested), Holm-adjusted over all tested pairs ``i < j``, is below ``alpha``.
    """
    est = np.asarray(estimates, dtype=float)
    p = np.asarray(p_matrix, dtype=float)
    iu = np.triu_indices(len(est), 1)
    adj = np.full(p.shape, np.nan)
    adj[iu] = holm(p[iu])
    adj.T[iu] = adj[iu]
    with np.errstate(invalid="ignore"):
        return (adj < alpha) & (est[:, None] > est[None, :])


def significance_ranks(estimates: Sequence[float], better: np.ndarray) -> list[int]:
    """Ranks (1 = best) that agree with both the estimates and the significance tests.

    ``rank_i`` is the smallest integer that is (a) at least 1 + the number of detectors
    significantly better than ``i`` (``better[:, i]``), (b) at least the rank of every
    detector with an estimate >= ``i``'s, and (c) above the rank of every detector
    significantly better than ``i``. Visiting detectors from the highest estimate down, each
    bound comes from detectors already ranked, so one pass gives the least such ranks. Hence:
    sorted by estimate (descending) ranks never decrease, equal estimates share a rank, a
    detector is never ranked above or level with one significantly better, and no rank exceeds
    1 + the number of higher estimates. Rule (a) alone is not monotone: p-values depend on
    each pair's covariance, not only on the AUC gap. NaN estimates rank last.
    """
    est = np.asarray(estimates, dtype=float)
    sig = np.asarray(better, dtype=bool)
    n = len(est)
    ranks = np.zeros(n, dtype=int)
    valid = np.flatnonzero(~np.isnan(est))
    floor = 0  # highest rank given so far (bound b)
    for value in sorted(set(est[valid]), reverse=True):
        group = valid[est[valid] == value]  # equal estimates: none is better than another
        need = floor
        for i in group:
            above = np.flatnonzero(sig[:, i])
            need = max(need, 1 + len(above), 1 + max((ranks[j] for j in above), default=0))
        ranks[group] = max(need, 1)
        floor = ranks[group[0]]
    ranks[np.isnan(est)] = len(valid) + 1
    return [int(r) for r in ranks]
