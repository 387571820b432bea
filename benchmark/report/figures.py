"""Figures of a results folder, one function per figure, each from the tidy tables.

The source reports argue with pictures: ROC curves (Ohayon 2025), score densities with the
chosen threshold (Kroiß & Reschke 2025), training curves (Leonardi), accuracy vs resolution
(Congiu et al. 2025). Every function here takes a table (``scores.csv`` rows, the leaderboard,
the robustness or resolution table) and a PNG path, draws with matplotlib's Agg backend
(no display needed), and returns the path, or ``None`` when the table has nothing to draw.
Curves and confusion matrices come from ``sklearn.metrics`` displays. The figures that compare
every fit at once (ROC/DET, reliability, accuracy vs cost, training curves) are small
multiples by detector family in :mod:`benchmark.report.curves`; the ones here draw one panel
per fit or per condition, with the best fits in colour and the rest grey. Every fit is named as
the leaderboard's ``fit`` column names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.core import events
from benchmark.report.curves import (  # noqa: F401 - the figures' public names live here too
    expected_calibration_error,
    pareto,
    reliability_diagram,
    roc_det_curves,
    training_curves,
)
from benchmark.report.plotting import (  # noqa: F401 - DPI, NO_FIGURES_ENV, fit_labels: re-exported
    DPI,
    FIGURES_DIR,
    HIGHLIGHT_SINGLE,
    LABEL_FONT,
    NO_FIGURES_ENV,
    _by_detector,
    _grid,
    _labelled,
    _save,
    enabled,
    fit_labels,
    grid_legend,
    grid_title,
    highlight_legend,
    highlighted,
    plt,
    styles,
    with_fit,
    with_pretrained,
)

log = logging.getLogger(__name__)


def confusion_matrices(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Confusion matrix of each detector at its threshold tuned on validation."""
    from sklearn.metrics import ConfusionMatrixDisplay

    dets = _by_detector(scores)
    if not dets:
        return None
    fig, axes = _grid(len(dets), 2.6, 2.4, title_lines=2)
    for ax, (name, g) in zip(axes, dets, strict=True):
        thr = float(g["threshold"].iloc[0])
        pred = (g["score"] >= thr).astype(int)
        ConfusionMatrixDisplay.from_predictions(
            g["label"], pred, labels=[0, 1], display_labels=["real", "fake"], ax=ax,
            colorbar=False, cmap="Blues",
        )  # fmt: skip
        ax.set_title(f"{name}\nthreshold {thr:.3f}", fontsize=9)
    grid_title(fig, f"Confusion matrices at the tuned threshold {title}".strip())
    return _save(fig, path)


def score_densities(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Per-class histograms (densities) of each detector's fake score with its threshold."""
    dets = _by_detector(scores)
    if not dets:
        return None
    fig, axes = _grid(len(dets), 2.8, 2.2, legend_top=True)
    bins = np.linspace(0, 1, 26)
    for ax, (name, g) in zip(axes, dets, strict=True):
        for label, colour, text in ((0, "tab:blue", "real"), (1, "tab:red", "fake")):
            s = g.loc[g["label"] == label, "score"].clip(0, 1)
            ax.hist(
                s,
                bins=bins,
                density=True,
                alpha=0.55,
                color=colour,
                label=text,
                histtype="stepfilled",
            )  # one patch, not 25 bars: fast at 50 panels
        ax.axvline(float(g["threshold"].iloc[0]), c="k", ls="--", lw=1, label="threshold")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("fake score")
        ax.set_xticks([0, 0.5, 1])
        ax.set_yticks([])  # a density's height says little: its shape and overlap are the point
    handles, labels = axes[0].get_legend_handles_labels()
    grid_legend(fig, handles, labels)
    grid_title(fig, f"Score densities, clean test {title}".strip())
    return _save(fig, path)


def _auc(table: pd.DataFrame) -> pd.DataFrame:
    if table is None or table.empty or "metric" not in table:
        return pd.DataFrame()
    out = _labelled(table[table["metric"] == "roc_auc"].copy())
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out.dropna(subset=["value"])


def _clean_auc(auc: pd.DataFrame) -> dict[str, float]:
    """Each fit's clean ROC-AUC (from ``clean_value``): which fits a figure highlights."""
    clean = pd.to_numeric(auc["clean_value"], errors="coerce") if "clean_value" in auc else None
    if clean is None:
        return {str(d): float(g["value"].max()) for d, g in auc.groupby("detector")}
    return {str(d): float(v) for d, v in clean.groupby(auc["detector"]).max().items()}


def auc_vs_resolution(resol: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC against test resolution per fit, one panel per resize mode; the best
    :data:`HIGHLIGHT_SINGLE` fits by clean AUC in colour, the rest grey.

    ``resized``: degraded to the size, then scaled back to the detector's input; ``native``:
    fed at the degraded size (resolution-agnostic detectors only). Each line ends at the
    detector's clean AUC (a star at the right edge, "clean").
    """
    auc = _auc(resol)
    if auc.empty:
        return None
    clean = _clean_auc(auc)
    style = styles(sorted(clean), clean, HIGHLIGHT_SINGLE)
    modes = sorted(auc["mode"].astype(str).unique())
    fig, axes = plt.subplots(1, len(modes), figsize=(4.6 * len(modes) + 2.8, 4.2), squeeze=False,
                             sharey=True, layout="constrained")  # fmt: skip
    sizes = sorted(auc["resolution"].astype(int).unique())
    clean_x = sizes[-1] * 2  # where "clean" sits on the log axis
    for ax, mode in zip(axes[0], modes, strict=True):
        part = auc[auc["mode"].astype(str) == mode]
        for det in sorted(part["detector"].unique(), key=lambda d: style[d]["zorder"]):
            g = part[part["detector"] == det].sort_values("resolution")
            x, y = list(g["resolution"].astype(int)), list(g["value"])
            if g["clean_value"].notna().any():
                x, y = [*x, clean_x], [*y, float(g["clean_value"].dropna().iloc[0])]
            ax.plot(x, y, marker="o", ms=2.5, label=str(det), **style[det])
            ax.plot(x[-1:], y[-1:], marker="*", ms=6, ls="none", color=style[det]["color"])
        ax.set_xscale("log", base=2)
        ax.set_xticks([*sizes, clean_x], [*map(str, sizes), "clean"])
        ax.set_xlabel("test resolution (px)")
        ax.set_title(f"{mode}", fontsize=10)
    axes[0][0].set_ylabel("ROC-AUC")
    _highlight_legend(axes[0][-1], clean)
    fig.suptitle(f"ROC-AUC vs resolution {title}".strip())
    return _save(fig, path)


def _highlight_legend(ax: plt.Axes, clean: dict[str, float]) -> None:
    best = highlighted(clean, HIGHLIGHT_SINGLE)
    text = {n: f"{n} (clean {clean[n]:.3f})" for n in best}
    highlight_legend(ax, best, len(clean) - len(best), text, title="best by clean ROC-AUC")


def robustness_heatmap(robust: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """Fit × corruption ROC-AUC, averaged over severities; fits by clean AUC, best on top."""
    auc = _auc(robust)
    if auc.empty:
        return None
    grid = auc.pivot_table(index="detector", columns="corruption", values="value", aggfunc="mean")
    clean = _clean_auc(auc)
    grid = grid.loc[sorted(grid.index, key=lambda d: (-clean.get(d, -1.0), d))]
    cell = 0.42 if grid.shape[0] <= 20 else 0.3
    fig, ax = plt.subplots(
        figsize=(1.0 * grid.shape[1] + 3.5, cell * grid.shape[0] + 1.8), layout="constrained"
    )
    im = ax.imshow(grid.to_numpy(), cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=35, ha="right")
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    for (i, j), v in np.ndenumerate(grid.to_numpy()):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="ROC-AUC (mean over severities)")
    ax.set_title(f"Robustness {title}".strip())
    return _save(fig, path)


def auc_vs_severity(robust: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC against severity, one panel per corruption (severity 0 = clean); the best
    :data:`HIGHLIGHT_SINGLE` fits by clean AUC in colour, the rest grey."""
    auc = _auc(robust)
    if auc.empty:
        return None
    corrs = sorted(auc["corruption"].dropna().unique())
    clean = _clean_auc(auc)
    style = styles(sorted(clean), clean, HIGHLIGHT_SINGLE)
    fig, axes = _grid(len(corrs), 3.0, 2.4)
    for ax, corr in zip(axes, corrs, strict=True):
        part = auc[auc["corruption"] == corr]
        for det in sorted(part["detector"].unique(), key=lambda d: style[d]["zorder"]):
            g = part[part["detector"] == det].sort_values("severity")
            x = np.r_[0, g["severity"].astype(float)]
            ax.plot(x, np.r_[g["clean_value"].iloc[0], g["value"]], marker="o", ms=2,
                    label=str(det), **style[det])  # fmt: skip
        ax.set_title(corr, fontsize=9)
        ax.set_ylim(0.4, 1.0)
        ax.set_xlabel("severity")
    axes[0].set_ylabel("ROC-AUC")
    _highlight_legend(axes[min(len(axes), 4) - 1], clean)
    grid_title(fig, f"ROC-AUC vs severity {title}".strip())
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
    scores, robust, resol = (with_fit(f, board) for f in (scores, robust, resol))
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
