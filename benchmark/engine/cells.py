"""The cells of a run, one function each: fit a detector, score one condition, retrieval, timing.

A *cell* is one unit of a detector's work, planned in :mod:`benchmark.engine.plan`. Every
executor calls these same functions: the serial executor hands them the run's
:class:`~benchmark.results.rows.RowWriter` and keeps the fitted detector in memory; the Ray
executor calls them inside tasks with a :class:`~benchmark.results.rows.RowBuffer`, after
reloading the fit that :func:`fit_cell` saved in the work folder, and replays the buffers into
the run's writer. So a row is computed by the same code whichever executor runs it, and a
failing cell becomes the same error row.

``note(text)`` receives one line per finished cell (the progress display's cell events),
``say(text)`` the other messages (images left out below a detector's minimum side, ...).

A detector sees ``view``, the dataset without the images below its minimum side; sizes for
resizing and timing come from the whole dataset, the same for every detector.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmark.conditions.grid import Condition, render
from benchmark.core.io import atomic_write_json
from benchmark.core.samples import Dataset
from benchmark.engine.fitting import fit_detector
from benchmark.engine.plan import DetectorPlan, Plan
from benchmark.engine.scoring import cached_scores, metric_rows, native_size
from benchmark.engine.timing import time_detector
from benchmark.protocol import NotApplicableError, model_input_size

log = logging.getLogger(__name__)

Note = Callable[[str], None]


@dataclass
class DetectorOutcome:
    """How a detector's run ended: ok or its error, its fit record, the images it skipped."""

    name: str
    ok: bool
    error: str = ""
    fit_info: dict[str, Any] = field(default_factory=dict)
    # images below this detector's minimum side, left out for it: ``below_min_size`` records
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Fitted:
    """What the fit cell tells the cells after it; picklable (the detector stays behind)."""

    name: str
    outcome: DetectorOutcome
    base: dict[str, Any] = field(default_factory=dict)  # fields shared by the detector's rows
    info: dict[str, Any] = field(default_factory=dict)  # fit.json

    @property
    def ok(self) -> bool:
        return bool(self.info)


def fit_cell(
    plan: Plan, detector: DetectorPlan, rows: Any, note: Note, say: Note
) -> tuple[Any, Dataset, Fitted]:
    """Build and fit ``detector`` on its view of the plan's dataset (or reload its cached fit);
    add its fit-level rows. Returns the fitted detector (None when the fit failed), its view
    and what the other cells need."""
    name, dataset = detector.name, plan.dataset
    base = fit_base(name, plan)
    skipped: list[dict[str, str]] = []
    try:
        if detector.not_applicable:  # its pretrained weights are not on this machine
            raise NotApplicableError(detector.not_applicable)
        if detector.error:  # built at planning, but its parameters do not make a grid
            raise ValueError(detector.error)
        t0 = time.perf_counter()
        det, dataset, info = fit_detector(
            name, plan.spec, dataset, plan.work, say, base=base, skipped=skipped
        )
        secs = time.perf_counter() - t0
        note(f"fitted in {secs:.1f}s (validation AUC {info['val_roc_auc']:.3f})")
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row, not a crashed run
        if isinstance(exc, NotApplicableError):
            note(f"not applicable: {exc}")
        else:
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
    outcome = DetectorOutcome(name, True, fit_info=info, skipped=skipped)
    return det, dataset, Fitted(name, outcome, base, info)


def fit_base(name: str, plan: Plan) -> dict[str, Any]:
    """The fields of a detector's rows before its fit says more (params, pretrained)."""
    spec = plan.spec
    tuning = f"val:{spec.tune}" if spec.tune else "default"
    return {"detector": name, "dataset": plan.dataset.name, "split": "test",
            "train_aug": spec.train_aug, "tuning": tuning}  # fmt: skip


def score_cell(
    det: Any, cond: Condition, fitted: Fitted, view: Dataset, plan: Plan, rows: Any, note: Note
) -> None:
    """Score the detector's test images under ``cond`` (predictions cached per fit); add its
    metric rows. Resized conditions go back to the model's input, else to the size of the
    whole dataset's test images."""
    base, info = fitted.base, fitted.info
    try:
        target = None
        if cond.kind == "resolution" and cond.mode == "resized":
            target = model_input_size(det) or native_size(plan.dataset)
        samples = render(
            view.test,
            cond,
            seed=plan.spec.seed,
            dataset_fingerprint=view.fingerprint,
            target_size=target,
        )
        t0 = time.perf_counter()
        cache = plan.work.predictions(fitted.name, info["params_key"], cond.key)
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
            video_agg=plan.spec.video_agg,
        )
    except Exception as exc:  # noqa: BLE001
        note(f"{cond.key} FAILED: {type(exc).__name__}")
        failed(fitted.name, exc, rows, base | {"condition": cond.key}, f"condition {cond.key}")


def retrieval_cell(det: Any, fitted: Fitted, view: Dataset, rows: Any) -> None:
    """A retrieval detector's own metrics (precision@k, ...) on the clean test split."""
    base = fitted.base | {"condition": "clean"}
    try:
        for metric, value in det.retrieval_metrics(view.test).items():
            rows.add(**(base | {"subset": "retrieval", "metric": metric, "value": value,
                                "n": len(view.test)}))  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        where = fitted.base | {"condition": "retrieval"}
        failed(fitted.name, exc, rows, where, "retrieval metrics")


def timing_cell(det: Any, fitted: Fitted, plan: Plan, rows: Any, note: Note) -> list[dict]:
    """Latency, throughput and cost rows (cached per fit and device); [] when it fails."""
    try:
        t0 = time.perf_counter()
        out = measure_timing(det, fitted.name, plan, fitted.info)
        note(f"timed in {time.perf_counter() - t0:.1f}s")
        return out
    except Exception as exc:  # noqa: BLE001
        note(f"timing FAILED: {type(exc).__name__}")
        failed(fitted.name, exc, rows, fitted.base | {"condition": "timing"}, "timing")
        return []


def failed(name: str, exc: BaseException, rows: Any, base: dict, stage: str) -> DetectorOutcome:
    """The row of a failed cell (or of a detector that does not apply to this data)."""
    if isinstance(exc, NotApplicableError):
        rows.add(**(base | {"metric": "not_applicable", "error": f"not applicable: {exc}"}))
        log.info("%s: not applicable (%s)", name, exc)
        return DetectorOutcome(name, True, error=f"not applicable: {exc}")
    msg = f"{stage}: {type(exc).__name__}: {exc}"
    log.error("%s failed during %s\n%s", name, stage, traceback.format_exc())
    rows.add(**(base | {"metric": "error", "error": msg}))
    return DetectorOutcome(name, False, error=msg)


def measure_timing(det: Any, name: str, plan: Plan, info: dict) -> list[dict]:
    """Timing rows of a fitted detector (``engine.timing``), cached per fit in the work folder.

    Timed on the plan's device, at the size of the whole dataset's test images.
    """
    path = plan.work.timing(name, plan.spec.device)
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("params_key") == info["params_key"]:
            return cached["rows"]
    rows = [
        {"detector": name, "train_seconds": info["train_seconds"]} | r
        for r in time_detector(
            det,
            device=plan.device,
            batch_sizes=plan.spec.timing_batches,
            image_size=native_size(plan.dataset),
            seed=plan.spec.seed,
        )
    ]
    atomic_write_json(path, {"params_key": info["params_key"], "rows": rows})
    return rows
