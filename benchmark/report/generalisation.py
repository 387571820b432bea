"""The cross-dataset generalisation matrix: training sets as rows, test sets as columns.

Read from the long table of ``engine.cross`` (``COLUMNS``). A table written before cells had a
``subset`` reads as the whole test split (``all``); where the test sets are videos, a second
matrix gives the video-level AUC (``video_roc_auc``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.core.video_level import VIDEO_AGGREGATIONS, video_metric
from benchmark.report.markdown import markdown_table

if TYPE_CHECKING:
    import pandas as pd


def whole(frame: pd.DataFrame) -> pd.DataFrame:
    """The cells over a whole test split (``subset`` ``all``, or none in an older table)."""
    if "subset" not in frame:
        return frame
    return frame[frame["subset"].fillna("all").isin(["all", ""])]


def matrix(frame: pd.DataFrame, metric: str = "roc_auc", subset: str = "all") -> pd.DataFrame:
    """Pivot: one row per (detector, train_on), one column per test set, ``metric`` values
    over the whole test split (``subset="all"``) or all reals vs one family's fakes."""
    import pandas as pd

    if subset == "all":
        part = whole(frame)
    else:
        part = frame[frame["subset"] == subset] if "subset" in frame else frame.iloc[:0]
    got = part[part["metric"] == metric]
    if got.empty:
        return pd.DataFrame(columns=["detector", "train_on"])
    order = list(dict.fromkeys(frame["test_on"]))
    table = got.pivot_table(
        index=["detector", "train_on"], columns="test_on", values="value", aggfunc="first"
    )
    return table.reindex(columns=[c for c in order if c in table.columns]).reset_index()


def generalisation_markdown(frame: pd.DataFrame) -> str:
    """``generalisation.md``: the test ROC-AUC matrix (and its video-level twin where the test
    sets are videos), then the failed cells."""
    auc = matrix(frame, "roc_auc")
    errors = frame[frame["metric"] == "error"]
    lines = [
        "# Cross-dataset generalisation",
        "",
        "Test ROC-AUC: detectors fitted on the row's training set (its train split, threshold "
        "and early stopping on its val split), scored on the test split of each column's "
        "dataset. The column equal to the row's training set is the in-domain reference.",
        "",
        markdown_table(auc),
    ]
    for agg in VIDEO_AGGREGATIONS:
        videos = matrix(frame, video_metric("roc_auc", agg))
        if len(videos):
            rule = "the mean of its frames' scores (DeepfakeBench's rule)" if agg == "mean" else (
                f"the {agg} of its frames' scores")  # fmt: skip
            lines += [
                f"## Video-level ROC-AUC ({agg})",
                "",
                f"Each video scored by {rule}; columns whose test images are not frames of "
                "videos are absent.",
                "",
                markdown_table(videos),
            ]
    if not errors.empty:
        cols = ["detector", "train_on", "test_on", "error"]
        lines += ["## Failed cells", "", markdown_table(errors[cols])]
    return "\n".join(lines)
