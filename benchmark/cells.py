"""The cells of a run, one function each: fit a detector, score one condition, retrieval, timing.

A *cell* is one unit of a detector's work. Both executors call these same functions: the
serial loop in :func:`benchmark.harness.evaluate_detector` hands them the run's
:class:`~benchmark.results.RowWriter` and the fitted detector in memory; the Ray executor
(:mod:`benchmark.ray_grid`) calls them inside tasks with a
:class:`~benchmark.results.RowBuffer`, after reloading the fit that :func:`fit_cell` saved in
the work folder, and replays the buffers into the run's writer. So a row is computed by the
same code whichever executor runs it, and a failing cell becomes the same error row.

``note(text)`` receives one line per finished cell (the progress display's cell events),
``say(text)`` the other messages (images left out below a detector's minimum side, ...).

A detector sees ``view``, the dataset without the images below its minimum side
(:func:`benchmark.harness.for_detector`); sizes for resizing and timing come from the whole
dataset, the same for every detector.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.data import Dataset
from benchmark.harness import (
    DetectorOutcome,
    RunConfig,
    build_detector,
    check_enough_left,
    fit_or_load,
    for_detector,
)
from benchmark.protocol import model_input_size
from benchmark.scoring import cached_scores, measure_timing, metric_rows, native_size

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
    say: Note,
) -> tuple[Any, Dataset, Fitted]:
    """Build and fit ``name`` on its view of ``dataset`` (or reload its cached fit); add its
    fit-level rows. Returns the fitted detector (None when the fit failed), its view and what
    the other cells need."""
    base = fit_base(name, dataset, cfg)
    skipped: list[dict[str, str]] = []
    try:
        det = build_detector(name, cfg)
        base["params"] = det.get_params()
        dataset, skipped, data_key = for_detector(det, name, dataset, say)
        check_enough_left(det, dataset, skipped)
        say(f"{name}: fitting on {len(dataset.train)} images")
        t0 = time.perf_counter()
        det, info = fit_or_load(det, dataset, wdir / "detectors" / name, cfg, data_key)
        secs = time.perf_counter() - t0
        note(f"fitted in {secs:.1f}s (validation AUC {info['val_roc_auc']:.3f})")
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row, not a crashed run
        note(f"FAILED during fit: {type(exc).__name__}: {exc}")
        outcome = failed(name, exc, rows, base, "fit")
        outcome.skipped = skipped
        return None, dataset, Fitted(name, outcome, base)
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
    return (
        det,
        dataset,
        Fitted(
            name,
            DetectorOutcome(name, True, fit_info=info, skipped=skipped),
            base,
            info,
            [c for c in conditions if c.mode != "native" or agnostic],
            retrieval=hasattr(det, "retrieval_metrics"),
            # file-reading baselines can't take random input
            timed=cfg.timing and not det.meta.needs_files,
        ),
    )


def fit_base(name: str, dataset: Dataset, cfg: RunConfig) -> dict[str, Any]:
    """The fields of a detector's rows before its fit says more (params, pretrained)."""
    tuning = f"val:{cfg.tune}" if cfg.tune else "default"
    return {"detector": name, "dataset": dataset.name, "split": "test", "train_aug": cfg.train_aug,
            "tuning": tuning}  # fmt: skip


def score_cell(
    det: Any, cond: Any, fitted: Fitted, view: Dataset, full: Dataset, cfg: RunConfig,
    wdir: Path, rows: Any, note: Note,
) -> None:  # fmt: skip
    """Score the detector's test images under ``cond`` (predictions cached per fit); add its
    metric rows. ``full``: the whole dataset, whose size every detector resizes back to."""
    from benchmark.conditions import render

    base, info = fitted.base, fitted.info
    try:
        target = None
        if cond.kind == "resolution" and cond.mode == "resized":
            target = model_input_size(det) or native_size(full)
        samples = render(
            view.test,
            cond,
            seed=cfg.seed,
            dataset_fingerprint=view.fingerprint,
            target_size=target,
        )
        t0 = time.perf_counter()
        cache = wdir / "predictions" / fitted.name / info["params_key"] / f"{cond.key}.npz"
        scores = cached_scores(det, samples, cache)  # keyed by the fit: a refit re-scores
        note(f"{cond.key} scored in {time.perf_counter() - t0:.1f}s")
        if cond.kind == "clean":  # per-image scores: curves, intervals, paired tests
            rows.add_scores(base | {"condition": cond.key}, samples, scores, info["threshold"])
        metric_rows(
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
    det: Any, fitted: Fitted, full: Dataset, cfg: RunConfig, wdir: Path, rows: Any, note: Note
) -> list[dict]:
    """Latency, throughput and cost rows (cached per fit and device); [] when it fails."""
    try:
        t0 = time.perf_counter()
        out = measure_timing(det, fitted.name, wdir, cfg, fitted.info, full)
        note(f"timed in {time.perf_counter() - t0:.1f}s")
        return out
    except Exception as exc:  # noqa: BLE001
        note(f"timing FAILED: {type(exc).__name__}")
        failed(fitted.name, exc, rows, fitted.base | {"condition": "timing"}, "timing")
        return []


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
