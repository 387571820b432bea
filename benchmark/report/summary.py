"""The end of a run in words: what a reader should take from the leaderboard, and not.

A pure function of the tables (no printing): the CLI prints it after ``run``, and a report can
reuse it as a headline.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.report.seeds import seeds_of
from benchmark.report.tables import SHORTCUT_MARGIN


def _name(row: pd.Series) -> str:
    """A leaderboard row's fit name (``fit``; the detector in a table without one)."""
    fit = row.get("fit")
    return str(fit) if isinstance(fit, str) and fit else str(row["detector"])


def _names(board: pd.DataFrame) -> list[str]:
    return [_name(r) for _, r in board.iterrows()]


def _first_line(text: object, width: int = 160) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else "no message"
    return line if len(line) <= width else line[: width - 1] + "…"


def run_summary(
    board: pd.DataFrame,
    *,
    tables: Path | None,
    run_folder: Path | None = None,
    seed_spread: pd.DataFrame | None = None,
    skipped: list[dict[str, Any]] | None = None,
    skipped_files: Path | None = None,
) -> list[str]:
    """Sentences about one dataset's leaderboard ``board`` (rows of ``report.leaderboard``).

    Args:
        board: the leaderboard of the run (one dataset).
        tables: folder the tables were written to (None: not written).
        run_folder: the run's work folder (fits, predictions, rows).
        seed_spread: ``leaderboard_seeds.csv`` of this dataset, when one is published.
        skipped: the run's per-detector skip records (``below_min_size``: images smaller
            than a detector's minimum side, left out for that detector only).
        skipped_files: where those records are listed, named in the sentence about them.
    """
    out: list[str] = []
    dataset = ", ".join(sorted(board["dataset"].dropna().astype(str).unique())) or "?"
    status = board.get("status", pd.Series("ok", index=board.index)).fillna("ok")
    ok = board[(status == "ok") & board.get("roc_auc", pd.Series(dtype=float)).notna()]
    ranked = ok.sort_values("roc_auc", ascending=False) if len(ok) else ok
    if len(ranked):
        best = ranked.iloc[0]
        line = f"Best on {dataset}: {_name(best)}, test ROC-AUC {best['roc_auc']:.3f}"
        if len(ranked) > 1:
            second = ranked.iloc[1]
            gap = best["roc_auc"] - second["roc_auc"]
            line += f"; next {_name(second)} {second['roc_auc']:.3f} ({gap:+.3f})"
        out.append(line + ".")
    else:
        out.append(f"No detector produced a test score on {dataset}.")

    out.append(_seed_sentence(seed_spread))
    out += _subset_sentences(board, status, skipped or [], skipped_files)

    if "pretrained" in board:
        rand = board[board["pretrained"].astype(str).str.startswith("no (random")]
        if len(rand):
            out.append(
                f"Ran from random initialisation (--allow-random-init, an ablation): "
                f"{', '.join(_names(rand))}. Their scores say nothing about the pretrained "
                "method: `python -m benchmark weights list` shows where each weights file goes; "
                "`python -m benchmark weights fetch NAME` downloads it on a machine with "
                "internet; then run again."
            )
    if "beats_metadata_baseline" in board:
        weak = board[board["beats_metadata_baseline"].astype(str) == "NO"]
        base = board[board["detector"] == "metadata_baseline"]["roc_auc"].dropna()
        if len(weak) and len(base):
            out.append(
                f"Not better than the metadata-only baseline (ROC-AUC {base.iloc[0]:.3f}, a "
                f"classifier that never looks at pixels) by {SHORTCUT_MARGIN}: "
                f"{', '.join(_names(weak))}."
            )
    errors = board.get("error", pd.Series("", index=board.index)).astype(object).fillna("")
    errors = errors.astype(str)
    no_weights = (status == "not applicable") & errors.str.contains("weights not found")
    if no_weights.any():
        out.append(
            f"Not run, their pretrained weights are not on this machine (nothing is downloaded; "
            f"`python -m benchmark weights fetch NAME` on a connected machine, then run again): "
            f"{', '.join(board.loc[no_weights, 'detector'].astype(str))}."
        )
    failed = board[status.isin(["failed", "not applicable", "degenerate"]) & ~no_weights]
    for _, r in failed.iterrows():
        out.append(f"{r['status'].upper()}: {_name(r)}: {_first_line(r.get('error', ''))}")
    if tables is not None:
        out.append(f"Tables: {tables}/leaderboard.md (and .csv; robustness, resolution, timing).")
    if run_folder is not None:
        out.append(
            f"Run folder (fits, cached predictions, this run's rows): {run_folder}; "
            f"`python -m benchmark report {run_folder}` rebuilds its tables."
        )
    return out


def _subset_sentences(
    board: pd.DataFrame, status: pd.Series, skipped: list[dict[str, Any]], files: Path | None
) -> list[str]:
    """Images each detector left out for its minimum size, and whether test sets differ."""
    out = []
    if skipped:
        per = Counter((d["detector"], d.get("split", "")) for d in skipped)
        dets = sorted({d["detector"] for d in skipped})
        parts = [
            f"{det} {sum(n for (k, _), n in per.items() if k == det)} "
            f"(train {per[(det, 'train')]}, val {per[(det, 'val')]}, test {per[(det, 'test')]})"
            for det in dets
        ]
        where = f"; each file and both sizes in {files}" if files is not None else ""
        out.append(
            "Skipped as below the detector's minimum image size (below_min_size, that detector "
            f"only; labels unchanged): {', '.join(parts)}{where}."
        )
    if "n" in board:
        scored = board[(status == "ok") & board["n"].notna()]
        sizes = scored.assign(_fit=_names(scored)).groupby("n")["_fit"].apply(list)
        if len(sizes) > 1:
            groups = "; ".join(
                f"n={int(n)}: {', '.join(map(str, dets))}" for n, dets in sizes.sort_index().items()
            )
            out.append(
                f"Detectors were scored on different test subsets ({groups}): their AUCs are "
                "not on the same images; p_vs_best compares each with the best on the images "
                "both scored."
            )
    return out


def _seed_sentence(spread: pd.DataFrame | None) -> str:
    """How much one seed moves ROC-AUC, from a published seed summary when there is one."""
    col = "roc_auc_std"
    if spread is None or col not in spread or spread[col].dropna().empty:
        return (
            "How much a seed moves these numbers is not measured for this dataset: "
            "`run --seed 0-2` runs three seeds and reports mean, sd, min and max; until then, "
            "read small gaps between detectors as noise."
        )
    spread = spread[spread[col].notna()]  # detectors published for one seed only have no sd
    sd = spread[col]
    lo, hi = spread.get("roc_auc_min"), spread.get("roc_auc_max")
    widest = float((hi - lo).max()) if lo is not None and hi is not None else float("nan")
    seeds = seeds_of(spread)
    return (
        f"One seed moves these numbers: over seeds {', '.join(map(str, seeds)) or '?'} the sd "
        f"of a detector's ROC-AUC is {sd.min():.3f}–{sd.max():.3f} (median {sd.median():.3f}, "
        f"{len(sd)} detector fits), and its range up to {widest:.3f}; a gap smaller than that "
        "between two detectors is not a ranking."
    )
