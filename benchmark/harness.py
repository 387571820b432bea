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
becomes a row carrying its error; the other detectors still run. The cells themselves (fit,
score one condition, retrieval, timing) are in ``cells.py``; ``run`` calls them one after the
other here, or ``ray_grid.py`` runs them as Ray tasks (``--executor ray``).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import metrics
from benchmark.data import Dataset, Sample
from benchmark.protocol import NotApplicableError, detector_min_side, model_input_size
from benchmark.results import RowWriter, atomic_write_json, git_sha, make_run_id, package_versions
from benchmark.scoring import cached_scores, native_size  # noqa: F401 - crossdata's

log = logging.getLogger(__name__)


class Tracker:
    """What a run tells its display: cells planned and done, and free-text messages.

    A *cell* is one unit of work: fitting a detector, scoring one condition, timing it. The
    CLI's display turns these into "detector k/N, condition j/M, elapsed, ETA"; this base
    class only logs, which is what library use and tests get.
    """

    def start(self, plan: list[tuple[str, int]], in_order: bool = True) -> None:
        """The run's plan: (detector, number of cells) in order. ``in_order=False``: cells of
        several detectors finish interleaved (the Ray executor)."""
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
    executor: str = "local"  # "ray": cells as tasks on a Ray cluster (benchmark/ray_grid.py)
    address: str | None = None  # Ray cluster to join (None: start Ray on this machine)
    task_cpus: int = 1  # CPUs each Ray fit/score task asks for
    full_grid: bool = False  # heavy backbones are scored on every condition too (--full-grid)


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
    if cfg.full_grid:  # a heavy backbone's lighter default grid gives way to the whole one
        wanted["condition_grid"] = "full"
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
    det: Any,
    dataset: Dataset,
    folder: Path,
    cfg: RunConfig,
    data_key: str = "",
    load_only: bool = False,
) -> tuple[Any, dict]:
    """Fit on train (val for early stopping/threshold) or reload a fit cached in ``folder``.

    ``data_key`` (from :func:`for_detector`) names the train/val subset when images below the
    detector's minimum were left out: a cached fit is reused only on the same subset.
    ``load_only``: never fit; a missing fit is a ``FileNotFoundError`` (Ray scoring tasks).
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
    if load_only:
        raise FileNotFoundError(f"{info_file}: no saved fit of {det.meta.name} matching its params")
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
    """Fit once, then score every condition; failures become error rows (serial executor)."""
    from benchmark import cells

    def note(text: str) -> None:
        progress.cell(name, text)

    det, view, fitted = cells.fit_cell(
        name, dataset, cfg, wdir, conditions, writer, note, progress.message
    )
    if det is None:
        return fitted.outcome
    for cond in fitted.conditions:
        cells.score_cell(det, cond, fitted, view, dataset, cfg, wdir, writer, note)
    if fitted.retrieval:
        cells.retrieval_cell(det, fitted, view, writer)
    if fitted.timed:
        timing_rows.extend(cells.timing_cell(det, fitted, dataset, cfg, wdir, writer, note))
    return fitted.outcome


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
    """Run every detector in ``cfg`` on ``dataset``; returns the run folder and outcomes.

    ``cfg.executor`` picks who runs the cells: ``local`` (this process, one after the other)
    or ``ray`` (tasks on a Ray cluster, :mod:`benchmark.ray_grid`); the rows are the same.
    """
    from benchmark.conditions import build_conditions

    progress = progress or Tracker()
    device = cfg.device
    if cfg.executor == "ray":  # joins or starts Ray; the device is the cluster's
        from benchmark import ray_grid

        cfg, device = ray_grid.connect(cfg)
    wdir = work_dir(cfg, dataset)
    run_id = make_run_id()
    run_dir = wdir / "runs" / run_id
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
    plan = [(name, len(plan_cells(name, conditions, cfg))) for name in cfg.detectors]
    progress.start(plan, in_order=cfg.executor != "ray")
    if cfg.executor == "ray":
        outcomes, timing_rows = ray_grid.run_grid(cfg, dataset, conditions, wdir, writer, progress)
    else:
        outcomes, timing_rows = [], []
        for name in cfg.detectors:
            outcomes.append(
                evaluate_detector(
                    name, dataset, cfg, writer, wdir, conditions, timing_rows, progress
                )
            )
            writer.flush()  # after every detector: nothing computed is lost if the next crashes
    atomic_write_json(run_dir / "timing.json", timing_rows)
    writer.flush()
    return run_dir, outcomes
