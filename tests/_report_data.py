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


MANY_FAMILIES = ("classical", "spectral", "from scratch", "pretrained", "released", "baseline")


def many_fits(n: int = 50, n_images: int = 40, seed: int = 0) -> dict[str, object]:
    """``n`` synthetic fits spread over the report's families, as every table figure takes them:
    ``scores``, ``board``, ``robust``, ``resol`` (long tables) and ``histories`` (per epoch).

    Names are as long as real ones (``pretrained_efficientnet_07@val8``); a third are tuned.
    Families are given in a ``detector_family`` column: the names are not registered.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([3, 2, 3, 6, 2, 1], dtype=float)
    fams = rng.choice(MANY_FAMILIES, size=n, p=weights / weights.sum())
    fams[: len(MANY_FAMILIES)] = MANY_FAMILIES  # every family present
    labels = np.arange(n_images) % 2
    score_rows, board_rows, cond_rows, histories = [], [], [], {}
    for i, fam in enumerate(fams):
        det = f"{fam.replace(' ', '_')}_detector_{i:02d}"
        tuning = "val:8" if i % 3 == 2 else "default"
        sep = rng.uniform(0.0, 2.5)
        z = labels * sep + rng.normal(0, 1, n_images) - sep / 2
        score = 1 / (1 + np.exp(-z))
        for j in range(n_images):
            score_rows.append({
                "detector": det, "dataset": "d", "seed": 0, "train_aug": "none",
                "tuning": tuning, "condition": "clean", "sample_id": f"test/{j:03d}",
                "label": int(labels[j]), "family": "real" if labels[j] == 0 else "gan",
                "group": f"photo{j % 8}", "score": float(score[j]), "threshold": 0.5,
                "detector_family": fam,
            })  # fmt: skip
        clean = 0.5 + sep / 5
        board_rows.append({
            "detector": det, "dataset": "d", "tuning": tuning, "train_aug": "none",
            "detector_family": fam, "status": "ok", "roc_auc": clean,
            "roc_auc_lo": clean - 0.05, "roc_auc_hi": min(clean + 0.05, 1.0),
            "infer_ms_per_image": float(10 ** rng.uniform(-1, 1.6)),
            "n_parameters": int(10 ** rng.uniform(2, 7.5)),
        })  # fmt: skip
        base = {"detector": det, "dataset": "d", "tuning": tuning, "train_aug": "none",
                "detector_family": fam, "metric": "roc_auc", "clean_value": clean}  # fmt: skip
        for corr in ("jpeg", "gaussian_blur", "noise"):
            for sev in (1, 3, 5):
                cond_rows.append(base | {"corruption": corr, "severity": sev, "mode": "",
                                         "condition": f"{corr}@{sev}", "resolution": np.nan,
                                         "value": clean - rng.uniform(0, 0.05) * sev})  # fmt: skip
        for res in (32, 64):
            for mode in ("resized", "native"):
                drop = rng.uniform(0, 0.2) * (64 / res)
                cond_rows.append(base | {"corruption": "", "severity": np.nan, "mode": mode,
                                         "condition": f"res{res}-{mode}", "resolution": res,
                                         "value": clean - drop})  # fmt: skip
        if fam in ("from scratch", "pretrained", "released"):
            epochs = int(rng.integers(2, 9))
            loss = 0.7 * np.exp(-rng.uniform(0.1, 0.5) * np.arange(epochs))
            histories[det + ("@val8" if tuning != "default" else "")] = pd.DataFrame({
                "epoch": np.arange(1, epochs + 1), "train_loss": loss,
                "val_loss": loss + rng.uniform(0, 0.2, epochs),
                "val_auc": np.clip(clean - 0.1 + 0.02 * np.arange(epochs), 0, 1),
            })  # fmt: skip
    cond = pd.DataFrame(cond_rows)
    return {
        "scores": pd.DataFrame(score_rows),
        "board": pd.DataFrame(board_rows),
        "robust": cond[cond["corruption"] != ""].reset_index(drop=True),
        "resol": cond[cond["corruption"] == ""].reset_index(drop=True),
        "histories": histories,
    }
