"""Tuned beside default: the leaderboard section comparing each tuned fit with its default fit."""

from __future__ import annotations

import json
from typing import Any

from benchmark.engine.tuning import DEFAULT_LABEL, search_space
from benchmark.plugins import create_detector
from benchmark.report.markdown import markdown_table


def side_by_side(board: Any, rows: Any) -> Any:
    """Default and tuned results of each detector × dataset, next to each other.

    Args:
        board: ``report.leaderboard`` output with a ``tuning`` column (rows of both kinds).
        rows: the tidy rows behind it (for the parameters of each fit).

    Returns:
        A DataFrame with one row per tuned detector × dataset × tuning: test ROC-AUC default
        and tuned and their difference, the same on validation, the parameters the search
        chose (its search-space entries), configurations tried and search seconds.
        Empty when nothing was tuned. Default columns are NaN when no default run is in
        ``board``.
    """
    import pandas as pd

    if board.empty or "tuning" not in board or "tuning" not in rows:
        return pd.DataFrame()
    labels = board["tuning"].fillna(DEFAULT_LABEL)
    tuned = board[labels != DEFAULT_LABEL]
    default = board[labels == DEFAULT_LABEL].set_index(["detector", "dataset"])
    fits = rows[rows["params"].fillna("") != ""].assign(tuning=rows["tuning"].fillna(DEFAULT_LABEL))
    params = fits.drop_duplicates(["detector", "dataset", "tuning"]).set_index(
        ["detector", "dataset", "tuning"]
    )["params"]
    out = []
    for _, r in tuned.iterrows():
        key = (r["detector"], r["dataset"])
        d = default.loc[key] if key in default.index else None
        mine = json.loads(params.get((*key, r["tuning"]), "{}") or "{}")
        searched = _searched_keys(r["detector"]) or list(mine)
        nan = float("nan")
        out.append(
            {
                "detector": r["detector"],
                "dataset": r["dataset"],
                "tuning": r["tuning"],
                "roc_auc_default": d["roc_auc"] if d is not None else nan,
                "roc_auc_tuned": r.get("roc_auc", nan),
                "roc_auc_gain": r.get("roc_auc", nan) - (d["roc_auc"] if d is not None else nan),
                "val_roc_auc_default": d["val_roc_auc"] if d is not None else nan,
                "val_roc_auc_tuned": r.get("val_roc_auc", nan),
                "chosen_params": json.dumps(
                    {k: mine[k] for k in searched if k in mine}, sort_keys=True
                ),
                "n_configs_tried": r.get("n_configs_tried", nan),
                "tuning_seconds": r.get("tuning_seconds", nan),
            }
        )
    table = pd.DataFrame(out)
    if table.empty:
        return table
    table["n_configs_tried"] = pd.to_numeric(table["n_configs_tried"]).round().astype("Int64")
    return table


def _searched_keys(name: str) -> list[str]:
    """Names in detector ``name``'s search space ([] when it cannot be built here)."""
    try:
        return list(search_space(create_detector(name)))
    except Exception:  # noqa: BLE001 - a plugin missing here only loses the column's filter
        return []


def markdown_section(board: Any, rows: Any) -> str:
    """``leaderboard.md``'s "Tuned on validation vs defaults" section ("" when nothing tuned)."""
    table = side_by_side(board, rows)
    if table.empty:
        return ""

    return "\n".join(
        [
            "\n## Tuned on validation vs defaults\n",
            "Each tuned detector tried up to N configurations of its search space "
            "(`run --tune N`), fitted on train and scored by ROC-AUC on validation; the "
            "winner's test split was scored once.\n",
            markdown_table(table),
        ]
    )
