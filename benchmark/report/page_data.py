"""What the report page shows of one results folder, read from its tables and computed once.

The page is static: everything its script needs is computed here, in Python, and embedded as
JSON. :func:`read_folder` reads a folder's leaderboard (with each fit's name and family, also
for a leaderboard written before those columns existed), fit parameters, robustness tables and
per-image scores; :func:`pairwise_tests` gives the "compare two" view its paired tests for
every pair of fits: DeLong's test of their ROC-AUCs (raw and Holm-adjusted as the ranks use
it) and McNemar's test of their accuracies at each fit's tuned threshold, on the test images
both scored (:mod:`benchmark.report.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report import stats
from benchmark.report.labels import detector_family, fit_kind, fit_label, params_of
from benchmark.results.store import FITS_FILE, SCORES_FILE, read_optional


@dataclass
class FolderData:
    """The tables of one results folder that the page reads (None where a folder lacks one)."""

    board: pd.DataFrame
    params: dict[tuple[str, str], dict] = field(default_factory=dict)  # (detector, tuning)
    robust_summary: pd.DataFrame | None = None
    robust: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None


def _tuning(value: object) -> str:
    text = "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)
    return text or "default"


def with_fit_names(board: pd.DataFrame) -> pd.DataFrame:
    """``board`` with ``fit``, ``detector_family`` and ``fit_kind`` filled in where missing (a
    leaderboard written before they were its columns), from the columns it has."""
    board = board.copy()
    cols = [
        board[c] if c in board else pd.Series([None] * len(board), index=board.index)
        for c in ("detector", "tuning", "train_aug", "pretrained")
    ]
    rows = list(zip(*cols, strict=True))
    if "fit" not in board:
        board["fit"] = [fit_label(*r) for r in rows]
    if "detector_family" not in board:
        board["detector_family"] = [detector_family(r[0], r[3]) for r in rows]
    if "fit_kind" not in board:
        board["fit_kind"] = [fit_kind(*r[1:]) for r in rows]
    for c in ("fit", "detector_family", "fit_kind"):
        board[c] = board[c].astype(object).where(board[c].notna(), "").astype(str)
    return board


def read_folder(folder: Path) -> FolderData:
    """A folder's leaderboard (``n/a`` kept as a value), fit parameters, robustness and scores."""
    folder = Path(folder)
    board = pd.read_csv(folder / "leaderboard.csv", keep_default_na=False, na_values=[""])
    data = FolderData(with_fit_names(board))
    fits = read_optional(folder / FITS_FILE)
    if fits is not None and {"detector", "params"} <= set(fits.columns):
        tuning = fits["tuning"] if "tuning" in fits else pd.Series("default", index=fits.index)
        for det, tun, text in zip(fits["detector"], tuning, fits["params"], strict=True):
            data.params[(str(det), _tuning(tun))] = params_of(text)  # the last run's params
    data.robust_summary = read_optional(folder / "robustness_summary.csv")
    data.robust = read_optional(folder / "robustness.csv")
    data.scores = read_optional(folder / SCORES_FILE)
    return data


@lru_cache(maxsize=256)
def citation(detector: str) -> str:
    """The paper or report a registered detector follows (its registration); "" if unknown."""
    from benchmark.plugins import detector_meta
    from benchmark.registry import RegistryError

    try:
        return detector_meta(detector).paper
    except RegistryError:
        return ""


def _wide(per_fit: list[pd.DataFrame], column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, values)``: one row per test image any fit scored, one column per fit (NaN
    where a fit did not score the image)."""
    wide = pd.concat(
        [f.set_index("sample_id")[column].rename(i) for i, f in enumerate(per_fit)], axis=1
    )
    labels = pd.concat([f.set_index("sample_id")["label"] for f in per_fit])
    labels = labels[~labels.index.duplicated()].reindex(wide.index).to_numpy(int)
    return labels, wide.to_numpy(float)


def pairwise_mcnemar(per_fit: list[pd.DataFrame]) -> np.ndarray:
    """Symmetric matrix of exact McNemar p-values between fits: correct or not at each fit's
    tuned threshold, on the test images both scored; NaN on the diagonal and where none is
    shared."""
    k = len(per_fit)
    p = np.full((k, k), np.nan)
    if k < 2:
        return p
    correct = [
        f.assign(correct=((f["score"] >= f["threshold"]).astype(int) == f["label"]).astype(float))
        for f in per_fit
    ]
    _, values = _wide(correct, "correct")
    for i in range(k):
        for j in range(i + 1, k):
            both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, j])
            if both.any():
                a, b = values[both, i].astype(bool), values[both, j].astype(bool)
                p[i, j] = p[j, i] = stats.mcnemar_test(a, b).p_value
    return p


def pairwise_tests(data: FolderData) -> dict[str, object]:
    """The "compare two" view's tests between every pair of fits of the folder that has
    per-image scores: ``fits`` (the leaderboard's row positions), ``delong`` (two-sided p),
    ``delong_holm`` (Holm-adjusted over all pairs of ranked fits, as the ranks use it; null
    for a fit that is not ranked), ``mcnemar`` (exact p) and ``n_shared`` (images both scored).
    """
    board, scores = data.board, data.scores
    empty = {"fits": [], "delong": [], "delong_holm": [], "mcnemar": [], "n_shared": []}
    if scores is None or scores.empty or board.empty:
        return empty
    per_fit, rows = [], []
    for dataset, part in board.groupby("dataset", sort=False):
        by_key = stats._scores_by_detector(scores, str(dataset))
        for pos in part.index:
            sc = by_key.get(stats._row_key(board, pos))
            if sc is not None and sc["label"].nunique() == 2:
                per_fit.append(sc)
                rows.append(int(board.index.get_loc(pos)))
    if not per_fit:
        return empty
    k = len(per_fit)
    delong = stats.pairwise_delong(per_fit)
    if board["dataset"].nunique() > 1:  # pairs across datasets share no images: keep them apart
        ds = board["dataset"].to_numpy()[rows]
        delong[ds[:, None] != ds[None, :]] = np.nan
    ranked = np.array([pd.notna(board["rank"].iloc[r]) if "rank" in board else True for r in rows])
    holm = np.full((k, k), np.nan)
    idx = np.flatnonzero(ranked)
    iu = np.triu_indices(len(idx), 1)
    sub = delong[np.ix_(idx, idx)]
    adj = np.full(sub.shape, np.nan)
    adj[iu] = stats.holm(sub[iu])
    adj.T[iu] = adj[iu]
    holm[np.ix_(idx, idx)] = adj
    ids = [set(f["sample_id"]) for f in per_fit]
    shared = [[len(a & b) for b in ids] for a in ids]
    return {
        "fits": rows,
        "delong": _json_matrix(delong),
        "delong_holm": _json_matrix(holm),
        "mcnemar": _json_matrix(pairwise_mcnemar(per_fit)),
        "n_shared": shared,
    }


def _json_matrix(m: np.ndarray) -> list[list[float | None]]:
    return [[None if not np.isfinite(v) else float(f"{v:.4g}") for v in row] for row in m]


def number(value: object) -> float | None:
    """A cell as a finite float, or None (text, empty, NaN)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
