"""Scoring a fitted detector: cached per-image scores, metric rows, timing.

Split from ``benchmark.harness`` (the train-once loop) to keep both readable; the harness
re-exports ``cached_scores``, which ``benchmark.crossdata`` uses too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark import metrics
from benchmark.data import Dataset, Sample
from benchmark.results import RowWriter, atomic_write_json

if TYPE_CHECKING:
    from benchmark.harness import RunConfig


def cached_scores(det: Any, samples: list[Sample], path: Path) -> np.ndarray:
    """Fake probabilities for ``samples``, cached in ``path`` (npz keyed by sample ids)."""
    ids = np.array([s.id for s in samples])
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if np.array_equal(z["ids"], ids):
                return z["scores"]
    scores = det.predict_proba(samples)[:, 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # concurrent tasks never collide
    np.savez(tmp, ids=ids, scores=scores)
    tmp.replace(path)
    return scores


def native_size(dataset: Dataset) -> int | None:
    """Longer side of the first test image (the resolution sweep and timing use it)."""
    return max(dataset.test[0].load().shape[:2]) if dataset.test else None


def measure_timing(
    det: Any, name: str, wdir: Path, cfg: RunConfig, info: dict, dataset: Dataset
) -> list[dict]:
    """Timing rows of a fitted detector (``benchmark.timing``), cached per fit in ``wdir``."""
    from benchmark.timing import time_detector

    path = wdir / "timing" / f"{name}-{cfg.device}.json"
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("params_key") == info["params_key"]:
            return cached["rows"]
    device = cfg.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = [
        {"detector": name, "train_seconds": info["train_seconds"]} | r
        for r in time_detector(
            det,
            device=device,
            batch_sizes=cfg.timing_batches,
            image_size=native_size(dataset),
            seed=cfg.seed,
        )
    ]
    atomic_write_json(path, {"params_key": info["params_key"], "rows": rows})
    return rows


def metric_rows(
    writer: RowWriter,
    base: dict,
    samples: list[Sample],
    scores: np.ndarray,
    threshold: float,
    by_family: bool,
) -> None:
    """Every metric over all samples (and, with ``by_family``, all reals vs each family)."""
    y = np.array([s.label for s in samples])
    subsets: dict[str, np.ndarray] = {"all": np.ones(len(samples), bool)}
    if by_family:
        fam = np.array([str(s.meta.get("family", "fake" if s.label else "real")) for s in samples])
        for f in sorted(set(fam[y == 1])):
            subsets[f] = (y == 0) | (fam == f)  # all reals vs this family's fakes
    for subset, mask in subsets.items():
        for metric, value in metrics.all_metrics(y[mask], scores[mask], threshold).items():
            writer.add(
                **(
                    base
                    | {"subset": subset, "metric": metric, "value": value, "n": int(mask.sum())}
                )
            )
