"""The held-out manipulation table: AUC on a family never seen in training beside the
in-distribution AUC on the same test images.

Built from the cross-dataset long table (``engine.cross.COLUMNS``) of a leave-one-out run: the
full fit (``train_on`` = the dataset) and one fit per family without it
(``engine.leave_one_out.without_family``), each scored on the dataset's whole test split with
per-family ``subset`` rows (all test reals vs that family's test fakes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.core.video_level import VIDEO_AGGREGATIONS, video_metric
from benchmark.report.markdown import markdown_table

#: ``leave_one_out.csv``'s columns (video-level ones are NaN where the test images are not
#: frames of videos).
COLUMNS = [
    "dataset", "held_out", "detector", "roc_auc_unseen", "roc_auc_in_distribution", "auc_drop",
    "roc_auc_seen", "n", "video_roc_auc_unseen", "video_roc_auc_in_distribution", "n_videos",
    "error",
]  # fmt: skip
SECTION = "## Held-out manipulations (leave one family out)"
VIDEO_COLUMNS = ("video_roc_auc_unseen", "video_roc_auc_in_distribution", "n_videos")


def _cell(frame: pd.DataFrame, train: str, subset: str, metric: str) -> tuple[float, float]:
    """(value, n) of one cell of the cross table (the fit on ``train`` scored on its own test
    split); NaN when absent."""
    got = frame[(frame["train_on"] == train) & (frame["test_on"] == train)
                & (frame["subset"] == subset) & (frame["metric"] == metric)]  # fmt: skip
    if got.empty:
        return np.nan, np.nan
    return float(got["value"].iloc[-1]), float(got["n"].iloc[-1])


def leave_one_out_table(
    frame: pd.DataFrame, dataset: str, held_out: dict[str, str]
) -> pd.DataFrame:
    """One row per (held-out family, detector).

    Args:
        frame: the cross-dataset rows of the full fit and of the fits without each family.
        dataset: the name of the full dataset (``train_on`` of the full fit).
        held_out: ``{family: name of the dataset without it}``.

    Returns:
        ``COLUMNS``: ``roc_auc_unseen`` (fit without the family, its test fakes vs all test
        reals), ``roc_auc_in_distribution`` (the full fit on the same images), ``auc_drop``
        (their difference), ``roc_auc_seen`` (the fit without the family, mean AUC over the
        other families), ``n`` test images, the video-level pair where the test images are
        frames of videos, and the fits' errors.
    """
    frame = frame.assign(subset=frame["subset"].fillna("all")) if "subset" in frame else (
        frame.assign(subset="all"))  # fmt: skip
    video = next(
        (video_metric("roc_auc", a) for a in VIDEO_AGGREGATIONS
         if (frame["metric"] == video_metric("roc_auc", a)).any()),
        None,
    )  # fmt: skip
    rows = []
    for fam, variant in held_out.items():
        for det in dict.fromkeys(frame["detector"]):
            mine = frame[frame["detector"] == det]
            unseen, n = _cell(mine, variant, fam, "roc_auc")
            in_dist, _ = _cell(mine, dataset, fam, "roc_auc")
            others = [_cell(mine, variant, f, "roc_auc")[0] for f in held_out if f != fam]
            v_unseen, n_videos = _cell(mine, variant, fam, video) if video else (np.nan, np.nan)
            v_in = _cell(mine, dataset, fam, video)[0] if video else np.nan
            errors = mine[(mine["metric"] == "error") & mine["train_on"].isin([variant, dataset])]
            rows.append({
                "dataset": dataset, "held_out": fam, "detector": det, "roc_auc_unseen": unseen,
                "roc_auc_in_distribution": in_dist, "auc_drop": in_dist - unseen,
                "roc_auc_seen": np.nan if np.isnan(others).all() else float(np.nanmean(others)),
                "n": n, "video_roc_auc_unseen": v_unseen, "video_roc_auc_in_distribution": v_in,
                "n_videos": n_videos,
                "error": "; ".join(dict.fromkeys(errors["error"].dropna().astype(str))),
            })  # fmt: skip
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("n", "n_videos"):
        out[col] = out[col].round().astype("Int64")
    return out


def markdown_section(table: pd.DataFrame | None) -> str:
    """``leaderboard.md``'s held-out section (also ``leave_one_out.md``); "" without a table."""
    if table is None or table.empty:
        return ""
    t = table.copy()
    t["cell"] = [
        "–" if pd.isna(u) else f"{u:.3f} ({i:.3f})" if pd.notna(i) else f"{u:.3f}"
        for u, i in zip(t["roc_auc_unseen"], t["roc_auc_in_distribution"], strict=True)
    ]
    grid = t.pivot_table(index="held_out", columns="detector", values="cell", aggfunc="first")
    grid = grid.reindex(columns=list(dict.fromkeys(t["detector"]))).reset_index()
    long_cols = [c for c in ("held_out", "detector", "roc_auc_unseen", "roc_auc_in_distribution",
                             "auc_drop", "roc_auc_seen", "n", "video_roc_auc_unseen",
                             "video_roc_auc_in_distribution", "n_videos", "error")
                 if c in t and (c not in VIDEO_COLUMNS or t[c].notna().any())]  # fmt: skip
    return "\n".join([
        f"\n{SECTION}\n",
        "Each detector fitted again without one manipulation family's fakes (removed from train "
        "and val; `python -m benchmark run --leave-one-out`), then scored on that family's test "
        "fakes against all test reals: the AUC on an *unseen* manipulation. In brackets, the "
        "in-distribution AUC on the same test images (the fit with every family). "
        "`roc_auc_seen`: the fit without the family, mean AUC over the other families.\n",
        markdown_table(grid),
        markdown_table(t[long_cols]),
    ])  # fmt: skip


def replace_section(text: str, section: str) -> str:
    """``text`` (a ``leaderboard.md``) with its held-out section replaced by ``section`` (or
    ``section`` appended when it has none)."""
    start = text.find(SECTION)
    if start < 0:
        return text.rstrip("\n") + "\n" + section if section else text
    end = text.find("\n## ", start + len(SECTION))
    rest = text[end:] if end >= 0 else ""
    return text[:start].rstrip("\n") + "\n" + section.lstrip("\n") + rest
