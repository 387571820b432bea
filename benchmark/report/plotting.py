"""What every figure shares: the Agg backend, saving, fit labels, panel grids, styles, legends.

The figures themselves are in :mod:`benchmark.report.figures` (tables) and
:mod:`benchmark.explain` (images and fitted detectors); both draw through the helpers here, so
a detector keeps its colour and line style across every figure of a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

FIGURES_DIR = "figures"
DPI = 110
NO_FIGURES_ENV = "FAKEBENCH_NO_FIGURES"  # "1": tables only (the test suite sets it: ~2 s a set)


def enabled() -> bool:
    """Whether table writers also draw figures (off when ``FAKEBENCH_NO_FIGURES=1``)."""
    return os.environ.get(NO_FIGURES_ENV, "") != "1"


def _save(fig: plt.Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)  # atomic: a reader never sees half a PNG
    return path


def fit_labels(frame: pd.DataFrame) -> pd.Series:
    """One name per fit: the detector, ``@val8`` for a fit tuned with ``--tune 8`` (the name
    ``predict -d`` takes), ``+cnndetection`` for a training augmentation, `` [random init]``
    for a pretrained architecture run without its weights (``--allow-random-init``: an
    ablation, never the method); plain for defaults.

    A folder can hold a detector's default and tuned fits side by side: without this their
    curves would be drawn as one.
    """
    label = frame["detector"].astype(str)
    if "tuning" in frame:
        tuning = frame["tuning"].astype(object).where(frame["tuning"].notna(), "default")
        tuned = ~tuning.astype(str).isin(["default", ""])
        label = label.where(~tuned, label + "@" + tuning.astype(str).str.replace(":", ""))
    if "train_aug" in frame:
        aug = frame["train_aug"].astype(object).where(frame["train_aug"].notna(), "none")
        augmented = ~aug.astype(str).isin(["none", ""])
        label = label.where(~augmented, label + "+" + aug.astype(str))
    if "pretrained" in frame:
        label = label.where(~is_random_init(frame["pretrained"]), label + " [random init]")
    return label


def is_random_init(pretrained: pd.Series) -> pd.Series:
    """Which values of a ``pretrained`` column (``fits.csv``'s or the leaderboard's) say that a
    pretrained architecture ran from random initialisation."""
    text = pretrained.astype(str).str.lower()
    return text.isin(["false", "no"]) | text.str.startswith("no (random")


def with_pretrained(frame: pd.DataFrame | None, board: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` with the leaderboard's ``pretrained`` column joined on the fit's key, so its
    figure labels mark random-init fits (:func:`fit_labels`)."""
    if frame is None or frame.empty or "pretrained" in frame or "pretrained" not in board:
        return frame
    keys = [k for k in ("detector", "tuning", "train_aug") if k in board and k in frame]
    if not keys:
        return frame
    marks = board[[*keys, "pretrained"]].drop_duplicates(keys)
    return frame.merge(marks, on=keys, how="left")


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``detector`` replaced by :func:`fit_labels` (a copy)."""
    if frame is None or frame.empty or "detector" not in frame:
        return frame
    return frame.assign(detector=fit_labels(frame))


def _by_detector(scores: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Fits (:func:`fit_labels`) with both classes in their scores, in name order."""
    if scores is None or scores.empty:
        return []
    out = []
    for det, g in _labelled(scores).groupby("detector", sort=True):
        g = g.drop_duplicates("sample_id", keep="last") if "sample_id" in g else g
        if g["label"].nunique() == 2:
            out.append((str(det), g))
    return out


def _grid(n: int, width: float = 3.2, height: float = 2.8) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


_COLOURS = plt.get_cmap("tab10").colors
_LINESTYLES = ("-", "--", ":", "-.")


def detector_style(name: str, names: list[str]) -> dict[str, object]:
    """Colour and line style of ``name`` among ``names``: unique for up to 40 detectors.

    The same detector keeps its style across every figure of a folder (``names`` sorted), so
    the ten colours of ``tab10`` are paired with four line styles instead of repeating.
    """
    i = sorted(set(names)).index(name)
    return {"color": _COLOURS[i % 10], "ls": _LINESTYLES[(i // 10) % len(_LINESTYLES)]}


def _outside_legend(fig: plt.Figure, ax: plt.Axes, order: list[str] | None = None) -> None:
    """One legend for the figure, outside the plotting area on the right (never over a curve).

    ``order``: labels in the order to list them (e.g. best AUC first); others follow.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    pairs = dict(zip(labels, handles, strict=True))
    keys = [k for k in (order or []) if k in pairs] + [k for k in labels if k not in (order or [])]
    fig.legend([pairs[k] for k in keys], keys, loc="outside right upper", fontsize=7,
               ncol=1 if len(keys) <= 28 else 2)  # fmt: skip
