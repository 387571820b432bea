"""Tiny synthetic tables (scores, robustness, resolution, leaderboard) for figure/page tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

DETECTORS = {"good": 2.0, "fair": 1.0, "metadata_baseline": 0.1}


def scores_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Per-image clean test scores of three detectors; 8 source groups."""
    rng = np.random.default_rng(seed)
    rows = []
    labels = np.arange(n) % 2
    for det, sep in DETECTORS.items():
        logits = labels * sep + rng.normal(0, 1, n) - sep / 2
        for i, (y, z) in enumerate(zip(labels, logits, strict=True)):
            rows.append({
                "run_id": "r1", "detector": det, "dataset": "d", "seed": 0, "train_aug": "none",
                "condition": "clean", "sample_id": f"test/{i:03d}", "label": int(y),
                "family": "real" if y == 0 else ("splice" if i % 4 == 1 else "gan"),
                "group": f"photo{i % 8}", "score": float(1 / (1 + np.exp(-z))), "threshold": 0.5,
            })  # fmt: skip
    return pd.DataFrame(rows)


def condition_frame(kind: str) -> pd.DataFrame:
    rows = []
    for det, sep in DETECTORS.items():
        clean = 0.5 + sep / 5
        if kind == "corruption":
            for corr in ("jpeg", "gaussian_blur"):
                for sev in (1, 3, 5):
                    rows.append({"detector": det, "dataset": "d", "corruption": corr,
                                 "severity": sev, "condition": f"{corr}@{sev}", "mode": "",
                                 "resolution": np.nan, "metric": "roc_auc",
                                 "value": clean - 0.03 * sev, "clean_value": clean})  # fmt: skip
        else:
            for res in (32, 64):
                for mode in ("resized", "native"):
                    auc = clean - 0.1 * (64 / res - 1)
                    rows.append({"detector": det, "dataset": "d", "corruption": "",
                                 "severity": np.nan, "condition": f"res{res}-{mode}",
                                 "mode": mode, "resolution": res, "metric": "roc_auc",
                                 "value": auc, "clean_value": clean})  # fmt: skip
    return pd.DataFrame(rows)


def board_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "detector": list(DETECTORS), "dataset": "d", "status": "ok",
            "roc_auc": [0.9, 0.75, 0.52], "roc_auc_lo": [0.85, 0.6, 0.4],
            "roc_auc_hi": [0.95, 0.86, 0.64], "infer_ms_per_image": [5.0, 0.7, 0.1],
            "n_parameters": [16_000_000, 193, 40], "pretrained": ["no (random init)", "n/a", "n/a"],
            "beats_metadata_baseline": ["yes", "yes", ""],
        }
    )  # fmt: skip
