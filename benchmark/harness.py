"""Train once, evaluate every condition: the loop behind ``python -m benchmark run``.

For each detector: build it from the registry, fit on train (validation for early stopping and
threshold tuning only), save it, then score the test split under every condition (clean,
corruption × severity, resolution × mode) on the *same* fitted detector. Everything lands in
a work folder keyed by (dataset fingerprint, seed, training mode):

    <out>/<dataset>-<fingerprint>-seed<seed>-<train_aug>/
        detectors/<detector>/        fitted state + fit.json (threshold, train seconds, ...)
        predictions/<detector>/<params key>/<condition>.npz   cached test scores of that fit
        timing/<detector>.json       cached timing rows
        runs/<run_id>/rows.csv       this invocation's tidy long table

so a re-run adds only missing cells and an interrupted run resumes. A detector that raises
becomes a row carrying its error; the other detectors still run.

Before fitting, each detector drops the train/val/test images smaller than its minimum side
(``detector_min_side``: ``DetectorMeta.min_side`` or the detector's ``min_image_side()``), one
log line per image (one summary line when there are many) and one ``below_min_size`` record
each in its outcome; the other detectors still use them, and the ``n`` of every row says how
many images a detector was scored on.
"""

from __future__ import annotations

import hashlib
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
from benchmark.protocol import NotApplicableError, detector_min_side, model_input_size
from benchmark.results import RowWriter, atomic_write_json, git_sha, make_run_id, package_versions
from benchmark.scoring import cached_scores, measure_timing, metric_rows, native_size

log = logging.getLogger(__name__)


class Tracker:
    """What a run tells its display: cells planned and done, and free-text messages.

    A *cell* is one unit of work: fitting a detector, scoring one condition, timing it. The
    CLI's display turns these into "detector k/N, condition j/M, elapsed, ETA"; this base
    class only logs, which is what library use and tests get.
    """

    def start(self, plan: list[tuple[str, int]]) -> None:
        """The run's plan: (detector, number of cells) in order."""
        log.info("plan: %s", plan)

    def cell(self, detector: str, text: str) -> None:
        """One cell of ``detector`` finished (or failed); ``text`` says which."""
        log.info("%s: %s", detector, text)

    def message(self, text: str) -> None:
        log.info("%s", text)


Progress = Tracker


@dataclass(frozen=True)
class RunConfig:
    """One benchmark invocation. Defaults are what ``run --all`` uses."""

    detectors: tuple[str, ...]
    out: Path = Path("runs")
    seed: int = 0
    device: str = "auto"
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = (1, 3, 5)
    resolutions: tuple[int, ...] = ()
    timing: bool = True
    timing_batches: tuple[int, ...] = (1, 32)
    train_aug: str = "none"
    # Youden's J by default: max-F1 picks "everything is fake" whenever a weak detector's best
    # F1 is below that of the trivial rule (2p / (1 + p): 0.667 at 50 % fakes).
    threshold_rule: str = "youden"
    allow_random_init: bool = False
    reference: str = "scratch_cnn"
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick: bool = False
    tune: int = 0  # > 0: try up to this many configurations per detector on val (tuning.py)
    recipe: str = "cpu"  # "paper": each deep detector's source-report recipe (for a GPU)


@dataclass
class DetectorOutcome:
    name: str
    ok: bool
    error: str = ""
    fit_info: dict[str, Any] = field(default_factory=dict)
    # images below this detector's minimum side, left out for it: ``below_min_size`` records
    skipped: list[dict[str, str]] = field(default_factory=list)


#: Up to this many images below a detector's minimum get one log line each; more, one summary.
LOG_EACH_SKIP = 20


def work_dir(cfg: RunConfig, dataset: Dataset) -> Path:
    return (
        Path(cfg.out) / f"{dataset.name}-{dataset.fingerprint[:10]}-seed{cfg.seed}-{cfg.train_aug}"
    )


def build_detector(name: str, cfg: RunConfig) -> Any:
    """Create ``name`` with its ``--set`` overrides plus the run-wide options it accepts."""
    from benchmark.registry import create_detector

    overrides = cfg.overrides.get(name, {})
    det = create_detector(name, **overrides)
    if cfg.recipe == "paper" and hasattr(det, "paper_recipe"):  # the report's own setting
        det = create_detector(name, **(det.paper_recipe() | overrides))
    wanted = {
        "seed": cfg.seed,
        "device": cfg.device,
        "train_aug": cfg.train_aug,
        "allow_random_init": cfg.allow_random_init,
    }
    if cfg.quick:
        wanted["epochs"] = 1
        if det.meta.input_size is not None:  # resolution-agnostic detectors keep their size
            wanted["input_size"] = 32
    accepted = set(det.get_params()) - set(overrides)  # an explicit --set always wins
    return det.set_params(**{k: v for k, v in wanted.items() if k in accepted})


def params_key(det: Any) -> str:
    """Cache key of a fit: the detector's parameters, plus its ``fit_version`` when set."""
    blob = json.dumps(det.get_params(), sort_keys=True, default=str)
    if getattr(det, "fit_version", None) is not None:
        blob += f"|fit_version={det.fit_version}"
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def for_detector(
    det: Any, name: str, dataset: Dataset, say: Callable[[str], None]
) -> tuple[Dataset, list[dict[str, str]], str]:
    """``dataset`` without the images below ``det``'s minimum side, the skip records, and a
    data key for the fit cache ("" when train and val are whole, as before minimum sizes).

    ``say`` gets one line per image left out, or one summary line when there are many.
    :func:`check_enough_left` then says whether the detector can still run.
    """
    from benchmark.data import drop_below_min_side, min_size_summary

    min_side = detector_min_side(det)
    view, dropped = drop_below_min_side(dataset, min_side, name)
    if len(dropped) > LOG_EACH_SKIP:
        say(min_size_summary(name, min_side, dropped))
    for d in dropped if len(dropped) <= LOG_EACH_SKIP else ():
        say(f"{name}: skipped {d['file']} ({d['split']}): {d['reason']}, {d['detail']}")
    data_key = ""
    if any(d["split"] != "test" for d in dropped):
        ids = [f"{split}:{s.id}" for split in ("train", "val") for s in view.splits[split]]
        data_key = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:12]
    return view, dropped, data_key


def check_enough_left(det: Any, view: Dataset, dropped: list[dict[str, str]]) -> None:
    """Raise ``NotApplicableError`` when the minimum size left no test image, or no training
    image of one class (the skipped images are still counted: the caller holds them)."""
    if dropped and (not view.test or len({s.label for s in view.train}) < 2):
        what = "test image" if not view.test else "training image of one class"
        raise NotApplicableError(
            f"no {what} left after skipping {len(dropped)} image(s) below its minimum side "
            f"of {detector_min_side(det)} px"
        )


def fit_or_load(
    det: Any, dataset: Dataset, folder: Path, cfg: RunConfig, data_key: str = ""
) -> tuple[Any, dict]:
    """Fit on train (val for early stopping/threshold) or reload a fit cached in ``folder``.

    ``data_key`` (from :func:`for_detector`) names the train/val subset when images below the
    detector's minimum were left out: a cached fit is reused only on the same subset.
    """
    from benchmark.protocol import load_detector

    train = dataset.train
    if cfg.train_aug != "none" and "train_aug" not in det.get_params():
        train = augment_once(train, cfg.train_aug, cfg.seed, dataset.fingerprint)
    tuned, fitted = {"tuning": "default"}, None
    if cfg.tune:  # hyper-parameters chosen on validation; tuned fits live in <folder>@val<N>
        from benchmark.tuning import tune_in_folder

        det, fitted, tuned, folder = tune_in_folder(
            det, train, dataset.val, cfg.tune, cfg.seed, folder, data_key
        )
    info_file = folder / "fit.json"
    if info_file.is_file():
        info = json.loads(info_file.read_text())
        if info.get("params_key") == params_key(det) and info.get("data_key", "") == data_key:
            det = load_detector(folder)
            if info.get("threshold_rule") != cfg.threshold_rule:  # same fit, other rule
                info |= _tune_on_val(det, dataset, cfg.threshold_rule)
                atomic_write_json(info_file, info)
            return det, info
    if fitted is not None:  # the search's fit of the winner on train is its refit
        det, train_seconds = fitted
    else:
        t0 = time.perf_counter()
        det.fit(train, dataset.val)
        train_seconds = time.perf_counter() - t0
    info = {
        **tuned,
        "detector": det.meta.name,
        "params_key": params_key(det),
        "data_key": data_key,
        "params": det.get_params(),
        "train_seconds": train_seconds,
        **_tune_on_val(det, dataset, cfg.threshold_rule),
        "pretrained": getattr(det, "pretrained_", ""),
        "n_parameters": _n_params(det),
        "input_size": model_input_size(det),
    }
    det.save(folder)
    atomic_write_json(info_file, info)  # written last: its presence means the fit is complete
    return det, info


def _tune_on_val(det: Any, dataset: Dataset, rule: str) -> dict[str, Any]:
    """Decision threshold (by ``rule``) and ROC-AUC on the validation split; 0.5/NaN without."""
    threshold, val_auc = 0.5, float("nan")
    if dataset.val:
        val_scores = det.predict_proba(dataset.val)[:, 1]
        val_y = [s.label for s in dataset.val]
        threshold = metrics.tune_threshold(val_y, val_scores, rule)
        val_auc = metrics.roc_auc(val_y, val_scores)
    return {"threshold": threshold, "threshold_rule": rule, "val_roc_auc": val_auc}


def augment_once(samples: list[Sample], mode: str, seed: int, fingerprint: str) -> list[Sample]:
    """Training-set augmentation for detectors without an online ``train_aug`` (classical)."""
    from benchmark.corruptions import cnndetection_augment

    if mode != "cnndetection":
        raise ValueError(f"unknown train_aug {mode!r}; choose 'none' or 'cnndetection'")
    out = []
    for s in samples:
        digest = hashlib.sha1(f"{seed}:{fingerprint}:{s.id}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        out.append(s.with_pixels(cnndetection_augment(s.load(), rng), train_aug=mode))
    return out


def _n_params(det: Any) -> float:
    if hasattr(det, "n_parameters"):
        try:
            return float(det.n_parameters())
        except Exception:  # noqa: BLE001 - a cost figure must never fail a run
            return float("nan")
    return float("nan")


def evaluate_detector(
    name: str,
    dataset: Dataset,
    cfg: RunConfig,
    writer: RowWriter,
    wdir: Path,
    conditions: list[Any],
    timing_rows: list[dict],
    progress: Progress,
) -> DetectorOutcome:
    """Fit once, then score every condition; failures become error rows."""
    from benchmark.conditions import render

    def cell(key: str, text: str) -> None:
        progress.cell(name, text)

    base = {"detector": name, "dataset": dataset.name, "split": "test", "train_aug": cfg.train_aug}
    base["tuning"] = f"val:{cfg.tune}" if cfg.tune else "default"
    skipped: list[dict[str, str]] = []
    full = dataset  # sizes for resizing and timing: the same for every detector
    try:
        det = build_detector(name, cfg)
        base["params"] = det.get_params()
        dataset, skipped, data_key = for_detector(det, name, dataset, progress.message)
        check_enough_left(det, dataset, skipped)
        progress.message(f"{name}: fitting on {len(dataset.train)} images")
        t0 = time.perf_counter()
        det, info = fit_or_load(det, dataset, wdir / "detectors" / name, cfg, data_key)
        secs = time.perf_counter() - t0
        cell("fit", f"fitted in {secs:.1f}s (validation AUC {info['val_roc_auc']:.3f})")
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row, not a crashed run
        progress.cell(name, f"FAILED during fit: {type(exc).__name__}: {exc}")
        outcome = _failed(name, exc, writer, base, "fit")
        outcome.skipped = skipped
        return outcome
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
        writer.add(
            **(
                base
                | {
                    "split": split,
                    "condition": "fit" if split == "train" else "clean",
                    "metric": metric,
                    "value": value,
                    "n": n,
                }
            )
        )
    agnostic = model_input_size(det) is None
    if hasattr(det, "select_conditions"):  # e.g. a slow deep detector's lighter grid
        conditions = det.select_conditions(conditions)
    for cond in conditions:
        if cond.mode == "native" and not agnostic:
            continue
        try:
            target = None
            if cond.kind == "resolution" and cond.mode == "resized":
                target = model_input_size(det) or native_size(full)
            samples = render(
                dataset.test,
                cond,
                seed=cfg.seed,
                dataset_fingerprint=dataset.fingerprint,
                target_size=target,
            )
            t0 = time.perf_counter()
            cache = wdir / "predictions" / name / info["params_key"] / f"{cond.key}.npz"
            scores = cached_scores(det, samples, cache)  # keyed by the fit: a refit re-scores
            cell(cond.key, f"{cond.key} scored in {time.perf_counter() - t0:.1f}s")
            if cond.kind == "clean":  # per-image scores: curves, intervals, paired tests
                where = base | {"condition": cond.key}
                writer.add_scores(where, samples, scores, info["threshold"])
            metric_rows(
                writer,
                base | cond.as_row() | {"condition": cond.key},
                samples,
                scores,
                info["threshold"],
                by_family=cond.kind == "clean",
            )
        except Exception as exc:  # noqa: BLE001
            cell(cond.key, f"{cond.key} FAILED: {type(exc).__name__}")
            _failed(name, exc, writer, base | {"condition": cond.key}, f"condition {cond.key}")
    if hasattr(det, "retrieval_metrics"):
        try:
            for metric, value in det.retrieval_metrics(dataset.test).items():
                writer.add(
                    **(
                        base
                        | {
                            "condition": "clean",
                            "subset": "retrieval",
                            "metric": metric,
                            "value": value,
                            "n": len(dataset.test),
                        }
                    )
                )
        except Exception as exc:  # noqa: BLE001
            _failed(name, exc, writer, base | {"condition": "retrieval"}, "retrieval metrics")
    if cfg.timing and not det.meta.needs_files:  # file-reading baselines can't take random input
        try:
            t0 = time.perf_counter()
            timing_rows.extend(measure_timing(det, name, wdir, cfg, info, full))
            cell("timing", f"timed in {time.perf_counter() - t0:.1f}s")
        except Exception as exc:  # noqa: BLE001
            cell("timing", f"timing FAILED: {type(exc).__name__}")
            _failed(name, exc, writer, base | {"condition": "timing"}, "timing")
    return DetectorOutcome(name, True, fit_info=info, skipped=skipped)


def _failed(
    name: str, exc: BaseException, writer: RowWriter, base: dict, stage: str
) -> DetectorOutcome:
    from benchmark.protocol import NotApplicableError

    if isinstance(exc, NotApplicableError):
        writer.add(**(base | {"metric": "not_applicable", "error": f"not applicable: {exc}"}))
        log.info("%s: not applicable (%s)", name, exc)
        return DetectorOutcome(name, True, error=f"not applicable: {exc}")
    msg = f"{stage}: {type(exc).__name__}: {exc}"
    log.error("%s failed during %s\n%s", name, stage, traceback.format_exc())
    writer.add(**(base | {"metric": "error", "error": msg}))
    return DetectorOutcome(name, False, error=msg)


def plan_cells(name: str, conditions: list[Any], cfg: RunConfig) -> list[str]:
    """The cells a detector will go through: fit, its conditions, timing (for ETAs)."""
    from benchmark.registry import DETECTORS

    meta = DETECTORS.get(name).meta
    agnostic = meta.input_size is None
    cells = ["fit"] + [c.key for c in conditions if c.mode != "native" or agnostic]
    return cells + (["timing"] if cfg.timing and not meta.needs_files else [])


def run(
    cfg: RunConfig, dataset: Dataset, progress: Progress | None = None
) -> tuple[Path, list[DetectorOutcome]]:
    """Run every detector in ``cfg`` on ``dataset``; returns the run folder and outcomes."""
    from benchmark.conditions import build_conditions

    progress = progress or Tracker()
    wdir = work_dir(cfg, dataset)
    run_id = make_run_id()
    run_dir = wdir / "runs" / run_id
    device = cfg.device
    if device == "auto":  # record what actually ran, not the request
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    writer = RowWriter(
        run_dir / "rows.csv",
        {
            "run_id": run_id,
            "device": device,
            "seed": cfg.seed,
            "git_sha": git_sha(),
            "versions": package_versions(),
        },
    )
    atomic_write_json(
        run_dir / "config.json",
        {
            "config": cfg.__dict__,
            "dataset": {
                "name": dataset.name,
                "fingerprint": dataset.fingerprint,
                "summary": dataset.summary(),
            },
        },
    )
    native = native_size(dataset) or 0
    resolutions = [r for r in cfg.resolutions if r < native]  # degrading never upscales
    if len(resolutions) < len(cfg.resolutions):
        progress.message(
            f"resolutions >= the test images' {native} px are the clean condition: skipped"
        )
    conditions = build_conditions(
        list(cfg.corruptions), list(cfg.severities), resolutions, resolution_agnostic=True
    )
    outcomes: list[DetectorOutcome] = []
    timing_rows: list[dict] = []
    progress.start([(name, len(plan_cells(name, conditions, cfg))) for name in cfg.detectors])
    for name in cfg.detectors:
        outcomes.append(
            evaluate_detector(name, dataset, cfg, writer, wdir, conditions, timing_rows, progress)
        )
        writer.flush()  # after every detector: nothing computed is lost if the next one crashes
    atomic_write_json(run_dir / "timing.json", timing_rows)
    writer.flush()
    return run_dir, outcomes
