"""The cross-dataset cell: train on A, score the test splits of B, C, ... (and of A itself).

Each detector is fitted once per training set with the engine's own fit sequence
(:func:`~benchmark.engine.fitting.fit_detector`, so the fit is shared with, and cached like, an
ordinary run on that set; validation is the training set's own), then scored on the test split
of every test set and of the training set itself (the in-domain diagonal). The result is a
generalisation matrix, training sets as rows and test sets as columns, as DeepfakeBench (Yan et
al., "DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection", NeurIPS 2023) and
CNNDetection (Wang et al., "CNN-generated images are surprisingly easy to spot... for now",
CVPR 2020) report cross-dataset results. A detector that fails becomes ``error`` cells; the
other detectors still run. As in a run, images below a detector's minimum size are left out for
it (logged; ``n`` counts the test images scored). A test set with fakes of several
manipulation families also has its metrics per family (``subset``: all reals vs that family's
fakes) and, where the test images are frames of videos, over videos
(``video_``-prefixed metrics, ``n`` counting videos). Executors decide who runs the cells
(``benchmark.executors``); the matrix itself is drawn by ``benchmark.report.generalisation``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.core.samples import Dataset
from benchmark.data.checks import drop_below_min_side
from benchmark.engine.config import RunSpec
from benchmark.engine.fitting import fit_detector
from benchmark.engine.folders import WorkFolder
from benchmark.engine.scoring import cached_scores, metric_values
from benchmark.protocol import detector_min_side

log = logging.getLogger(__name__)

#: ``subset``: ``all``, or a manipulation family (all reals vs that family's fakes); metrics
#: prefixed ``video_`` are over videos (where the test images are frames of videos).
COLUMNS = ["detector", "train_on", "test_on", "subset", "metric", "value", "n", "error"]


def targets_of(train: Dataset, test_sets: list[Dataset]) -> list[Dataset]:
    """The test sets a detector fitted on ``train`` is scored on: ``train`` itself first."""
    return [train] + [t for t in test_sets if t.fingerprint != train.fingerprint]


def error_rows(name: str, train: Dataset, targets: list[Dataset], exc: BaseException) -> list:
    """One ``error`` row per test set, for a fit (or a whole task) that failed."""
    base = {"detector": name, "train_on": train.name}
    return [base | {"test_on": t.name, "metric": "error", "error": _msg(exc)} for t in targets]


def cross_rows(
    spec: RunSpec,
    out: str | Path,
    train: Dataset,
    targets: list[Dataset],
    name: str,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Detector ``name`` fitted on ``train`` (or its cached fit), scored on every target's test
    split: one row of the matrix. Failures become ``error`` rows."""
    base = {"detector": name, "train_on": train.name}
    rows: list[dict[str, Any]] = []
    work = WorkFolder.of(out, train, spec.seed, spec.train_aug)
    try:
        det, _, info = fit_detector(name, spec, train, work, say)
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row
        log.error("%s failed to fit\n%s", name, traceback.format_exc())
        return error_rows(name, train, targets, exc)
    for test in targets:
        try:
            test, dropped = drop_below_min_side(test, detector_min_side(det), name)
            if dropped:
                say(f"{name}: {len(dropped)} {test.name} test image(s) below its "
                    f"minimum size skipped")  # fmt: skip
            cache = work.predictions(
                name, info["params_key"], f"cross-{test.name}-{test.fingerprint[:10]}"
            )
            scores = cached_scores(det, test.test, cache)
            fams = {s.meta.get("family", "fake") for s in test.test if s.label}
            for subset, metric, value, n in metric_values(
                test.test, scores, info["threshold"], len(fams) > 1, spec.video_agg
            ):
                rows.append(base | {"test_on": test.name, "subset": subset, "metric": metric,
                                    "value": value, "n": n})  # fmt: skip
            say(f"{name}: {train.name} -> {test.name} scored")
        except Exception as exc:  # noqa: BLE001
            log.error("%s failed on %s\n%s", name, test.name, traceback.format_exc())
            rows.append(base | {"test_on": test.name, "metric": "error", "error": _msg(exc)})
    return rows


def _msg(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
