"""The fit sequence, written once: build a detector, leave out the images below its minimum
side, fit on train (validation for early stopping and the threshold only) or reload the fit
cached in the work folder.

Every caller goes through :func:`fit_detector`: the fit cell of a run, the cross-dataset cell,
and a Ray scoring task that reloads the fit its fit task saved. A fit is cached by its
parameters (:func:`params_key`, with the detector's ``fit_version``) and by the train/val subset
it saw (``data_key``), so a re-run reuses it and a changed parameter refits.

Before fitting, each detector drops the train/val/test images smaller than its minimum side
(``detector_min_side``), one log line per image (one summary line when there are many) and one
``below_min_size`` record each; the other detectors still use them, and the ``n`` of every row
says how many images a detector was scored on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.conditions.corruptions import cnndetection_augment
from benchmark.core import metrics
from benchmark.core.io import atomic_write_json
from benchmark.core.locks import folder_lock
from benchmark.core.samples import Dataset, Sample
from benchmark.data.checks import drop_below_min_side, min_size_summary
from benchmark.engine.config import RunSpec
from benchmark.engine.folders import WorkFolder
from benchmark.engine.tuning import tune_in_folder
from benchmark.plugins import create_detector, load_detector
from benchmark.protocol import NotApplicableError, detector_min_side, model_input_size

Say = Callable[[str], None]

#: A fit folder's lock waits this long for another process's fit of the same detector.
FIT_LOCK_TIMEOUT_S = 6 * 3600

#: Up to this many images below a detector's minimum get one log line each; more, one summary.
LOG_EACH_SKIP = 20


def build_detector(name: str, spec: RunSpec) -> Any:
    """Create ``name`` with its ``--set`` overrides plus the run-wide options it accepts.

    With ``recipe="paper"`` the detector starts from its registered recipe (the source
    report's own parameters); an explicit ``--set`` always wins.
    """
    overrides = dict(spec.overrides.get(name, {}))
    det = create_detector(name, **overrides)
    if spec.recipe == "paper" and det.meta.recipe:
        det = create_detector(name, **(dict(det.meta.recipe) | overrides))
    wanted = {
        "seed": spec.seed,
        "device": spec.device,
        "train_aug": spec.train_aug,
        "allow_random_init": spec.allow_random_init,
    }
    if spec.full_grid:  # a heavy backbone's lighter default grid gives way to the whole one
        wanted["condition_grid"] = "full"
    if spec.quick:
        wanted["epochs"] = 1
        if det.meta.input_size is not None:  # resolution-agnostic detectors keep their size
            wanted["input_size"] = 32
    accepted = set(det.get_params()) - set(overrides)  # an explicit --set always wins
    return det.set_params(**{k: v for k, v in wanted.items() if k in accepted})


def params_key(det: Any) -> str:
    """Cache key of a fit: the detector's parameters, plus its ``fit_version`` when set."""
    blob = json.dumps(det.get_params(), sort_keys=True, default=str)
    if det.fit_version is not None:
        blob += f"|fit_version={det.fit_version}"
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def for_detector(
    det: Any, name: str, dataset: Dataset, say: Say
) -> tuple[Dataset, list[dict[str, str]], str]:
    """``dataset`` without the images below ``det``'s minimum side, the skip records, and a
    data key for the fit cache ("" when train and val are whole).

    ``say`` gets one line per image left out, or one summary line when there are many.
    """
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
    image of one class."""
    if dropped and (not view.test or len({s.label for s in view.train}) < 2):
        what = "test image" if not view.test else "training image of one class"
        raise NotApplicableError(
            f"no {what} left after skipping {len(dropped)} image(s) below its minimum side "
            f"of {detector_min_side(det)} px"
        )


def fit_detector(
    name: str,
    spec: RunSpec,
    dataset: Dataset,
    work: WorkFolder,
    say: Say,
    *,
    base: dict[str, Any] | None = None,
    skipped: list[dict[str, str]] | None = None,
    load_only: bool = False,
) -> tuple[Any, Dataset, dict[str, Any]]:
    """Build ``name``, take its view of ``dataset`` and fit it (or reload its cached fit).

    Args:
        base: when given, receives the built detector's ``params`` (so a failing fit's row
            still says which parameters failed).
        skipped: when given, receives the ``below_min_size`` records, even if the fit fails.
        load_only: never fit; a missing fit is a ``FileNotFoundError`` (Ray scoring tasks).

    Returns:
        The fitted detector, its view of the dataset and its ``fit.json`` record.
    """
    det = build_detector(name, spec)
    if base is not None:
        base["params"] = det.get_params()
    view, dropped, data_key = for_detector(det, name, dataset, say)
    if skipped is not None:
        skipped.extend(dropped)
    check_enough_left(det, view, dropped)
    if not load_only:
        say(f"{name}: fitting on {len(view.train)} images")
    det, info = fit_or_load(det, view, work.fit(name), spec, data_key, load_only)
    return det, view, info


def fit_or_load(
    det: Any,
    dataset: Dataset,
    folder: Path,
    spec: RunSpec,
    data_key: str = "",
    load_only: bool = False,
) -> tuple[Any, dict]:
    """Fit on train (val for early stopping/threshold) or reload a fit cached in ``folder``."""
    train = dataset.train
    if spec.train_aug != "none" and "train_aug" not in det.get_params():
        train = augment_once(train, spec.train_aug, spec.seed, dataset.fingerprint)
    tuned, fitted = {"tuning": "default"}, None
    if spec.tune:  # hyper-parameters chosen on validation; tuned fits live in <folder>@val<N>
        det, fitted, tuned, folder = tune_in_folder(
            det, train, dataset.val, spec.tune, spec.seed, folder, data_key
        )
    # One process fits (or re-tunes the threshold of) a fit folder at a time: a second run of
    # the same detector waits, then finds the finished fit instead of loading half its files.
    with folder_lock(folder, timeout=FIT_LOCK_TIMEOUT_S):
        return _fit_or_load_locked(det, dataset, folder, spec, train, tuned, fitted, data_key,
                                   load_only)  # fmt: skip


def _fit_or_load_locked(
    det: Any, dataset: Dataset, folder: Path, spec: RunSpec, train: list[Sample],
    tuned: dict[str, Any], fitted: Any, data_key: str, load_only: bool,
) -> tuple[Any, dict]:  # fmt: skip
    info_file = folder / "fit.json"
    if info_file.is_file():
        info = json.loads(info_file.read_text())
        if info.get("params_key") == params_key(det) and info.get("data_key", "") == data_key:
            det = load_detector(folder)
            if info.get("threshold_rule") != spec.threshold_rule:  # same fit, other rule
                info |= _tune_on_val(det, dataset, spec.threshold_rule)
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
        **_tune_on_val(det, dataset, spec.threshold_rule),
        "pretrained": det.pretrained_,
        "n_parameters": _n_params(det),
        "input_size": model_input_size(det),
    }
    info_file.unlink(missing_ok=True)  # a crash mid-save must not leave the old fit.json valid
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
    if mode != "cnndetection":
        raise ValueError(f"unknown train_aug {mode!r}; choose 'none' or 'cnndetection'")
    out = []
    for s in samples:
        digest = hashlib.sha1(f"{seed}:{fingerprint}:{s.id}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        out.append(s.with_pixels(cnndetection_augment(s.load(), rng), train_aug=mode))
    return out


def _n_params(det: Any) -> float:
    try:
        return float(det.n_parameters())
    except Exception:  # noqa: BLE001 - a cost figure must never fail a run
        return float("nan")
