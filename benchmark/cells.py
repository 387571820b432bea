"""The cells of a run, one function each: fit a detector, score one condition, retrieval, timing.

A *cell* is one unit of a detector's work. Both executors call these same functions: the
serial loop in :func:`benchmark.harness.evaluate_detector` hands them the run's
:class:`~benchmark.results.RowWriter` and the fitted detector in memory; the Ray executor
(:mod:`benchmark.ray_grid`) calls them inside tasks with a
:class:`~benchmark.results.RowBuffer`, after reloading the fit that :func:`fit_cell` saved in
the work folder, and replays the buffers into the run's writer. So a row is computed by the
same code whichever executor runs it, and a failing cell becomes the same error row.

``note(text)`` receives one line per finished cell (the progress display's cell events).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import metrics
from benchmark.data import Dataset, Sample
from benchmark.harness import (
    DetectorOutcome,
    RunConfig,
    build_detector,
    cached_scores,
    fit_or_load,
)
from benchmark.protocol import model_input_size

log = logging.getLogger(__name__)

Note = Callable[[str], None]


@dataclass
class Fitted:
    """What the fit cell tells the cells after it; picklable (the detector stays behind)."""

    name: str
    outcome: DetectorOutcome
    base: dict[str, Any] = field(default_factory=dict)  # fields shared by the detector's rows
    info: dict[str, Any] = field(default_factory=dict)  # fit.json
    conditions: list[Any] = field(default_factory=list)  # to score, in order
    retrieval: bool = False
    timed: bool = False


def fit_cell(
    name: str,
    dataset: Dataset,
    cfg: RunConfig,
    wdir: Path,
    conditions: list[Any],
    rows: Any,
    note: Note,
) -> tuple[Any, Fitted]:
    """Build and fit ``name`` (or reload its cached fit); add its fit-level rows.

    Returns the fitted detector (None when the fit failed) and what the other cells need.
    """
    base = fit_base(name, dataset, cfg)
    try:
        det = build_detector(name, cfg)
        base["params"] = det.get_params()
        t0 = time.perf_counter()
        det, info = fit_or_load(det, dataset, wdir / "detectors" / name, cfg)
        secs = time.perf_counter() - t0
        note(f"fitted in {secs:.1f}s (validation AUC {info['val_roc_auc']:.3f})")
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row, not a crashed run
        note(f"FAILED during fit: {type(exc).__name__}: {exc}")
        return None, Fitted(name, failed(name, exc, rows, base, "fit"), base)
    base["pretrained"] = info.get("pretrained", "")
    base |= {"params": det.get_params(), "tuning": info.get("tuning", "default")}
    tuned_rows = [
        ("val" if m.startswith("default_val") else "train", m, info[m], len(dataset.val))
        for m in ("n_configs_tried", "tuning_seconds", "default_val_roc_auc")
        if m in info
    ]
    for split, metric, value, n in (
        *tuned_rows,
        ("train", "train_seconds", info["train_seconds"], len(dataset.train)),
        ("val", "threshold_tuned", info["threshold"], len(dataset.val)),
        ("val", "roc_auc", info["val_roc_auc"], len(dataset.val)),
        ("train", "n_parameters", info["n_parameters"], ""),
    ):
        condition = "fit" if split == "train" else "clean"
        rows.add(**(base | {"split": split, "condition": condition, "metric": metric,
                            "value": value, "n": n}))  # fmt: skip
    agnostic = model_input_size(det) is None
    if hasattr(det, "select_conditions"):  # e.g. a slow deep detector's lighter grid
        conditions = det.select_conditions(conditions)
    return det, Fitted(
        name,
        DetectorOutcome(name, True, fit_info=info),
        base,
        info,
        [c for c in conditions if c.mode != "native" or agnostic],
        retrieval=hasattr(det, "retrieval_metrics"),
        # file-reading baselines can't take random input
        timed=cfg.timing and not det.meta.needs_files,
    )


def fit_base(name: str, dataset: Dataset, cfg: RunConfig) -> dict[str, Any]:
    """The fields of a detector's rows before its fit says more (params, pretrained)."""
    tuning = f"val:{cfg.tune}" if cfg.tune else "default"
    return {"detector": name, "dataset": dataset.name, "split": "test", "train_aug": cfg.train_aug,
            "tuning": tuning}  # fmt: skip


def score_cell(
    det: Any, cond: Any, fitted: Fitted, dataset: Dataset, cfg: RunConfig, wdir: Path,
    rows: Any, note: Note,
) -> None:  # fmt: skip
    """Score the test split under ``cond`` (predictions cached per fit); add its metric rows."""
    from benchmark.conditions import render

    base, info = fitted.base, fitted.info
    try:
        target = None
        if cond.kind == "resolution" and cond.mode == "resized":
            target = model_input_size(det) or native_size(dataset)
        samples = render(
            dataset.test,
            cond,
            seed=cfg.seed,
            dataset_fingerprint=dataset.fingerprint,
            target_size=target,
        )
        t0 = time.perf_counter()
        cache = wdir / "predictions" / fitted.name / info["params_key"] / f"{cond.key}.npz"
        scores = cached_scores(det, samples, cache)  # keyed by the fit: a refit re-scores
        note(f"{cond.key} scored in {time.perf_counter() - t0:.1f}s")
        if cond.kind == "clean":  # per-image scores: curves, intervals, paired tests
            rows.add_scores(base | {"condition": cond.key}, samples, scores, info["threshold"])
        _metric_rows(
            rows,
            base | cond.as_row() | {"condition": cond.key},
            samples,
            scores,
            info["threshold"],
            by_family=cond.kind == "clean",
        )
    except Exception as exc:  # noqa: BLE001
        note(f"{cond.key} FAILED: {type(exc).__name__}")
        failed(fitted.name, exc, rows, base | {"condition": cond.key}, f"condition {cond.key}")


def retrieval_cell(det: Any, fitted: Fitted, dataset: Dataset, rows: Any) -> None:
    """A retrieval detector's own metrics (precision@k, ...) on the clean test split."""
    base = fitted.base | {"condition": "clean"}
    try:
        for metric, value in det.retrieval_metrics(dataset.test).items():
            rows.add(**(base | {"subset": "retrieval", "metric": metric, "value": value,
                                "n": len(dataset.test)}))  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        where = fitted.base | {"condition": "retrieval"}
        failed(fitted.name, exc, rows, where, "retrieval metrics")


def timing_cell(
    det: Any, fitted: Fitted, dataset: Dataset, cfg: RunConfig, wdir: Path, rows: Any, note: Note
) -> list[dict]:
    """Latency, throughput and cost rows (cached per fit and device); [] when it fails."""
    from benchmark.timing import time_detector

    name, info = fitted.name, fitted.info
    try:
        t0 = time.perf_counter()
        path = wdir / "timing" / f"{name}-{cfg.device}.json"
        if path.is_file():
            cached = json.loads(path.read_text())
            if cached.get("params_key") == info["params_key"]:
                note(f"timed in {time.perf_counter() - t0:.1f}s")
                return cached["rows"]
        device = cfg.device
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        out = [
            {"detector": name, "train_seconds": info["train_seconds"]} | r
            for r in time_detector(
                det,
                device=device,
                batch_sizes=cfg.timing_batches,
                image_size=native_size(dataset),
                seed=cfg.seed,
            )
        ]
        from benchmark.results import atomic_write_json

        atomic_write_json(path, {"params_key": info["params_key"], "rows": out})
        note(f"timed in {time.perf_counter() - t0:.1f}s")
        return out
    except Exception as exc:  # noqa: BLE001
        note(f"timing FAILED: {type(exc).__name__}")
        failed(name, exc, rows, fitted.base | {"condition": "timing"}, "timing")
        return []


def native_size(dataset: Dataset) -> int | None:
    return max(dataset.test[0].load().shape[:2]) if dataset.test else None


def _metric_rows(
    rows: Any,
    base: dict,
    samples: list[Sample],
    scores: np.ndarray,
    threshold: float,
    by_family: bool,
) -> None:
    y = np.array([s.label for s in samples])
    subsets: dict[str, np.ndarray] = {"all": np.ones(len(samples), bool)}
    if by_family:
        fam = np.array([str(s.meta.get("family", "fake" if s.label else "real")) for s in samples])
        for f in sorted(set(fam[y == 1])):
            subsets[f] = (y == 0) | (fam == f)  # all reals vs this family's fakes
    for subset, mask in subsets.items():
        for metric, value in metrics.all_metrics(y[mask], scores[mask], threshold).items():
            rows.add(**(base | {"subset": subset, "metric": metric, "value": value,
                                "n": int(mask.sum())}))  # fmt: skip


def failed(name: str, exc: BaseException, rows: Any, base: dict, stage: str) -> DetectorOutcome:
    """The row of a failed cell (or of a detector that does not apply to this data)."""
    from benchmark.protocol import NotApplicableError

    if isinstance(exc, NotApplicableError):
        rows.add(**(base | {"metric": "not_applicable", "error": f"not applicable: {exc}"}))
        log.info("%s: not applicable (%s)", name, exc)
        return DetectorOutcome(name, True, error=f"not applicable: {exc}")
    msg = f"{stage}: {type(exc).__name__}: {exc}"
    log.error("%s failed during %s\n%s", name, stage, traceback.format_exc())
    rows.add(**(base | {"metric": "error", "error": msg}))
    return DetectorOutcome(name, False, error=msg)
