"""What every figure shares: the Agg backend, saving, fit names, families, highlights, legends.

The figures themselves are in :mod:`benchmark.report.figures`, :mod:`benchmark.report.curves`
(tables) and :mod:`benchmark.explain` (images and fitted detectors); all draw through the
helpers here. Figures stay legible at 50 fits by three rules: small multiples by detector
family (:func:`by_family`), the best few of a panel in colour and the rest in grey
(:func:`highlighted`), and legends and labels outside the plotting area (:func:`legend_right`,
:func:`spread`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from benchmark.report.labels import FAMILIES, detector_family, fit_labels  # noqa: E402, F401

FIGURES_DIR = "figures"
DPI = 110
NO_FIGURES_ENV = "FAKEBENCH_NO_FIGURES"  # "1": tables only (the test suite sets it: ~2 s a set)
HIGHLIGHT = 3  # fits drawn in colour per family panel; the others are grey
HIGHLIGHT_SINGLE = 6  # ... per panel of a figure that is not split by family
GREY = {"color": "0.72", "lw": 0.7, "ls": "-", "alpha": 0.8, "zorder": 1}
LABEL_FONT = 7  # legend entries and point labels (points)
_COLOURS = plt.get_cmap("tab10").colors
FAMILY_COLOURS = dict(
    zip(
        FAMILIES,
        ("tab:blue", "tab:purple", "tab:orange", "tab:green", "tab:red", "tab:gray", "tab:olive"),
        strict=True,
    )
)


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


def is_random_init(pretrained: pd.Series) -> pd.Series:
    """Which values of a ``pretrained`` column say a pretrained architecture ran from random
    initialisation (:func:`benchmark.report.labels.is_random_init`, per value)."""
    from benchmark.report.labels import is_random_init as one

    return pretrained.map(one).astype(bool)


def _norm_keys(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for k in keys:
        col = out[k].astype(object)
        empty = "default" if k == "tuning" else "none"
        out[k] = col.where(col.notna() & (col.astype(str) != ""), empty).astype(str)
    return out


def with_fit(frame: pd.DataFrame | None, board: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` with the leaderboard's ``fit``, ``detector_family`` and ``pretrained`` joined on
    the fit's key (detector, tuning, train_aug), so every figure names a fit as the table does."""
    if frame is None or frame.empty or board is None or board.empty:
        return frame
    keys = [k for k in ("detector", "tuning", "train_aug") if k in board and k in frame]
    cols = [c for c in ("fit", "detector_family", "pretrained") if c in board and c not in frame]
    if "detector" not in keys or not cols:
        return frame
    marks = _norm_keys(board[[*keys, *cols]], keys).drop_duplicates(keys)
    joined = _norm_keys(frame, keys).merge(marks, on=keys, how="left")
    joined.index = frame.index
    return joined


with_pretrained = with_fit  # the name an older caller knows


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a copy) with ``detector`` replaced by the fit's name (the leaderboard's ``fit``
    where joined, else :func:`fit_labels`) and a ``detector_family`` column."""
    if frame is None or frame.empty or "detector" not in frame:
        return frame
    out = frame.copy()
    if "detector_family" not in out or out["detector_family"].isna().any():
        fam = [
            detector_family(d, p)
            for d, p in zip(
                out["detector"],
                out["pretrained"] if "pretrained" in out else [None] * len(out),
                strict=True,
            )
        ]
        given = out["detector_family"] if "detector_family" in out else pd.Series(index=out.index)
        out["detector_family"] = given.where(given.notna(), pd.Series(fam, index=out.index))
    label = fit_labels(out)
    if "fit" in out:
        label = out["fit"].where(out["fit"].notna() & (out["fit"].astype(str) != ""), label)
    return out.assign(detector=label.astype(str))


def _by_detector(scores: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Fits (their names) with both classes in their scores, in name order."""
    if scores is None or scores.empty:
        return []
    out = []
    for det, g in _labelled(scores).groupby("detector", sort=True):
        g = g.drop_duplicates("sample_id", keep="last") if "sample_id" in g else g
        if g["label"].nunique() == 2:
            out.append((str(det), g))
    return out


def by_family(families: dict[str, str]) -> list[tuple[str, list[str]]]:
    """``{fit: family}`` → ``[(family, fits)]`` in :data:`FAMILIES` order, empty ones left out."""
    order = {f: i for i, f in enumerate(FAMILIES)}
    groups: dict[str, list[str]] = {}
    for fit, fam in families.items():
        groups.setdefault(str(fam) if fam in order else "other", []).append(fit)
    return [(f, groups[f]) for f in sorted(groups, key=order.__getitem__)]


def highlighted(values: dict[str, float], k: int = HIGHLIGHT) -> list[str]:
    """The ``k`` fits with the highest value (NaN last; ties by name), best first."""

    def key(name: str) -> tuple[float, str]:
        v = values.get(name, np.nan)
        return (-v if np.isfinite(v) else np.inf, name)

    return sorted(values, key=key)[:k]


def styles(names: Sequence[str], values: dict[str, float], k: int) -> dict[str, dict]:
    """Line style of each fit: the best ``k`` by ``values`` in the colours of ``tab10`` (best
    first, thicker, on top), the others in :data:`GREY`."""
    best = highlighted({n: values.get(n, np.nan) for n in names}, k)
    out = {n: dict(GREY) for n in names}
    for i, n in enumerate(best):
        out[n] = {"color": _COLOURS[i % 10], "lw": 1.5, "ls": "-", "alpha": 1.0, "zorder": 3}
    return out


def detector_style(name: str, names: list[str]) -> dict[str, object]:
    """Colour and line style of ``name`` among ``names``: unique for up to 40 fits."""
    i = sorted(set(names)).index(name)
    return {"color": _COLOURS[i % 10], "ls": ("-", "--", ":", "-.")[(i // 10) % 4]}


def grey_proxy(n: int) -> tuple[Line2D, str]:
    """A legend entry standing for the ``n`` fits drawn in grey."""
    return Line2D([], [], **GREY), f"{n} more fit{'s' if n != 1 else ''} (grey)"


def legend_right(ax: plt.Axes, handles: list, labels: list[str], title: str | None = None) -> None:
    """A legend to the right of ``ax``, outside its plotting area (the layout makes room)."""
    if handles:
        ax.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(1.02, 0.5),
            fontsize=LABEL_FONT,
            title=title,
            title_fontsize=LABEL_FONT + 1,
            frameon=False,
            borderaxespad=0.0,
        )


def highlight_legend(
    ax: plt.Axes,
    shown: Iterable[str],
    n_grey: int,
    text: dict[str, str] | None = None,
    title: str | None = None,
) -> None:
    """:func:`legend_right` with the coloured fits (in ``shown`` order, labelled by ``text``)
    and one entry for the grey rest."""
    lines = {line.get_label(): line for line in ax.get_lines()}
    handles, labels = [], []
    for name in shown:
        if name in lines:
            handles.append(lines[name])
            labels.append((text or {}).get(name, name))
    if n_grey:
        h, lab = grey_proxy(n_grey)
        handles.append(h)
        labels.append(lab)
    legend_right(ax, handles, labels, title)


def _grid(
    n: int,
    width: float = 3.2,
    height: float = 2.8,
    *,
    title_lines: int = 1,
    legend_top: bool = False,
    share: bool = False,
) -> tuple[plt.Figure, list[plt.Axes]]:
    """``n`` panels of ``width`` × ``height`` inches, 4 a row (6 past 16 panels), with margins
    set in inches for a figure title, panel titles of ``title_lines`` lines, tick labels and
    axis labels, and with ``legend_top`` a row for a figure legend above the panels.

    Fixed margins, not constrained layout: measuring fifty panels' decorations twice per save
    is what made a large grid slow, and these margins are the same for every panel.
    ``share``: panels share both axes; inner tick labels are hidden.
    """
    cols = min(n, 4 if n <= 16 else 6)
    rows = -(-n // cols)
    left, right, bottom = 0.75, 0.55, 0.55
    top = 0.45 + 0.17 * title_lines + (0.3 if legend_top else 0.0)
    gap_w = 0.3 if share else 0.75
    gap_h = 0.6 + 0.17 * title_lines
    fig_w = left + right + cols * width + (cols - 1) * gap_w
    fig_h = top + bottom + rows * height + (rows - 1) * gap_h
    fig = plt.figure(figsize=(fig_w, fig_h))
    axes = fig.subplots(
        rows,
        cols,
        squeeze=False,
        sharex=share,
        sharey=share,
        gridspec_kw={
            "left": left / fig_w,
            "right": 1 - right / fig_w,
            "bottom": bottom / fig_h,
            "top": 1 - top / fig_h,
            "wspace": gap_w / width,
            "hspace": gap_h / height,
        },
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    if share:  # the panel above an empty slot shows the x tick labels the bottom row would
        for ax in flat[max(n - cols, 0) : n]:
            ax.xaxis.set_tick_params(labelbottom=True)
    fig._fakebench_margins = (fig_h, top)  # where grid_title and grid_legend go
    return fig, flat[:n]


def grid_title(fig: plt.Figure, text: str) -> None:
    """The figure title of a :func:`_grid` figure, in its top margin."""
    fig_h, _ = getattr(fig, "_fakebench_margins", (fig.get_figheight(), 0.45))
    fig.suptitle(text, y=1 - 0.12 / fig_h, va="top")


def grid_legend(fig: plt.Figure, handles: list, labels: list[str]) -> None:
    """One legend for a :func:`_grid` figure made with ``legend_top``: in a row above the
    panels, under the title, never over a panel."""
    fig_h, _ = getattr(fig, "_fakebench_margins", (fig.get_figheight(), 0.75))
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.42 / fig_h),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )


def _outside_legend(fig: plt.Figure, ax: plt.Axes, order: list[str] | None = None) -> None:
    """One legend for the figure, outside the plotting area on the right (never over a curve).

    ``order``: labels in the order to list them (e.g. best AUC first); others follow.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    pairs = dict(zip(labels, handles, strict=True))
    keys = [k for k in (order or []) if k in pairs] + [k for k in labels if k not in (order or [])]
    fig.legend(
        [pairs[k] for k in keys],
        keys,
        loc="outside right upper",
        fontsize=LABEL_FONT,
        ncol=1 if len(keys) <= 28 else 2,
    )


def spread(desired: Sequence[float], gap: float, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Positions as close as possible to ``desired`` (in any order) that are at least ``gap``
    apart and inside ``[lo, hi]`` (evenly spaced when they cannot fit): where labels go in a
    column beside a plot, so that none overlaps another."""
    d = np.asarray(desired, dtype=float)
    n = len(d)
    if n == 0:
        return d
    order = np.argsort(d, kind="stable")
    gap = min(gap, (hi - lo) / max(n - 1, 1))
    y = np.clip(d[order], lo, hi)
    for i in range(1, n):  # push up
        y[i] = max(y[i], y[i - 1] + gap)
    over = y[-1] - hi
    if over > 0:  # then slide the stack down, keeping the gaps
        y[-1] = hi
        for i in range(n - 2, -1, -1):
            y[i] = min(y[i], y[i + 1] - gap)
    y = np.maximum(y, lo + gap * np.arange(n))  # never below lo, still apart
    out = np.empty(n)
    out[order] = y
    return out
