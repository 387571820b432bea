"""Figures of a results folder, one function per figure, each from the tidy tables.

The source reports argue with pictures: ROC curves (Ohayon 2025), score densities with the
chosen threshold (Kroiß & Reschke 2025), training curves (Leonardi), accuracy vs resolution
(Congiu et al. 2025). Every function here takes a table (``scores.csv`` rows, the leaderboard,
the robustness or resolution table) and a PNG path, draws with matplotlib's Agg backend
(no display needed), and returns the path, or ``None`` when the table has nothing to draw.
Curves and confusion matrices come from ``sklearn.metrics`` displays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.core import events
from benchmark.report.plotting import (  # noqa: F401 - DPI, NO_FIGURES_ENV, fit_labels: re-exported
    DPI,
    FIGURES_DIR,
    NO_FIGURES_ENV,
    _by_detector,
    _grid,
    _labelled,
    _outside_legend,
    _save,
    detector_style,
    enabled,
    fit_labels,
    plt,
    with_pretrained,
)

log = logging.getLogger(__name__)


def roc_det_curves(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC and DET curves of every detector on the clean test split, one figure."""
    from sklearn.metrics import DetCurveDisplay, RocCurveDisplay

    dets = _by_detector(scores)
    if not dets:
        return None
    from sklearn.metrics import roc_auc_score

    names = [n for n, _ in dets]
    wide = 3.5 if len(dets) > 28 else 0.0  # room for the legend's second column
    fig, (roc_ax, det_ax) = plt.subplots(1, 2, figsize=(12 + wide, 4.8), layout="constrained")
    aucs = {}
    for name, g in dets:
        aucs[name] = roc_auc_score(g["label"], g["score"])
        style = detector_style(name, names) | {"lw": 1.2}
        RocCurveDisplay.from_predictions(g["label"], g["score"], name=name, ax=roc_ax,
                                         curve_kwargs=style)  # fmt: skip
        DetCurveDisplay.from_predictions(g["label"], g["score"], name=name, ax=det_ax, **style)
    roc_ax.set_title("ROC (clean test)")
    det_ax.set_title("DET (normal deviate scale)")
    for ax in (roc_ax, det_ax):
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    labels = roc_ax.get_legend_handles_labels()[1]  # "name (AUC = 0.83)", sklearn's wording
    best_first = sorted(labels, key=lambda lab: -aucs.get(lab.split(" (")[0], 0.0))
    _outside_legend(fig, roc_ax, best_first)
    roc_ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
    fig.suptitle(title)
    return _save(fig, path)


def confusion_matrices(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Confusion matrix of each detector at its threshold tuned on validation."""
    from sklearn.metrics import ConfusionMatrixDisplay

    dets = _by_detector(scores)
    if not dets:
        return None
    fig, axes = _grid(len(dets), 3.0, 2.9)
    for ax, (name, g) in zip(axes, dets, strict=True):
        thr = float(g["threshold"].iloc[0])
        pred = (g["score"] >= thr).astype(int)
        ConfusionMatrixDisplay.from_predictions(
            g["label"], pred, labels=[0, 1], display_labels=["real", "fake"], ax=ax,
            colorbar=False, cmap="Blues",
        )  # fmt: skip
        ax.set_title(f"{name}\nthreshold {thr:.3f}", fontsize=9)
    fig.suptitle(title)
    return _save(fig, path)


def score_densities(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Per-class histograms (densities) of each detector's fake score with its threshold."""
    dets = _by_detector(scores)
    if not dets:
        return None
    fig, axes = _grid(len(dets))
    bins = np.linspace(0, 1, 26)
    for ax, (name, g) in zip(axes, dets, strict=True):
        for label, colour, text in ((0, "tab:blue", "real"), (1, "tab:red", "fake")):
            s = g.loc[g["label"] == label, "score"].clip(0, 1)
            ax.hist(s, bins=bins, density=True, alpha=0.55, color=colour, label=text)
        ax.axvline(float(g["threshold"].iloc[0]), c="k", ls="--", lw=1, label="threshold")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("fake score")
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-width bins: Σ_b (n_b/n)·|mean label − mean score| over non-empty bins.

    Hand-written: scikit-learn has ``calibration_curve`` but no ECE; this is its usual
    definition (Guo et al. 2017, On Calibration of Modern Neural Networks, ICML).
    """
    y, s = np.asarray(labels, dtype=float), np.clip(np.asarray(scores, dtype=float), 0, 1)
    idx = np.minimum((s * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(idx):
        m = idx == b
        total += m.mean() * abs(y[m].mean() - s[m].mean())
    return float(total)


def reliability_diagram(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Fraction of fakes vs mean score per bin, with each detector's ECE in the legend."""
    from sklearn.calibration import calibration_curve

    dets = _by_detector(scores)
    if not dets:
        return None
    names = [n for n, _ in dets]
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="perfectly calibrated")
    for name, g in dets:
        s = g["score"].clip(0, 1)
        frac, mean = calibration_curve(g["label"], s, n_bins=10, strategy="uniform")
        ece = expected_calibration_error(g["label"], s)
        ax.plot(mean, frac, marker="o", ms=3, label=f"{name} (ECE {ece:.3f})",
                **detector_style(name, names))  # fmt: skip
    ax.set_xlabel("mean fake score in bin")
    ax.set_ylabel("fraction of fakes")
    ax.set_title(f"Reliability (clean test) {title}".strip())
    _outside_legend(fig, ax)
    return _save(fig, path)


def _auc(table: pd.DataFrame) -> pd.DataFrame:
    if table is None or table.empty or "metric" not in table:
        return pd.DataFrame()
    out = _labelled(table[table["metric"] == "roc_auc"].copy())
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out.dropna(subset=["value"])


def auc_vs_resolution(resol: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC against test resolution per detector, one panel per resize mode.

    ``resized``: degraded to the size, then scaled back to the detector's input; ``native``:
    fed at the degraded size (resolution-agnostic detectors only). Each line ends at the
    detector's clean AUC (a star at the right edge, "clean").
    """
    auc = _auc(resol)
    if auc.empty:
        return None
    names = sorted(auc["detector"].astype(str).unique())
    modes = sorted(auc["mode"].astype(str).unique())
    fig, axes = plt.subplots(1, len(modes), figsize=(5 * len(modes) + 2.5, 4.4), squeeze=False,
                             sharey=True, layout="constrained")  # fmt: skip
    sizes = sorted(auc["resolution"].astype(int).unique())
    clean_x = sizes[-1] * 2  # where "clean" sits on the log axis
    for ax, mode in zip(axes[0], modes, strict=True):
        for det, g in auc[auc["mode"].astype(str) == mode].groupby("detector"):
            g = g.sort_values("resolution")
            style = detector_style(str(det), names)
            x, y = list(g["resolution"].astype(int)), list(g["value"])
            if g["clean_value"].notna().any():
                x, y = [*x, clean_x], [*y, float(g["clean_value"].dropna().iloc[0])]
            ax.plot(x, y, marker="o", ms=3, lw=1, label=str(det), **style)
            ax.plot(x[-1:], y[-1:], marker="*", ms=7, ls="none", color=style["color"])
        ax.set_xscale("log", base=2)
        ax.set_xticks([*sizes, clean_x], [*map(str, sizes), "clean"])
        ax.set_xlabel("test resolution (px)")
        ax.set_title(f"{mode}", fontsize=10)
    axes[0][0].set_ylabel("ROC-AUC")
    fig.suptitle(f"ROC-AUC vs resolution {title}".strip())
    _outside_legend(fig, max(axes[0], key=lambda a: len(a.get_lines())))
    return _save(fig, path)


def robustness_heatmap(robust: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Detector × corruption ROC-AUC, averaged over severities."""
    auc = _auc(robust)
    if auc.empty:
        return None
    grid = auc.pivot_table(index="detector", columns="corruption", values="value", aggfunc="mean")
    fig, ax = plt.subplots(
        figsize=(1.1 * grid.shape[1] + 3, 0.5 * grid.shape[0] + 1.8), layout="constrained"
    )
    im = ax.imshow(grid.to_numpy(), cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=35, ha="right")
    ax.set_yticks(range(grid.shape[0]), grid.index)
    for (i, j), v in np.ndenumerate(grid.to_numpy()):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="ROC-AUC (mean over severities)")
    ax.set_title(f"Robustness {title}".strip())
    return _save(fig, path)


def auc_vs_severity(robust: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC against severity, one panel per corruption (severity 0 = clean)."""
    auc = _auc(robust)
    if auc.empty:
        return None
    corrs = sorted(auc["corruption"].dropna().unique())
    names = sorted(auc["detector"].astype(str).unique())
    fig, axes = _grid(len(corrs), 3.0, 2.6)
    for ax, corr in zip(axes, corrs, strict=True):
        for det, g in auc[auc["corruption"] == corr].groupby("detector"):
            g = g.sort_values("severity")
            x = np.r_[0, g["severity"].astype(float)]
            ax.plot(x, np.r_[g["clean_value"].iloc[0], g["value"]], marker="o", ms=2.5,
                    lw=1, label=str(det), **detector_style(str(det), names))  # fmt: skip
        ax.set_title(corr, fontsize=9)
        ax.set_ylim(0.4, 1.0)
        ax.set_xlabel("severity")
    axes[0].set_ylabel("ROC-AUC")
    _outside_legend(fig, max(axes, key=lambda a: len(a.get_lines())))
    fig.suptitle(f"ROC-AUC vs severity {title}".strip())
    return _save(fig, path)


def pareto(board: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC vs inference ms/image (log), marker area ∝ parameters; the Pareto front drawn."""
    need = {"roc_auc", "infer_ms_per_image"}
    if board is None or board.empty or not need <= set(board.columns):
        return None
    b = _labelled(board.dropna(subset=["roc_auc", "infer_ms_per_image"]))
    if b.empty:
        return None
    params = pd.to_numeric(b.get("n_parameters"), errors="coerce").fillna(0).to_numpy(float)
    size = 20 + 400 * np.sqrt(params / max(params.max(), 1.0))
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    if {"roc_auc_lo", "roc_auc_hi"} <= set(b.columns):
        yerr = np.vstack([b["roc_auc"] - b["roc_auc_lo"], b["roc_auc_hi"] - b["roc_auc"]])
        ax.errorbar(b["infer_ms_per_image"], b["roc_auc"], yerr=np.nan_to_num(yerr), fmt="none",
                    ecolor="grey", lw=0.8)  # fmt: skip
    ax.scatter(b["infer_ms_per_image"], b["roc_auc"], s=size, alpha=0.6)
    for _, r in b.iterrows():
        ax.annotate(r["detector"], (r["infer_ms_per_image"], r["roc_auc"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")  # fmt: skip
    front = b.sort_values("infer_ms_per_image")
    front = front[front["roc_auc"] >= front["roc_auc"].cummax()]
    ax.step(front["infer_ms_per_image"], front["roc_auc"], where="post", c="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("inference ms / image (largest timed batch)")
    ax.set_ylabel("ROC-AUC (95% bootstrap interval)")
    ax.set_title(f"Accuracy vs cost {title} (marker area ∝ parameters)".strip())
    return _save(fig, path)


def training_curves(histories: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path | None:
    """Per-epoch train/validation loss and validation AUC of each deep detector."""
    histories = {k: v for k, v in histories.items() if v is not None and len(v)}
    if not histories:
        return None
    names = sorted(histories)
    fig, (tr_ax, va_ax, auc_ax) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    for name, h in sorted(histories.items()):
        style = detector_style(name, names)
        for col, ax in (("train_loss", tr_ax), ("val_loss", va_ax), ("val_auc", auc_ax)):
            if col in h:
                ax.plot(h["epoch"], h[col], marker="o", ms=2.5, lw=1, label=name, **style)
    tr_ax.set(xlabel="epoch", ylabel="cross-entropy", title="training loss")
    va_ax.set(xlabel="epoch", ylabel="cross-entropy", title="validation loss")
    auc_ax.set(xlabel="epoch", ylabel="ROC-AUC", title="validation ROC-AUC")
    _outside_legend(fig, max((tr_ax, va_ax, auc_ax), key=lambda a: len(a.get_lines())))
    fig.suptitle(title)
    return _save(fig, path)


def write_table_figures(
    folder: Path,
    board: pd.DataFrame,
    robust: pd.DataFrame,
    resol: pd.DataFrame,
    timing: pd.DataFrame,
    scores: pd.DataFrame | None,
) -> dict[str, Path]:
    """Every figure drawn from a folder's tables into ``folder/figures/``.

    A figure that fails is reported through ``benchmark.core.events`` and skipped: a plotting
    problem never loses the tables.
    """
    if not enabled():
        return {}
    out_dir = Path(folder) / FIGURES_DIR
    title = ", ".join(sorted(board["dataset"].dropna().astype(str).unique())) if len(board) else ""
    scores, robust, resol = (with_pretrained(f, board) for f in (scores, robust, resol))
    plots: dict[str, tuple[Callable[..., Path | None], object]] = {
        "roc_det": (roc_det_curves, scores),
        "confusion": (confusion_matrices, scores),
        "score_density": (score_densities, scores),
        "reliability": (reliability_diagram, scores),
        "auc_vs_resolution": (auc_vs_resolution, resol),
        "robustness_heatmap": (robustness_heatmap, robust),
        "auc_vs_severity": (auc_vs_severity, robust),
        "pareto": (pareto, board),
    }
    return _draw_all(plots, out_dir, title)


def _draw_all(
    plots: dict[str, tuple[Callable[..., Path | None], object]], out_dir: Path, title: str
) -> dict[str, Path]:
    paths = {}
    for name, (fn, data) in plots.items():
        try:
            p = fn(data, out_dir / f"{name}.png", title=title)
        except Exception as exc:  # noqa: BLE001 - a figure never crashes a run
            plt.close("all")
            log.warning("figure %s failed: %s", name, exc, exc_info=True)
            events.emit(f"figure {name} skipped: {type(exc).__name__}: {exc}")
            continue
        if p is not None:
            paths[f"figure_{name}"] = p
    return paths
