"""Scoring a fitted detector: cached per-image scores and metric rows.

Used by the cells of a run and by the cross-dataset cell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core import metrics
from benchmark.core.samples import Dataset, Sample
from benchmark.results.rows import RowWriter


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
