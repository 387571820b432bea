"""A work folder's paths, joined in one place.

A run's fits, cached predictions and timings live in a work folder keyed by (dataset
fingerprint, seed, training mode), so a re-run adds only missing cells and an interrupted run
resumes::

    <out>/<dataset>-<fingerprint>-seed<seed>-<train_aug>/
        detectors/<detector>/        fitted state + fit.json (threshold, train seconds, ...)
        predictions/<detector>/<params key>/<condition>.npz   cached test scores of that fit
        timing/<detector>-<device>.json                         cached timing rows
        runs/<run_id>/rows.csv       one invocation's tidy long table (and scores.csv, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.core.samples import Dataset


@dataclass(frozen=True)
class WorkFolder:
    """The work folder of one dataset, seed and training mode."""

    root: Path

    @classmethod
    def of(cls, out: str | Path, dataset: Dataset, seed: int, train_aug: str) -> WorkFolder:
        name = f"{dataset.name}-{dataset.fingerprint[:10]}-seed{seed}-{train_aug}"
        return cls(Path(out) / name)

    @property
    def detectors(self) -> Path:
        """Where every fitted detector has its folder."""
        return self.root / "detectors"

    def fit(self, detector: str) -> Path:
        """The folder of ``detector``'s default fit (tuned fits sit beside it, ``@val<N>``)."""
        return self.detectors / detector

    def predictions(self, detector: str, params_key: str, name: str) -> Path:
        """Cached scores of one fit (``params_key``) on one condition or test set."""
        return self.root / "predictions" / detector / params_key / f"{name}.npz"

    def timing(self, detector: str, device: str) -> Path:
        return self.root / "timing" / f"{detector}-{device}.json"

    def run(self, run_id: str) -> Path:
        """The folder of one invocation: ``rows.csv``, ``scores.csv``, ``config.json``, ..."""
        return self.root / "runs" / run_id
