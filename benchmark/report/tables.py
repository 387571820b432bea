"""Leaderboard, robustness, resolution and timing tables: pivots of the tidy long rows.

The robustness summary follows ImageNet-C (Hendrycks & Dietterich 2019) with error = 1 − AUC:
``CE_c = Σ_s E(det, c, s) / Σ_s E(ref, c, s)``, mCE = mean over corruptions; relative CE uses
errors minus each detector's clean error. The reference detector is configurable.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from benchmark.report.labels import fit_columns

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
    tie-aware ranks (``benchmark.report.stats.leaderboard_statistics``). Where the test images
    are frames of videos, the same over videos (``video_*`` columns, ``report.video``).
    """
    rows, keys = _fit_keys(rows)  # tuned and default fits of one detector are separate rows
    vals = _values(rows)
    clean = vals[(vals["condition"] == "clean") & (vals["split"] == "test")]
    out = rows[keys + ["train_aug", "pretrained"]].drop_duplicates(keys).set_index(keys)
    overall = clean[clean["subset"] == "all"].pivot_table(
        index=keys, columns="metric", values="value"
    )
    out = out.join(overall[[m for m in LEADER_METRICS if m in overall.columns]])
    from benchmark.report.video import video_columns, video_statistics  # over videos, if any

    out = out.join(video_columns(overall, clean, keys))
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
    by_design = _from_scratch_by_design(rows, keys).reindex(out.index, fill_value=False)
    out.loc[by_design & (out["pretrained"] == RANDOM_INIT_LABEL), "pretrained"] = SCRATCH_LABEL
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
    out = fit_columns(_mark_shortcut(out.reset_index()), rows, keys)  # fit, detector_family, ...
    if scores is not None:
        from benchmark.report.stats import leaderboard_statistics

        out = mark_degenerate(out, scores)
        out = leaderboard_statistics(out, scores, n_resamples=bootstrap)
        out = video_statistics(out, scores, n_resamples=bootstrap)
    return out.sort_values(["dataset", "roc_auc"], ascending=[True, False], na_position="last")


#: A fit whose clean test scores span at most this (relative to their magnitude) gives every
#: image the same score: its AUC of about 0.5 says nothing about the method.
DEGENERATE_SPREAD = 1e-6


def mark_degenerate(board: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Status ``degenerate`` (with the likely cause in ``error``) for each ``ok`` row whose
    clean test scores are (nearly) constant; a warning names each. They are not ranked."""
    import logging

    if scores is None or scores.empty or board.empty:
        return board
    part = scores[scores["condition"].fillna("clean").isin(["clean", ""])] if (
        "condition" in scores) else scores  # fmt: skip
    keys = [k for k in ("detector", "dataset", "tuning") if k in part and k in board]
    score = pd.to_numeric(part["score"], errors="coerce")
    stats = score.groupby([part[k].astype(str) for k in keys]).agg(["min", "max", "count"])
    for idx in board.index:
        key = tuple(str(board.at[idx, k]) for k in keys)
        if board.at[idx, "status"] != "ok" or key not in stats.index:
            continue
        lo, hi, n = stats.loc[key]
        spread = float(hi - lo)
        if n < 2 or spread > DEGENERATE_SPREAD * max(1.0, abs(float(hi)), abs(float(lo))):
            continue
        random_init = str(board.at[idx, "pretrained"]).startswith("no")
        cause = (
            "a backbone from random initialisation (no pretrained weights) whose features do "
            "not vary"
            if random_init
            else "the classifier collapsed to one output (learning "
            "rate, too few epochs or features that do not separate these images)"
        )
        msg = (f"degenerate: every test image gets (nearly) the same score (spread "
               f"{spread:.1e} over {int(n)} images); likely cause: {cause}")  # fmt: skip
        board.at[idx, "status"], board.at[idx, "error"] = "degenerate", msg
        logging.getLogger(__name__).warning("%s: %s", board.at[idx, "detector"], msg)
    return board


RANDOM_INIT_LABEL = "no (random init)"  # weights absent, run anyway (--allow-random-init)
SCRATCH_LABEL = "no (from scratch)"  # pretrained=False chosen: the random-init control


def _from_scratch_by_design(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per fit: its parameters say ``pretrained: false`` (random init by choice, not for want
    of weights)."""
    if "params" not in rows:
        return pd.Series(dtype=bool)
    fits = rows[keys + ["params"]].drop_duplicates(keys).set_index(keys)["params"]

    def chosen(text: Any) -> bool:
        try:
            params = json.loads(str(text))
        except ValueError:
            return False
        return isinstance(params, dict) and params.get("pretrained") is False

    return fits.map(chosen).astype(bool)


def _pretrained_label(value: Any) -> str:
    """``True``/``False`` as the run recorded them → yes/no; detectors without weights → n/a."""
    text = "" if pd.isna(value) else str(value).strip().lower()
    return {"true": "yes", "false": RANDOM_INIT_LABEL, "": "n/a"}.get(text, text)


def _mark_shortcut(board: pd.DataFrame) -> pd.DataFrame:
    """Mark detectors that do not beat the metadata baseline by ``SHORTCUT_MARGIN`` AUC."""
    board["beats_metadata_baseline"] = ""
    for _, group in board.groupby("dataset"):
        base = group[group["detector"] == "metadata_baseline"]["roc_auc"].dropna()
        if base.empty:
            continue
        limit = float(base.iloc[0]) + SHORTCUT_MARGIN
        scored = group["roc_auc"].notna()  # a row without a score (not applicable) says nothing
        idx = group.index[(group["detector"] != "metadata_baseline") & scored]
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


def _nanmean(values: list[float]) -> float:
    """Mean ignoring NaN; NaN (without numpy's empty-slice warning) when nothing is left."""
    arr = np.asarray(values, dtype=float)
    return float(arr[~np.isnan(arr)].mean()) if (~np.isnan(arr)).any() else float("nan")


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
