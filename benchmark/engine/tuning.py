"""Hyper-parameters chosen on the validation split, with the same budget for every detector.

Each detector class may declare ``search_space``: a ``ClassVar`` mapping a parameter name to
its candidate values (``{"C": (0.01, 0.1, 1.0, 10.0)}``). ``run --tune N`` then tries up to
``N`` configurations per detector: the defaults first, then the whole grid when it has at most
``N`` points, else ``N - 1`` more drawn without replacement by scikit-learn's
``ParameterSampler`` with the run's seed. The search itself is scikit-learn's ``GridSearchCV``
over a ``PredefinedSplit`` whose only fold fits on the train split and scores ROC-AUC on the
validation split; the test split is never seen. Ties keep the earlier candidate, so the
defaults win unless something beats them on validation.

Every candidate is fitted on train exactly as the harness fits a detector (validation passed
along for early stopping, inner grids and calibration), so the winner's fit from the search
*is* its refit on train: it is kept rather than recomputed. The choice is cached in the
tuned fit's folder (``detectors/<name>@val<N>/tuning.json``), so re-runs do not search again.

Rows of a tuned fit carry ``tuning="val:N"`` (default fits: ``"default"``), the chosen
``params``, and the metrics ``n_configs_tried`` and ``tuning_seconds``;
:func:`benchmark.report.tuning.side_by_side` puts default and tuned results of the same detector
next to each other.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.events import emit
from benchmark.core.io import atomic_write_json
from benchmark.core.samples import Sample

#: ``--tune`` given without a number tries this many configurations per detector.
DEFAULT_TUNE_N = 8
DEFAULT_LABEL = "default"


def tuning_label(n: int) -> str:
    """The row field that tells tuned from default fits: ``"default"`` or ``"val:N"``."""
    return f"val:{n}" if n > 0 else DEFAULT_LABEL


def search_space(det: Any) -> dict[str, tuple]:
    """The detector's declared ``search_space`` (empty when it declares none).

    Raises:
        ValueError: when a key is not a parameter of the detector or has no candidates.
    """
    space = dict(getattr(type(det), "search_space", None) or {})
    params = det.get_params()
    for key, values in space.items():
        if key not in params:
            raise ValueError(
                f"{det.meta.name}: search_space names {key!r}, which is not one of its "
                f"parameters ({', '.join(sorted(params))})"
            )
        if len(tuple(values)) == 0:
            raise ValueError(f"{det.meta.name}: search_space[{key!r}] has no candidate values")
    return {k: tuple(v) for k, v in space.items()}


def candidates(det: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """Up to ``n`` configurations (dicts of the searched parameters), the defaults first."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if n < 1:
        raise ValueError(f"--tune needs at least 1 configuration, got {n}")
    space = search_space(det)
    if not space:
        return [{}]
    params = det.get_params()
    default = {k: params[k] for k in space}
    grid = ParameterGrid({k: list(v) for k, v in space.items()})
    pool = (
        list(grid)
        if len(grid) <= n
        else list(ParameterSampler({k: list(v) for k, v in space.items()}, n, random_state=seed))
    )
    out = [default]
    for cand in pool:
        if cand != default and cand not in out:
            out.append(cand)
    return out[:n]


class _Shared:
    """Data every candidate shares; sklearn's ``clone`` deep-copies parameters, not this."""

    def __init__(
        self,
        build: Callable[..., Any],
        samples: list[Sample],
        val: list[Sample],
        name: str = "",
        total: int = 0,
    ):
        self.build = build
        self.samples = samples
        self.val = val
        self.name, self.total = name, total  # for one progress line per candidate
        self.fitted: dict[str, tuple[Any, float]] = {}

    def __deepcopy__(self, memo: dict) -> _Shared:
        return self


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _estimator(shared: _Shared, params: dict[str, Any]) -> Any:
    """A scikit-learn classifier over sample indices that fits one detector configuration."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class DetectorEstimator(ClassifierMixin, BaseEstimator):
        def __init__(self, shared: _Shared | None = None, params: dict | None = None):
            self.shared = shared
            self.params = params

        def fit(self, x: np.ndarray, y: np.ndarray) -> DetectorEstimator:
            t0 = time.perf_counter()
            det = self.shared.build(**(self.params or {}))
            det.fit([self.shared.samples[i] for i in np.ravel(x)], self.shared.val)
            seconds = time.perf_counter() - t0
            self.shared.fitted[_key(self.params or {})] = (det, seconds)
            # a search can take minutes per candidate (sift_svm's VLAD): say where it is
            emit(
                f"{self.shared.name}: configuration {len(self.shared.fitted)}/"
                f"{self.shared.total} {self.params or {}} fitted in {seconds:.1f}s"
            )
            self.det_, self.classes_ = det, np.array([0, 1])
            return self

        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            return self.det_.predict_proba([self.shared.samples[i] for i in np.ravel(x)])

    return DetectorEstimator(shared, params)


@dataclass
class TuningResult:
    """Outcome of a search: the chosen parameters and what it cost."""

    params: dict[str, Any]
    n_tried: int
    seconds: float
    val_auc: float
    default_val_auc: float
    scores: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    fitted: Any = None  # the winner, fitted on train (None when loaded from a cache)
    fit_seconds: float = float("nan")


def tune(
    det: Any,
    train: Sequence[Sample],
    val: Sequence[Sample],
    n: int,
    seed: int = 0,
    build: Callable[..., Any] | None = None,
) -> TuningResult:
    """Try up to ``n`` configurations of ``det``, fitted on ``train``, scored on ``val`` (AUC).

    Args:
        det: an unfitted detector; its current parameters are the defaults and the base of
            every candidate.
        train: fitting split.
        val: validation split (needs both labels); scored by ROC-AUC.
        n: the budget (configurations tried, defaults included).
        seed: draws the candidates when the grid is larger than ``n``.
        build: ``build(**candidate) -> detector``; default: ``create_detector`` by name with
            ``det``'s parameters overridden.

    Raises:
        ValueError: when ``val`` lacks a label. When every candidate fails, the defaults'
            own fitting error is raised.
    """
    from sklearn.exceptions import FitFailedWarning
    from sklearn.model_selection import GridSearchCV, PredefinedSplit

    train, val = list(train), list(val)
    if len({s.label for s in val}) < 2:
        raise ValueError(f"{det.meta.name}: tuning needs both labels in the validation split")
    if build is None:
        from benchmark.plugins import create_detector

        base = det.get_params()
        name = det.meta.name

        def build(**params: Any) -> Any:
            return create_detector(name, **(base | params))

    cands = candidates(det, n, seed)
    shared = _Shared(build, train + val, val, det.meta.name, len(cands))
    x = np.arange(len(train) + len(val)).reshape(-1, 1)
    y = np.array([s.label for s in train + val])
    folds = PredefinedSplit([-1] * len(train) + [0] * len(val))
    search = GridSearchCV(
        _estimator(shared, {}),
        {"params": cands},
        scoring="roc_auc",
        cv=folds,
        refit=False,
        error_score=np.nan,
    )
    emit(f"{det.meta.name}: tuning {len(cands)} configuration(s) on validation")
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitFailedWarning)  # a failed candidate scores NaN
            search.fit(x, y)
        scores = np.asarray(search.cv_results_["mean_test_score"], dtype=float)
    except ValueError:  # sklearn's "All the N fits failed"
        scores = np.full(len(cands), np.nan)
    seconds = time.perf_counter() - t0
    if np.isnan(scores).all():
        # Fit the defaults once more, outside sklearn, so the detector's own exception (e.g.
        # NotApplicableError, which becomes a "not applicable" row) reaches the harness.
        build(**cands[0]).fit(train, val)
        raise ValueError(f"{det.meta.name}: every tuning candidate failed on validation")
    best = int(np.nanargmax(scores))  # first of equals: the defaults win ties
    winner, fit_seconds = shared.fitted.get(_key(cands[best]), (None, float("nan")))
    emit(
        f"{det.meta.name}: tuned {cands[best]} val AUC {scores[best]:.3f} "
        f"(defaults {scores[0]:.3f}), {len(cands)} tried in {seconds:.1f}s"
    )
    return TuningResult(
        params=cands[best],
        n_tried=len(cands),
        seconds=seconds,
        val_auc=float(scores[best]),
        default_val_auc=float(scores[0]),
        scores=[(c, float(s)) for c, s in zip(cands, scores, strict=True)],
        fitted=winner,
        fit_seconds=fit_seconds,
    )


def tune_in_folder(
    det: Any,
    train: Sequence[Sample],
    val: Sequence[Sample],
    n: int,
    seed: int,
    folder: Path,
    data_key: str = "",
) -> tuple[Any, tuple[Any, float] | None, dict[str, Any], Path]:
    """The harness's hook: tune ``det`` (or reuse the cached choice) for ``run --tune N``.

    Returns:
        ``(det, fitted, info, folder)``: ``det`` with the chosen parameters set; the winner
        fitted on train with its fit seconds, or ``None`` when the choice came from the cache
        (the harness then loads or refits it); the row fields (``tuning``, ``n_configs_tried``,
        ``tuning_seconds``, ``default_val_roc_auc``); and the folder of the tuned fit,
        ``<folder>@val<N>``, beside the default one so both stay cached. ``data_key`` (the
        harness's, non-empty when images below the detector's minimum size were left out of
        train/val) is part of the cache key, so a choice made on other images is not reused.
    """
    label = tuning_label(n)
    space = search_space(det)
    if not space or len({s.label for s in val}) < 2:  # no search (no space, or no val AUC)
        return det, None, {"tuning": DEFAULT_LABEL}, folder
    folder = folder.with_name(f"{folder.name}@val{n}")
    key = hashlib.sha1(
        _key({"params": det.get_params(), "space": space, "n": n, "seed": seed}).encode()
        + f"|fit_version={det.fit_version}".encode()
        + (f"|data={data_key}".encode() if data_key else b"")
    ).hexdigest()[:12]
    cache = folder / "tuning.json"
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return det.set_params(**saved["params"]), None, saved["info"], folder
    result = tune(det, train, val, n, seed)
    info = {
        "tuning": label,
        "n_configs_tried": result.n_tried,
        "tuning_seconds": result.seconds,
        "default_val_roc_auc": result.default_val_auc,
        "tuning_scores": [[c, s] for c, s in result.scores],
    }

    atomic_write_json(cache, {"key": key, "params": result.params, "info": info})
    fitted = None if result.fitted is None else (result.fitted, result.fit_seconds)
    return det.set_params(**result.params), fitted, info, folder
