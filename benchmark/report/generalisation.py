"""The cross-dataset generalisation matrix: training sets as rows, test sets as columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.report.markdown import markdown_table

if TYPE_CHECKING:
    import pandas as pd


def matrix(frame: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """Pivot: one row per (detector, train_on), one column per test set, ``metric`` values."""
    import pandas as pd

    got = frame[frame["metric"] == metric]
    if got.empty:
        return pd.DataFrame(columns=["detector", "train_on"])
    order = list(dict.fromkeys(frame["test_on"]))
    table = got.pivot_table(
        index=["detector", "train_on"], columns="test_on", values="value", aggfunc="first"
    )
    return table.reindex(columns=[c for c in order if c in table.columns]).reset_index()


def generalisation_markdown(frame: pd.DataFrame) -> str:
    """``generalisation.md``: the test ROC-AUC matrix, then the failed cells."""
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
    if not errors.empty:
        cols = ["detector", "train_on", "test_on", "error"]
        lines += ["## Failed cells", "", markdown_table(errors[cols])]
    return "\n".join(lines)
