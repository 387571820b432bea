"""The summary over seeds: mean, sd, min and max of each test metric per detector.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.core.io import atomic_write_csv, atomic_write_text
from benchmark.report.markdown import markdown_table

SEED_METRICS = ("roc_auc", "average_precision", "eer", "accuracy", "accuracy_tuned")


#: Leaderboard columns that tell fits of one detector apart (value when a table lacks it).
SEED_KEYS = {"tuning": "default", "train_aug": "none"}


def seed_summary(boards: list[pd.DataFrame]) -> pd.DataFrame:
    """Mean, sd, min and max over seeds of each detector × dataset's test metrics.

    ``boards`` are ``leaderboard`` tables with a ``seed`` column. Fits that differ in
    ``SEED_KEYS`` (tuned vs default, training augmentation) are summarised apart. ``n_seeds``
    counts the seeds with a score; a failed seed is left out of the statistics and counted in
    ``failed_seeds``.
    """
    both = pd.concat(boards, ignore_index=True)
    metrics = [m for m in SEED_METRICS if m in both] + sorted(
        c for c in both.columns if c.startswith("auc_")
    )
    keys = ["detector", "dataset", *SEED_KEYS.keys() & set(both.columns)]
    keys = sorted(keys, key=["detector", "dataset", *SEED_KEYS].index)
    for key, absent in SEED_KEYS.items():  # tuned and default fits are never pooled
        if key in both:
            both[key] = both[key].fillna(absent)
    groups = both.groupby(keys, sort=False)
    stats = groups[metrics].agg(["mean", "std", "min", "max"])
    stats.columns = [f"{m}_{stat}" for m, stat in stats.columns]
    out = pd.DataFrame(
        {
            "n_seeds": groups["roc_auc"].count(),
            "failed_seeds": groups["status"].agg(lambda st: int((st == "failed").sum())),
            "seeds": groups["seed"].agg(lambda ss: ",".join(map(str, sorted(ss)))),
        }
    ).join(stats)
    out = out.reset_index()
    return out.sort_values(["dataset", "roc_auc_mean"], ascending=[True, False], na_position="last")


def write_seed_summary(summary: pd.DataFrame, results_dir: Path) -> dict[str, Path]:
    """``leaderboard_seeds.csv`` and a ``.md`` with mean ± sd (min–max) per metric."""
    results_dir = Path(results_dir)
    keys = [k for k in ("detector", "dataset", *SEED_KEYS) if k in summary]
    view = summary[[*keys, "n_seeds", "failed_seeds"]].copy()
    for m in [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]:
        view[m] = [
            "" if pd.isna(mu) else f"{mu:.3f} ± {sd:.3f} ({lo:.3f}–{hi:.3f})"
            if pd.notna(sd)
            else f"{mu:.3f}"
            for mu, sd, lo, hi in summary[[f"{m}_{k}" for k in ("mean", "std", "min", "max")]]
            .itertuples(index=False)
        ]  # fmt: skip
    text = "\n".join(
        [
            "# fakebench leaderboard over seeds\n",
            f"Seeds {', '.join(map(str, seeds_of(summary)))}: each seed re-draws the dataset "
            "split (and, for the default dataset, its images) and re-initialises the detectors. "
            "Test split, mean ± sample sd (min–max); `n_seeds` says how many seeds a row has. "
            "Seed 0's tables are the dataset's own folder (`../`), the others' `seed<N>/`.\n",
            markdown_table(view),
        ]
    )
    return {
        "seeds": atomic_write_csv(results_dir / "leaderboard_seeds.csv", summary),
        "seeds_markdown": atomic_write_text(results_dir / "leaderboard_seeds.md", text),
    }


def seeds_of(summary: pd.DataFrame) -> list[int]:
    """Every seed named in a seed summary's ``seeds`` column (rows may cover different ones)."""
    return sorted({int(x) for cell in summary.get("seeds", []) for x in str(cell).split(",") if x})
