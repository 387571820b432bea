"""The figures that compare every fit at once, drawn as small multiples by detector family.

ROC and DET curves (Ohayon 2025), the reliability diagram (Guo et al. 2017, On Calibration of
Modern Neural Networks, ICML), accuracy against cost with its Pareto front, and training curves
(Leonardi). Each family (:data:`benchmark.report.labels.FAMILIES`) gets its own row of panels;
in a panel the best few fits by clean test ROC-AUC are coloured and named in a legend beside
it, the others are grey, so the figure reads the same with 5 fits or 50. Legends and point
labels sit outside the plotting area; point labels are spread so that none overlaps another.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.plotting import (
    FAMILY_COLOURS,
    GREY,
    HIGHLIGHT,
    LABEL_FONT,
    _by_detector,
    _grid,
    _labelled,
    _save,
    by_family,
    detector_family,
    grid_legend,
    grid_title,
    highlight_legend,
    highlighted,
    legend_right,
    plt,
    spread,
    styles,
)

ROW_HEIGHT = 3.0  # inches per family row
LABEL_STEP = 0.15  # inches between two point labels in a column
LOSS_TOP = 2.0  # training curves' shared scale stops here (a diverging loss is cut)


def _family_rows(dets: list[tuple[str, pd.DataFrame]]) -> list[tuple[str, list[str]]]:
    return by_family({name: str(g["detector_family"].iloc[0]) for name, g in dets})


def roc_det_curves(scores: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC and DET curves on the clean test split: one row per detector family, its best
    :data:`HIGHLIGHT` fits in colour (legend with their AUC), the rest in grey."""
    from sklearn.metrics import DetCurveDisplay, RocCurveDisplay, roc_auc_score

    dets = _by_detector(scores)
    if not dets:
        return None
    data = dict(dets)
    aucs = {name: float(roc_auc_score(g["label"], g["score"])) for name, g in dets}
    rows = _family_rows(dets)
    fig, axes = plt.subplots(
        len(rows),
        2,
        figsize=(10.5, ROW_HEIGHT * len(rows) + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for (family, names), (roc_ax, det_ax) in zip(rows, axes, strict=True):
        style = styles(names, aucs, HIGHLIGHT)
        for name in sorted(names, key=lambda n: style[n]["zorder"]):  # grey first, under
            g, kw = data[name], {**style[name], "label": name}
            RocCurveDisplay.from_predictions(
                g["label"], g["score"], ax=roc_ax, name=name, curve_kwargs=kw
            )
            DetCurveDisplay.from_predictions(g["label"], g["score"], ax=det_ax, name=name, **kw)
        for ax in (roc_ax, det_ax):
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_xlabel(ax.get_xlabel().replace(" (Positive label: 1)", ""), fontsize=8)
            ax.set_ylabel(ax.get_ylabel().replace(" (Positive label: 1)", ""), fontsize=8)
        roc_ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=1)
        roc_ax.set_title(f"{family}: ROC ({len(names)} fit{'s' * (len(names) != 1)})", fontsize=9)
        det_ax.set_title(f"{family}: DET (normal deviate scale)", fontsize=9)
        best = highlighted({n: aucs[n] for n in names})
        highlight_legend(
            det_ax,
            best,
            len(names) - len(best),
            {n: f"{n} (AUC {aucs[n]:.3f})" for n in best},
            title=family,
        )
    fig.suptitle(f"ROC and DET, clean test {title}".strip())
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
    """Fraction of fakes vs mean score per bin, one panel per detector family (two a row): its
    best fits by AUC in colour with their ECE in the legend, the others grey."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_auc_score

    dets = _by_detector(scores)
    if not dets:
        return None
    data = dict(dets)
    aucs = {name: float(roc_auc_score(g["label"], g["score"])) for name, g in dets}
    rows = _family_rows(dets)
    ncols = min(2, len(rows))
    nrows = -(-len(rows) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(6.2 * ncols, ROW_HEIGHT * nrows + 0.5),
        squeeze=False,
        layout="constrained",
    )
    flat = list(axes.ravel())
    for ax in flat[len(rows) :]:
        ax.set_visible(False)
    for ax, (family, names) in zip(flat, rows, strict=False):
        style = styles(names, aucs, HIGHLIGHT)
        ax.plot([0, 1], [0, 1], ls=":", c="k", lw=0.8, label="perfectly calibrated")
        eces = {}
        for name in sorted(names, key=lambda n: style[n]["zorder"]):
            g = data[name]
            s = g["score"].clip(0, 1)
            frac, mean = calibration_curve(g["label"], s, n_bins=10, strategy="uniform")
            eces[name] = expected_calibration_error(g["label"], s)
            grey = style[name]["zorder"] == GREY["zorder"]
            ax.plot(mean, frac, marker="" if grey else "o", ms=3, label=name, **style[name])
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.set_xlabel("mean fake score in bin", fontsize=8)
        ax.set_ylabel("fraction of fakes", fontsize=8)
        ax.set_title(f"{family} ({len(names)} fit{'s' * (len(names) != 1)})", fontsize=9)
        best = highlighted({n: aucs[n] for n in names})
        highlight_legend(
            ax,
            [*best, "perfectly calibrated"],
            len(names) - len(best),
            {n: f"{n} (ECE {eces[n]:.3f})" for n in best},
        )
    fig.suptitle(f"Reliability, clean test {title}".strip())
    return _save(fig, path)


def pareto(board: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """ROC-AUC vs inference ms/image (log), one panel per family: its fits coloured (marker area
    ∝ parameters, 95% interval), every other fit grey, the Pareto front of all fits in black;
    each of the family's fits named in a column beside the panel, joined to its point."""
    need = {"roc_auc", "infer_ms_per_image"}
    if board is None or board.empty or not need <= set(board.columns):
        return None
    b = _labelled(board.dropna(subset=["roc_auc", "infer_ms_per_image"]))
    if b.empty:
        return None
    b = b.drop_duplicates("detector").set_index("detector")
    params = pd.to_numeric(b.get("n_parameters"), errors="coerce").fillna(0).to_numpy(float)
    b["size"] = 12 + 250 * np.sqrt(params / max(params.max(), 1.0))
    rows = by_family(dict(b["detector_family"].astype(str)))
    heights = [max(ROW_HEIGHT - 0.6, 1.15 * LABEL_STEP * len(names)) + 0.6 for _, names in rows]
    fig, axes = plt.subplots(
        len(rows),
        1,
        figsize=(8.5, sum(heights) + 0.5),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
        gridspec_kw={"height_ratios": heights},
    )
    front = b.sort_values(["infer_ms_per_image", "roc_auc"], ascending=[True, False])
    front = front[front["roc_auc"] > front["roc_auc"].cummax().shift(fill_value=-np.inf)]
    lows = b["roc_auc_lo"] if "roc_auc_lo" in b else b["roc_auc"]
    highs = b["roc_auc_hi"] if "roc_auc_hi" in b else b["roc_auc"]
    ylim = (
        float(np.nanmin([lows.min(), b["roc_auc"].min()])) - 0.02,
        float(np.nanmax([highs.max(), b["roc_auc"].max()])) + 0.02,
    )
    for ax, (family, names) in zip(axes[:, 0], rows, strict=True):
        mine, rest = b.loc[names], b.drop(index=names)
        ax.scatter(
            rest["infer_ms_per_image"],
            rest["roc_auc"],
            s=rest["size"],
            c=GREY["color"],
            alpha=0.5,
            lw=0,
            zorder=1,
        )
        if {"roc_auc_lo", "roc_auc_hi"} <= set(mine.columns):
            yerr = np.vstack(
                [mine["roc_auc"] - mine["roc_auc_lo"], mine["roc_auc_hi"] - mine["roc_auc"]]
            )
            ax.errorbar(
                mine["infer_ms_per_image"],
                mine["roc_auc"],
                yerr=np.nan_to_num(yerr),
                fmt="none",
                ecolor=FAMILY_COLOURS[family],
                alpha=0.5,
                lw=0.8,
                zorder=2,
            )
        ax.scatter(
            mine["infer_ms_per_image"],
            mine["roc_auc"],
            s=mine["size"],
            alpha=0.75,
            c=FAMILY_COLOURS[family],
            edgecolors="k",
            linewidths=0.4,
            zorder=3,
        )
        fx = [*front["infer_ms_per_image"], b["infer_ms_per_image"].max()]  # to the right edge
        ax.step(
            fx,
            [*front["roc_auc"], front["roc_auc"].iloc[-1]],
            where="post",
            c="k",
            lw=0.8,
            zorder=2,
        )
        ax.set_xscale("log")
        ax.set_ylim(*ylim)
        ax.set_ylabel("ROC-AUC", fontsize=8)
        ax.set_title(
            f"{family} ({len(names)} fit{'s' * (len(names) != 1)}); grey: the others,"
            " black: Pareto front of all",
            fontsize=9,
        )
    for ax, (_, names), h in zip(axes[:, 0], rows, heights, strict=True):
        _callouts(ax, b.loc[names], h - 0.6, ylim)
    axes[-1, 0].set_xlabel("inference ms / image (largest timed batch)", fontsize=8)
    fig.suptitle(f"Accuracy vs cost {title} (marker area ∝ parameters; bars: 95% interval)".strip())
    return _save(fig, path)


def _callouts(
    ax: plt.Axes, points: pd.DataFrame, axes_height: float, ylim: tuple[float, float]
) -> None:
    """Name each point in a column to the right of ``ax``, in the order of their ROC-AUC, at
    least :data:`LABEL_STEP` inches apart, each joined to its point by a thin line."""
    desired = (points["roc_auc"].to_numpy(float) - ylim[0]) / max(ylim[1] - ylim[0], 1e-9)
    at = spread(desired, LABEL_STEP / max(axes_height, 0.5) * 1.1)
    for (name, r), y in zip(points.iterrows(), at, strict=True):
        ax.annotate(
            str(name),
            (r["infer_ms_per_image"], r["roc_auc"]),
            xytext=(1.02, y),
            textcoords="axes fraction",
            fontsize=LABEL_FONT,
            va="center",
            annotation_clip=False,
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.55", "shrinkA": 0, "shrinkB": 2},
        )


def training_curves(histories: dict[str, pd.DataFrame], path: Path, title: str = "") -> Path | None:
    """One panel per fitted deep detector, ordered by family and then best validation AUC:
    training and validation loss (cross-entropy) and validation ROC-AUC per epoch, on one shared
    scale (both live near 0–1; a loss beyond :data:`LOSS_TOP` is cut at the top)."""
    histories = {k: v for k, v in histories.items() if v is not None and len(v) and "epoch" in v}
    if not histories:
        return None
    fams = {k: detector_family(k.split("@")[0]) for k in histories}
    best = {
        k: float(pd.to_numeric(h["val_auc"], errors="coerce").max()) if "val_auc" in h else np.nan
        for k, h in histories.items()
    }
    order = [
        n
        for _, names in by_family(fams)
        for n in highlighted({k: best[k] for k in names}, len(names))
    ]
    fig, flat = _grid(len(order), 2.6, 1.9, title_lines=2, legend_top=True, share=True)
    cols = min(len(order), 4 if len(order) <= 16 else 6)
    series = (
        ("train_loss", "training loss", "tab:blue", "-", "o"),
        ("val_loss", "validation loss", "tab:orange", "--", "o"),
        ("val_auc", "validation ROC-AUC", "tab:green", "-", "s"),
    )
    top = 1.02
    handles: dict[str, object] = {}
    for i, (ax, name) in enumerate(zip(flat, order, strict=True)):
        h = histories[name]
        for col, text, colour, ls, marker in series:
            if col in h:
                y = pd.to_numeric(h[col], errors="coerce")
                top = max(top, min(float(np.nanmax(y, initial=0.0)) * 1.05, LOSS_TOP))
                (handles[text],) = ax.plot(h["epoch"], y, c=colour, ls=ls, marker=marker, ms=2,
                                           lw=1)  # fmt: skip
        ax.tick_params(labelsize=7)
        auc = f", best val AUC {best[name]:.3f}" if np.isfinite(best[name]) else ""
        ax.set_title(f"{name}\n{fams[name]}{auc}", fontsize=8)
        if i % cols == 0:
            ax.set_ylabel("loss / ROC-AUC", fontsize=8)
    flat[0].set_ylim(0, top)  # shared by every panel
    for ax in flat[max(len(order) - cols, 0) :]:
        ax.set_xlabel("epoch", fontsize=8)
    grid_legend(fig, list(handles.values()), list(handles))
    grid_title(fig, f"Training curves {title}".strip())
    return _save(fig, path)


__all__ = [
    "expected_calibration_error",
    "legend_right",
    "pareto",
    "reliability_diagram",
    "roc_det_curves",
    "training_curves",
]
