"""Binary detection metrics on fake-probability scores, built on ``sklearn.metrics``.

Labels: 0 = real, 1 = fake; ``scores`` are fake probabilities (any monotone score works for
the ranking metrics). Undefined cases — e.g. ROC-AUC when only one class is present — give
NaN with a warning instead of raising, so one degenerate cell never crashes a run.

The decision threshold is tuned on *validation* scores (``tune_threshold``) and then applied
to test, beside the fixed 0.5; the test split never informs any choice.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

THRESHOLD_RULES = ("max_f1", "youden")


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined on this input and was reported as NaN."""


def _validate(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(int).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} vs {s.shape[0]}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    return y, s


def _both_classes(y: np.ndarray, what: str) -> bool:
    if len(np.unique(y)) < 2:
        warnings.warn(
            f"{what} is undefined with one class present; reporting NaN",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return False
    return True


def roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    y, s = _validate(y_true, scores)
    return float(roc_auc_score(y, s)) if _both_classes(y, "ROC-AUC") else math.nan


def average_precision(y_true: Sequence[int], scores: Sequence[float]) -> float:
    from sklearn.metrics import average_precision_score

    y, s = _validate(y_true, scores)
    return float(average_precision_score(y, s)) if _both_classes(y, "AP") else math.nan


def eer(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """Equal error rate: where the false-positive rate equals the false-negative rate.

    Interpolated linearly between the two ROC points that bracket FPR = FNR.
    """
    from sklearn.metrics import roc_curve

    y, s = _validate(y_true, scores)
    if not _both_classes(y, "EER"):
        return math.nan
    fpr, tpr, _ = roc_curve(y, s)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # increases from -1 to +1 along the curve
    i = int(np.searchsorted(diff, 0.0))
    if i == 0:
        return float(fpr[0])
    if i >= len(diff):
        return float(fpr[-1])
    d0, d1 = diff[i - 1], diff[i]
    t = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    return float(np.clip(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]), 0.0, 1.0))


def tune_threshold(y_true: Sequence[int], scores: Sequence[float], rule: str = "youden") -> float:
    """Threshold on fake probability chosen on validation data; 0.5 if undefined."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    if rule not in THRESHOLD_RULES:
        raise ValueError(f"threshold rule must be one of {THRESHOLD_RULES}, got {rule!r}")
    y, s = _validate(y_true, scores)
    if not _both_classes(y, f"threshold ({rule})"):
        return 0.5
    if rule == "youden":
        fpr, tpr, thr = roc_curve(y, s)
        # Skip roc_curve's first point (threshold +inf, "nothing is fake"): no threshold in
        # [0, 1] expresses it. The last point ("everything is fake") has J = 0, so the best
        # finite threshold is never worse than a constant answer.
        j = tpr - fpr
        best = 1 + int(np.argmax(j[1:]))
        return float(np.clip(thr[best], 0.0, 1.0))
    prec, rec, thr = precision_recall_curve(y, s)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)[:-1]
    return float(thr[int(np.argmax(f1))])


def threshold_metrics(
    y_true: Sequence[int], scores: Sequence[float], threshold: float
) -> dict[str, float]:
    """Accuracy, balanced accuracy, precision, recall, F1 and confusion counts at a threshold."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    y, s = _validate(y_true, scores)
    pred = (s >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on one-class input; NaN below says it
        bal = balanced_accuracy_score(y, pred) if len(np.unique(y)) == 2 else math.nan
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(bal),
        "precision": float(precision_score(y, pred, zero_division=np.nan)),
        "recall": float(recall_score(y, pred, zero_division=np.nan)),
        "f1": float(f1_score(y, pred, zero_division=np.nan)),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
    }


def all_metrics(
    y_true: Sequence[int], scores: Sequence[float], tuned_threshold: float | None = None
) -> dict[str, float]:
    """Ranking metrics plus threshold metrics at 0.5 and (if given) at the tuned threshold.

    Keys at 0.5 are plain (``accuracy``); at the tuned threshold they end in ``_tuned``.
    """
    out: dict[str, float] = {
        "roc_auc": roc_auc(y_true, scores),
        "average_precision": average_precision(y_true, scores),
        "eer": eer(y_true, scores),
    }
    out.update(threshold_metrics(y_true, scores, 0.5))
    if tuned_threshold is not None:
        out["threshold_tuned"] = float(tuned_threshold)
        tuned = threshold_metrics(y_true, scores, tuned_threshold)
        out.update({f"{k}_tuned": v for k, v in tuned.items()})
    return out
