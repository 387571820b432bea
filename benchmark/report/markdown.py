"""Markdown renderings of the tables: ``leaderboard.md`` and the tables other writers embed."""

from __future__ import annotations

import pandas as pd

from benchmark.report.labels import fit_labels
from benchmark.report.ranks import RANK_RULE


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_(none)_\n"
    frame = frame.copy()
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            frame[col] = frame[col].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        else:
            frame[col] = frame[col].map(
                lambda v: "" if pd.api.types.is_scalar(v) and pd.isna(v) else v
            )
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, sep, *body]) + "\n"


def markdown(
    board: pd.DataFrame,
    robust: pd.DataFrame,
    resol: pd.DataFrame,
    summary: pd.DataFrame,
    timing: pd.DataFrame,
    title: str,
) -> str:
    cols = [
        c
        for c in [
            "fit",
            "detector",
            "detector_family",
            "fit_kind",
            "dataset",
            "tuning",
            "train_aug",
            "fit_mode",
            "status",
            "n",
            "rank",
            "roc_auc",
            "roc_auc_lo",
            "roc_auc_hi",
            "p_vs_best",
            "average_precision",
            "eer",
            "accuracy",
            "accuracy_tuned",
            "f1_tuned",
            "n_parameters",
            "train_seconds",
            "infer_ms_per_image",
            "pretrained",
            "beats_metadata_baseline",
        ]
        if c in board
    ]
    fit = "fit" if "fit" in board else "detector"
    fam_cols = [fit] + [c for c in board.columns if c.startswith("auc_")]
    parts = [
        f"# fakebench leaderboard{': ' + title if title else ''}\n",
        "Test split, scored once; threshold-tuned columns use a threshold chosen on validation. "
        "`n`: test images scored (fewer where some were below a detector's minimum size). "
        "`fit`: the detector and what makes this fit differ (`@val8` tuned on validation, "
        "`+name` a training augmentation, `[zero-shot]`/`[fine-tuned]` a released checkpoint's "
        "use, `[random init]` the random-initialisation ablation).\n",
        "## Overall\n",
        RANK_RULE + "\n",
        markdown_table(board[cols]),
        "## ROC-AUC per manipulation family (all reals vs that family's fakes)\n",
        markdown_table(board[fam_cols]),
    ]
    for name, table, col in (
        ("Robustness: ROC-AUC, detector × corruption (mean over severities)", robust, "corruption"),
        ("Resolution: ROC-AUC, detector × resolution-mode", resol, "condition"),
    ):
        auc = table[table["metric"] == "roc_auc"] if "metric" in table else table.iloc[:0]
        parts.append(f"## {name}\n")
        parts.append(
            markdown_table(
                auc.assign(fit=fit_labels(auc))
                .pivot_table(index="fit", columns=col, values="value")
                .reset_index()
                if not auc.empty
                else pd.DataFrame()
            )
        )
    parts += [
        "## Robustness summary (error = 1 − AUC; mCE relative to the reference)\n",
        markdown_table(_with_fit(summary)),
    ]
    if not timing.empty:
        tcols = [
            c
            for c in [
                "detector",
                "what",
                "device",
                "batch",
                "latency_ms_p50",
                "latency_ms_p90",
                "latency_ms_p99",
                "throughput_img_s",
                "gflops_per_image",
            ]
            if c in timing
        ]
        parts += ["## Timing\n", markdown_table(timing[tcols])]
    errs = board[board["status"] != "ok"][[fit, "status", "error"]]
    if not errs.empty:
        parts += ["## Failed / not applicable\n", markdown_table(errs)]
    return "\n".join(parts)


def _with_fit(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per fit) with the fit's name as its first column."""
    if table.empty or "detector" not in table or "fit" in table:
        return table
    return table.assign(fit=fit_labels(table))[["fit", *table.columns]]
