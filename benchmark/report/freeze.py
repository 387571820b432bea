"""The freeze-policy table: each pretrained backbone × freeze policy, and random init beside it.

Answers the two questions every source report asks of a fine-tuned backbone — does training
more of it beat frozen features, and does a bigger pretrained backbone help — from the rows
of the fits themselves: a fit belongs to the table when its parameters (``fits.csv``'s
``params``) name an ``arch`` and a ``freeze`` policy (``detectors.deep.finetune``'s
``BackboneDetector``). One row per fit: backbone, policy (``head`` = linear probe on frozen
features, ``last_n`` with its n, ``full``), whether it started from the pretrained weights,
input size, test ROC-AUC with its 95% interval (the leaderboard's, over source-photo groups),
train seconds and status. Written as ``freeze_policy.csv`` and a section of
``leaderboard.md``.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from benchmark.report.markdown import markdown_table

COLUMNS = ["dataset", "backbone", "freeze", "pretrained", "input_size", "detector", "roc_auc",
           "roc_auc_lo", "roc_auc_hi", "train_seconds", "status"]  # fmt: skip
_POLICY_ORDER = {"head": 0, "last_n": 1, "full": 2}


def _params(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def freeze_table(board: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The table (``COLUMNS``) of every default-tuned backbone fit in ``board``; empty if none."""
    if board.empty or rows.empty or "params" not in rows:
        return pd.DataFrame(columns=COLUMNS)
    fits = rows[["detector", "dataset", "params"]].dropna(subset=["params"])
    fits = fits.drop_duplicates(["detector", "dataset"], keep="last")
    out = []
    for _, fit in fits.iterrows():
        p = _params(fit["params"])
        if "arch" not in p or "freeze" not in p:
            continue
        match = board[(board["detector"] == fit["detector"]) & (board["dataset"] == fit["dataset"])]
        if "tuning" in match:
            match = match[match["tuning"].fillna("default").astype(str) == "default"]
        if match.empty:
            continue
        b = match.iloc[0]
        policy = f"last_n={p.get('last_n')}" if p["freeze"] == "last_n" else p["freeze"]
        out.append({
            "dataset": fit["dataset"], "backbone": p["arch"], "freeze": policy,
            "pretrained": b.get("pretrained", ""), "input_size": p.get("input_size"),
            "detector": fit["detector"], "roc_auc": b.get("roc_auc"),
            "roc_auc_lo": b.get("roc_auc_lo"), "roc_auc_hi": b.get("roc_auc_hi"),
            "train_seconds": b.get("train_seconds"), "status": b.get("status", "ok"),
        })  # fmt: skip
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.DataFrame(out, columns=COLUMNS)
    order = table["freeze"].str.split("=").str[0].map(_POLICY_ORDER).fillna(9)
    table = table.assign(_o=order, _p=table["pretrained"].astype(str) != "yes")
    return table.sort_values(["dataset", "backbone", "_o", "_p"]).drop(columns=["_o", "_p"])


def markdown_section(table: pd.DataFrame) -> str:
    """``leaderboard.md``'s "Freeze policy" section ("" when no backbone fit is here)."""
    if table.empty:
        return ""
    shown = table.copy()
    interval = shown.apply(
        lambda r: f"{r['roc_auc']:.3f} [{r['roc_auc_lo']:.3f}, {r['roc_auc_hi']:.3f}]"
        if pd.notna(r["roc_auc"]) and pd.notna(r["roc_auc_lo"]) else
        (f"{r['roc_auc']:.3f}" if pd.notna(r["roc_auc"]) else "–"), axis=1)  # fmt: skip
    shown["test ROC-AUC [95% CI]"] = interval
    shown["train s"] = pd.to_numeric(shown["train_seconds"], errors="coerce").round(1)
    keep = ["backbone", "freeze", "pretrained", "input_size", "detector",
            "test ROC-AUC [95% CI]", "train s", "status"]  # fmt: skip
    return "\n".join([
        "\n## Freeze policy: frozen features vs fine-tuning, per backbone\n",
        "Each pretrained backbone under each freeze policy (`head`: a linear probe on the "
        "frozen pooled features; `last_n=k`: the last k stages and the head trained; `full`: "
        "every weight), and the same network from random initialisation where it ran. "
        "Intervals: 95% bootstrap over the test split's source-photo groups.\n",
        markdown_table(shown[keep]),
    ])  # fmt: skip
