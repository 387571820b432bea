"""Is a drawn figure legible? Legends off every plotting area, texts apart, labels outside plots.

``problems(fig)`` draws ``fig`` with the Agg renderer and measures every artist's window
extent (matplotlib's ``get_window_extent``): a legend that overlaps any axes' plotting area, a
text (title, axis label, tick label, annotation, figure title) that overlaps another text, and
a text that overlaps a plotting area it does not belong to (or straddles its own edge) are
each one problem, described in words.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

TOLERANCE = 1.0  # pixels two boxes may share (anti-aliased edges touch)


def _shrunk(box: Bbox) -> Bbox:
    return Bbox.from_extents(
        box.x0 + TOLERANCE, box.y0 + TOLERANCE, box.x1 - TOLERANCE, box.y1 - TOLERANCE
    )


def _overlap(a: Bbox, b: Bbox) -> bool:
    a, b = _shrunk(a), _shrunk(b)
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _inside(inner: Bbox, outer: Bbox) -> bool:
    return (
        inner.x0 >= outer.x0 - TOLERANCE
        and inner.x1 <= outer.x1 + TOLERANCE
        and inner.y0 >= outer.y0 - TOLERANCE
        and inner.y1 <= outer.y1 + TOLERANCE
    )


def _text_box(text: Text, renderer) -> Bbox:
    # an annotation's own extent includes its arrow; the words are what must not collide
    return (
        Text.get_window_extent(text, renderer)
        if isinstance(text, Annotation)
        else (text.get_window_extent(renderer))
    )


def _shown(text: Text) -> bool:
    return text.get_visible() and bool(text.get_text().strip())


def problems(fig: Figure, dpi: float = 110) -> list[str]:
    """Every legibility problem of ``fig`` (empty: legible)."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    areas: dict[int, Bbox] = {}  # twins share one plotting area: one key per area
    area_of = {}
    for ax in axes:
        box = ax.get_window_extent(renderer)
        key = next((k for k, b in areas.items() if b.bounds == box.bounds), len(areas))
        areas[key] = box
        area_of[ax] = key
    out = []
    legends = [*fig.legends, *(ax.get_legend() for ax in axes if ax.get_legend() is not None)]
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for key, area in areas.items():
            if _overlap(box, area):
                out.append(
                    f"legend {[t.get_text() for t in leg.get_texts()][:2]}… covers axes {key}"
                )
    texts: list[tuple[str, Text, int | None, bool]] = []  # (what, text, own area, in-plot ok)
    texts += [("figure text", t, None, False) for t in fig.texts if _shown(t)]
    for ax in axes:
        own = area_of[ax]
        parts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += [("title/label", t, own, False) for t in parts if _shown(t)]
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.get_visible():  # a twin's shared axis: drawn by its parent
                continue
            for tick in axis._update_ticks():  # the ticks drawn: inside the view limits
                for label in (tick.label1, tick.label2):
                    if _shown(label):
                        texts.append(("tick label", label, own, False))
        texts += [("text", t, own, True) for t in ax.texts if _shown(t)]
    boxes = [_text_box(t, renderer) for _, t, _, _ in texts]
    for (what, text, own, in_plot_ok), box in zip(texts, boxes, strict=True):
        for key, area in areas.items():
            if not _overlap(box, area):
                continue
            if key == own and in_plot_ok and _inside(box, area):
                continue  # a value written in its own cell (heatmap, confusion matrix)
            out.append(f"{what} {text.get_text()!r} overlaps the plotting area of axes {key}")
    if boxes:  # every pair of texts at once (fifty panels hold thousands of texts)
        b = np.array([[x.x0, x.y0, x.x1, x.y1] for x in boxes]) + [
            TOLERANCE,
            TOLERANCE,
            -TOLERANCE,
            -TOLERANCE,
        ]
        hit = (
            (b[:, None, 0] < b[None, :, 2])
            & (b[None, :, 0] < b[:, None, 2])
            & (b[:, None, 1] < b[None, :, 3])
            & (b[None, :, 1] < b[:, None, 3])
        )
        for i, j in zip(*np.nonzero(np.triu(hit, 1)), strict=True):
            out.append(
                f"{texts[i][0]} {texts[i][1].get_text()!r} overlaps "
                f"{texts[j][0]} {texts[j][1].get_text()!r}"
            )
    return out
