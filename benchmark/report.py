"""Leaderboard, robustness, resolution and timing tables: pivots of the tidy long rows.

The robustness summary follows ImageNet-C (Hendrycks & Dietterich 2019) with error = 1 − AUC:
``CE_c = Σ_s E(det, c, s) / Σ_s E(ref, c, s)``, mCE = mean over corruptions; relative CE uses
errors minus each detector's clean error. The reference detector is configurable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.results import atomic_write_csv, atomic_write_text, read_rows, write_table

SHORTCUT_AUC = 0.70  # metadata baseline above this ⇒ the dataset has a storage confound
SHORTCUT_MARGIN = 0.05  # detectors must beat the metadata baseline by this much
DEFAULT_BOOTSTRAP = 1000  # bootstrap resamples of the leaderboard's intervals
LEADER_METRICS = (
    "roc_auc",
    "average_precision",
    "eer",
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "accuracy_tuned",
    "f1_tuned",
    "threshold_tuned",
)


def _values(rows: pd.DataFrame) -> pd.DataFrame:
    ok = rows[rows["error"].fillna("") == ""].copy()
    ok["value"] = pd.to_numeric(ok["value"], errors="coerce")
    return ok


def _fit_keys(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``rows`` with an empty ``tuning`` read as "default", and the columns that tell one fit's
    rows from another's in a table: detector, dataset (and tuning, when rows have it)."""
    if "tuning" not in rows:
        return rows, ["detector", "dataset"]
    return rows.assign(tuning=rows["tuning"].fillna("default")), ["detector", "dataset", "tuning"]


def leaderboard(
    rows: pd.DataFrame,
    timing: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
) -> pd.DataFrame:
    """One row per detector × dataset (× tuning): clean-test metrics, cost, per-family AUC, status.

    With ``scores`` (per-image test scores), also 95% bootstrap intervals of ROC-AUC, tuned
    accuracy and EER (``bootstrap`` resamples), paired tests against the best detector and
    tie-aware ranks (``benchmark.stats.leaderboard_statistics``).
    """
    rows, keys = _fit_keys(rows)  # tuned and default fits of one detector are separate rows
    vals = _values(rows)
    clean = vals[(vals["condition"] == "clean") & (vals["split"] == "test")]
    out = rows[keys + ["train_aug", "pretrained"]].drop_duplicates(keys).set_index(keys)
    overall = clean[clean["subset"] == "all"].pivot_table(
        index=keys, columns="metric", values="value"
    )
    out = out.join(overall[[m for m in LEADER_METRICS if m in overall.columns]])
    if "roc_auc" not in out:  # every detector failed: the table still has its columns
        out["roc_auc"] = np.nan
    # test images each detector was scored on: fewer where some were below its minimum size
    scored = clean[(clean["subset"] == "all") & (clean["metric"] == "roc_auc")]
    n_test = scored.groupby(keys)["n"].last() if "n" in scored else pd.Series(dtype=float)
    out["n"] = pd.to_numeric(n_test, errors="coerce").reindex(out.index).round().astype("Int64")
    fam = clean[
        (clean["subset"] != "all")
        & (clean["subset"] != "retrieval")
        & (clean["metric"] == "roc_auc")
    ]
    if not fam.empty:
        out = out.join(
            fam.pivot_table(index=keys, columns="subset", values="value").add_prefix("auc_")
        )
    val = vals[(vals["split"] == "val") & (vals["metric"] == "roc_auc")].set_index(keys)["value"]
    out["val_roc_auc"] = val
    for metric in ("n_parameters", "train_seconds", "n_configs_tried", "tuning_seconds"):
        out[metric] = vals[vals["metric"] == metric].set_index(keys)["value"]
    out["n_parameters"] = out["n_parameters"].round().astype("Int64")  # a count, not a float
    out["pretrained"] = out["pretrained"].map(_pretrained_label)
    if not timing.empty and "throughput_img_s" in timing.columns:
        t = (
            timing[timing["batch"] == timing["batch"].max()]
            .groupby("detector")["throughput_img_s"]
            .max()
        )
        out["infer_ms_per_image"] = (
            (1000.0 / t).reindex(out.index.get_level_values("detector")).values
        )
        b1 = timing[timing["batch"] == 1].groupby("detector")["latency_ms_p90"].max()
        out["latency_ms_p90_b1"] = b1.reindex(out.index.get_level_values("detector")).values
    errors = rows[rows["error"].fillna("") != ""]
    fit_err = errors[
        errors["metric"].isin(["error", "not_applicable"]) & (errors["condition"].fillna("") == "")
    ]
    out["status"] = "ok"
    out["error"] = ""
    for _, r in fit_err.iterrows():
        key = tuple(r[k] for k in keys)
        out.loc[key, "status"] = "not applicable" if r["metric"] == "not_applicable" else "failed"
        out.loc[key, "error"] = r["error"]
    out = _mark_shortcut(out.reset_index())
    if scores is not None:
        from benchmark.stats import leaderboard_statistics

        out = leaderboard_statistics(out, scores, n_resamples=bootstrap)
    return out.sort_values(["dataset", "roc_auc"], ascending=[True, False], na_position="last")


def _pretrained_label(value: Any) -> str:
    """``True``/``False`` as the run recorded them → yes/no; detectors without weights → n/a."""
    text = "" if pd.isna(value) else str(value).strip().lower()
    return {"true": "yes", "false": "no (random init)", "": "n/a"}.get(text, text)


def _mark_shortcut(board: pd.DataFrame) -> pd.DataFrame:
    """Mark detectors that do not beat the metadata baseline by ``SHORTCUT_MARGIN`` AUC."""
    board["beats_metadata_baseline"] = ""
    for _, group in board.groupby("dataset"):
        base = group[group["detector"] == "metadata_baseline"]["roc_auc"].dropna()
        if base.empty:
            continue
        limit = float(base.iloc[0]) + SHORTCUT_MARGIN
        idx = group.index[group["detector"] != "metadata_baseline"]
        board.loc[idx, "beats_metadata_baseline"] = np.where(
            board.loc[idx, "roc_auc"] >= limit, "yes", "NO"
        )
    return board


def shortcut_warnings(board: pd.DataFrame) -> list[str]:
    msgs = []
    for _, r in board[board["detector"] == "metadata_baseline"].iterrows():
        if pd.notna(r.get("roc_auc")) and r["roc_auc"] > SHORTCUT_AUC:
            msgs.append(
                f"WARNING: on dataset {r['dataset']!r} a classifier that never looks at pixels "
                "(file format, JPEG tables, bytes/pixel, size) reaches ROC-AUC "
                f"{r['roc_auc']:.3f}: "
                "real and fake files were stored differently, so detector scores there may measure "
                "that storage confound, not manipulation. Rows not beating it by "
                f"{SHORTCUT_MARGIN} AUC are marked beats_metadata_baseline=NO."
            )
    return msgs


def condition_table(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Long table of one condition kind with the clean value and the difference to it."""
    rows, keys = _fit_keys(rows)  # a tuned fit's clean value is its own, not the default's
    vals = _values(rows)
    vals = vals[(vals["split"] == "test") & (vals["subset"].isin(["all"]))]
    part = vals[
        vals["condition"].str.startswith("res")
        if kind == "resolution"
        else (vals["corruption"].astype(object).fillna("") != "")
    ]
    clean = vals[vals["condition"] == "clean"].set_index([*keys, "metric"])["value"]
    cols = [
        *keys,
        "train_aug",
        "condition",
        "corruption",
        "severity",
        "resolution",
        "mode",
        "metric",
        "value",
        "n",
    ]
    part = part[cols].copy()
    clean = clean[~clean.index.duplicated()]  # one clean value per fit and metric
    part["clean_value"] = [
        clean.get(key, np.nan) for key in part[[*keys, "metric"]].itertuples(index=False)
    ]
    part["diff_from_clean"] = part["value"] - part["clean_value"]
    return part


def robustness_summary(robust: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Mean AUC/accuracy over corruptions, relative drop, mCE and relative mCE (error = 1 − AUC)."""
    auc = robust[robust["metric"] == "roc_auc"]
    acc = robust[robust["metric"] == "accuracy"]
    if auc.empty:
        return pd.DataFrame()
    rows = []
    keys = _fit_keys(robust)[1]
    ref = auc[auc["detector"] == reference]
    for key, g in auc.groupby(keys):
        det, ds = key[:2]
        clean_auc = g["clean_value"].iloc[0]
        ces, rces = [], []
        r = ref[ref["dataset"] == ds]
        if len(keys) == 3:  # the reference fit tuned alike, else its default fit
            same = r[r["tuning"] == key[2]]
            r = same if not same.empty else r[r["tuning"] == "default"]
        for corr, gc in g.groupby("corruption"):
            rc = r[r["corruption"] == corr]
            if rc.empty:
                continue
            err, ref_err = (1 - gc["value"]).sum(), (1 - rc["value"]).sum()
            ces.append(err / ref_err if ref_err > 0 else np.nan)
            rel = ((1 - gc["value"]) - (1 - clean_auc)).sum()
            ref_rel = ((1 - rc["value"]) - (1 - rc["clean_value"].iloc[0])).sum()
            rces.append(rel / ref_rel if ref_rel > 0 else np.nan)
        mean_auc = g["value"].mean()
        mine = (acc[keys] == pd.Series(dict(zip(keys, key, strict=True)))).all(axis=1)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "clean_roc_auc": clean_auc,
                "mean_roc_auc": mean_auc,
                "mean_accuracy": acc.loc[mine, "value"].mean(),
                "relative_auc_drop": (clean_auc - mean_auc) / clean_auc if clean_auc else np.nan,
                "mCE": _nanmean(ces),
                "relative_mCE": _nanmean(rces),
                "reference": reference,
                "n_conditions": len(g),
            }
        )
    return pd.DataFrame(rows).sort_values("mean_roc_auc", ascending=False)


def write_tables(
    rows: pd.DataFrame,
    timing: pd.DataFrame,
    results_dir: Path,
    reference: str,
    title: str = "",
    scores: pd.DataFrame | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
) -> dict[str, Path]:
    """Write leaderboard.{csv,md}, robustness.csv, resolution.csv, timing.csv atomically.

    ``robustness.csv`` and ``resolution.csv`` become ``.csv.gz`` past
    ``results.GZIP_ABOVE_BYTES`` (``results.write_table``).

    Then the figures of these tables (``figures/``) and the folder's ``report.html``.
    """
    results_dir = Path(results_dir)
    board = leaderboard(rows, timing, scores, bootstrap)
    robust = condition_table(rows, "corruption")
    resol = condition_table(rows, "resolution")
    summary = robustness_summary(robust, reference)
    paths = {
        "leaderboard": atomic_write_csv(results_dir / "leaderboard.csv", board),
        "robustness": write_table(results_dir / "robustness.csv", robust),  # .gz when large
        "robustness_summary": atomic_write_csv(results_dir / "robustness_summary.csv", summary),
        "resolution": write_table(results_dir / "resolution.csv", resol),
        "timing": atomic_write_csv(results_dir / "timing.csv", timing),
    }
    from benchmark.tuning import markdown_section

    paths["markdown"] = atomic_write_text(
        results_dir / "leaderboard.md",
        markdown(board, robust, resol, summary, timing, title) + markdown_section(board, rows),
    )
    from benchmark import figures, page

    paths |= figures.write_table_figures(results_dir, board, robust, resol, timing, scores)
    paths["report_page"] = page.write_folder_page(results_dir)
    return paths


SEED_METRICS = ("roc_auc", "average_precision", "eer", "accuracy", "accuracy_tuned")


def _nanmean(values: list[float]) -> float:
    """Mean ignoring NaN; NaN (without numpy's empty-slice warning) when nothing is left."""
    arr = np.asarray(values, dtype=float)
    return float(arr[~np.isnan(arr)].mean()) if (~np.isnan(arr)).any() else float("nan")


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
            _md(view),
        ]
    )
    return {
        "seeds": atomic_write_csv(results_dir / "leaderboard_seeds.csv", summary),
        "seeds_markdown": atomic_write_text(results_dir / "leaderboard_seeds.md", text),
    }


def seeds_of(summary: pd.DataFrame) -> list[int]:
    """Every seed named in a seed summary's ``seeds`` column (rows may cover different ones)."""
    return sorted({int(x) for cell in summary.get("seeds", []) for x in str(cell).split(",") if x})


def _md(frame: pd.DataFrame) -> str:
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
            "detector",
            "dataset",
            "tuning",
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
    fam_cols = ["detector"] + [c for c in board.columns if c.startswith("auc_")]
    parts = [
        f"# fakebench leaderboard{': ' + title if title else ''}\n",
        "Test split, scored once; threshold-tuned columns use a threshold chosen on validation. "
        "`n`: test images scored (fewer where some were below a detector's minimum size).\n",
        "## Overall\n",
        _md(board[cols]),
        "## ROC-AUC per manipulation family (all reals vs that family's fakes)\n",
        _md(board[fam_cols]),
    ]
    for name, table, col in (
        ("Robustness: ROC-AUC, detector × corruption (mean over severities)", robust, "corruption"),
        ("Resolution: ROC-AUC, detector × resolution-mode", resol, "condition"),
    ):
        auc = table[table["metric"] == "roc_auc"] if "metric" in table else table.iloc[:0]
        parts.append(f"## {name}\n")
        parts.append(
            _md(
                auc.pivot_table(index="detector", columns=col, values="value").reset_index()
                if not auc.empty
                else pd.DataFrame()
            )
        )
    parts += [
        "## Robustness summary (error = 1 − AUC; mCE relative to the reference)\n",
        _md(summary),
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
        parts += ["## Timing\n", _md(timing[tcols])]
    errs = board[board["status"] != "ok"][["detector", "status", "error"]]
    if not errs.empty:
        parts += ["## Failed / not applicable\n", _md(errs)]
    return "\n".join(parts)


def frame_from(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def load_rows(path: Path) -> pd.DataFrame:
    """The wide rows of a ``rows.csv[.gz]`` or a folder: ``results.read_rows`` (the one reader)."""
    return read_rows(path)
