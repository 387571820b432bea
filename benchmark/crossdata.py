"""Cross-dataset generalisation: train on A, test on B, C, ... (``run --train-on A --test-on B,C``).

Each detector is fitted once per training set with the harness's own ``fit_or_load`` (so the
fit is shared with, and cached like, an ordinary run on that set; validation is the training
set's own), then scored on the test split of every test set and of the training set itself
(the in-domain diagonal). The result is a generalisation matrix, training sets as rows and
test sets as columns, one ROC-AUC per detector, as DeepfakeBench (Yan et al. 2023) and
CNNDetection (Wang et al. 2020) report cross-dataset results. A detector that fails becomes
``error`` cells; the other detectors still run. With ``--executor ray`` each training set x
detector is one Ray task (:func:`benchmark.ray_grid.run_cross_tasks`) running the same
:func:`cross_rows`. As in a run, images below a detector's minimum
size are left out for it (logged; ``n`` counts the test images scored).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark import harness, metrics
from benchmark.data import Dataset, drop_below_min_side
from benchmark.protocol import detector_min_side

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["detector", "train_on", "test_on", "metric", "value", "n", "error"]


def run_cross(
    cfg: harness.RunConfig,
    train_sets: list[Dataset],
    test_sets: list[Dataset],
    progress: Callable[[str], None] = harness.log.info,
) -> pd.DataFrame:
    """Long table (``COLUMNS``) of every detector x training set x test set.

    Args:
        cfg: the run configuration (detectors, seed, device, overrides, ...).
        train_sets: datasets whose train/val splits fit the detectors.
        test_sets: datasets whose test splits are scored (the training sets' own test splits
            are scored too, as the in-domain reference).
        progress: receives one line per fit and per scored test set.

    Returns:
        One row per (detector, train_on, test_on, metric); failures carry ``error``.
    """
    import pandas as pd

    if cfg.executor == "ray":  # one Ray task per training set x detector, same rows
        from benchmark.ray_grid import run_cross_tasks

        return pd.DataFrame(run_cross_tasks(cfg, train_sets, test_sets, progress), columns=COLUMNS)
    rows: list[dict[str, Any]] = []
    for train in train_sets:
        targets = targets_of(train, test_sets)
        for name in cfg.detectors:
            rows += cross_rows(cfg, train, targets, name, progress)
    return pd.DataFrame(rows, columns=COLUMNS)


def targets_of(train: Dataset, test_sets: list[Dataset]) -> list[Dataset]:
    """The test sets a detector fitted on ``train`` is scored on: ``train`` itself first."""
    return [train] + [t for t in test_sets if t.fingerprint != train.fingerprint]


def error_rows(name: str, train: Dataset, targets: list[Dataset], exc: BaseException) -> list:
    """One ``error`` row per test set, for a fit (or a whole task) that failed."""
    base = {"detector": name, "train_on": train.name}
    return [base | {"test_on": t.name, "metric": "error", "error": _msg(exc)} for t in targets]


def cross_rows(
    cfg: harness.RunConfig,
    train: Dataset,
    targets: list[Dataset],
    name: str,
    progress: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Detector ``name`` fitted on ``train`` (or its cached fit), scored on every target's test
    split: the rows of one cell of the matrix's row. Failures become ``error`` rows."""
    base = {"detector": name, "train_on": train.name}
    rows: list[dict[str, Any]] = []
    try:
        det = harness.build_detector(name, cfg)
        own, dropped, data_key = harness.for_detector(det, name, train, progress)
        harness.check_enough_left(det, own, dropped)
        progress(f"{name}: fitting on {train.name} ({len(own.train)} images)")
        folder = harness.work_dir(cfg, train) / "detectors" / name
        det, info = harness.fit_or_load(det, own, folder, cfg, data_key)
    except Exception as exc:  # noqa: BLE001 - a crashed detector is a failed row
        harness.log.error("%s failed to fit\n%s", name, traceback.format_exc())
        return error_rows(name, train, targets, exc)
    for test in targets:
        try:
            test, dropped = drop_below_min_side(test, detector_min_side(det), name)
            if dropped:
                progress(f"{name}: {len(dropped)} {test.name} test image(s) below its "
                         f"minimum size skipped")  # fmt: skip
            cache = (
                harness.work_dir(cfg, train)
                / "predictions"
                / name
                / info["params_key"]
                / f"cross-{test.name}-{test.fingerprint[:10]}.npz"
            )
            scores = harness.cached_scores(det, test.test, cache)
            y = np.array([s.label for s in test.test])
            for metric, value in metrics.all_metrics(y, scores, info["threshold"]).items():
                rows.append(
                    base | {"test_on": test.name, "metric": metric, "value": value, "n": len(y)}
                )
            progress(f"{name}: {train.name} -> {test.name} scored")
        except Exception as exc:  # noqa: BLE001
            harness.log.error("%s failed on %s\n%s", name, test.name, traceback.format_exc())
            rows.append(base | {"test_on": test.name, "metric": "error", "error": _msg(exc)})
    return rows


def _msg(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def matrix(frame: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """Pivot: one row per (detector, train_on), one column per test set, ``metric`` values."""
    import pandas as pd

    got = frame[frame["metric"] == metric]
    if got.empty:
        return pd.DataFrame(columns=["detector", "train_on"])
    order = list(dict.fromkeys(frame["test_on"]))
    table = got.pivot_table(
        index=["detector", "train_on"], columns="test_on", values="value", aggfunc="first"
    )
    return table.reindex(columns=[c for c in order if c in table.columns]).reset_index()


def upsert(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the published cells of ``path`` for (detector, train, test) it lacks."""
    import pandas as pd

    if not path.is_file():
        return frame
    old = pd.read_csv(path, keep_default_na=False, na_values=[""])
    key = ["detector", "train_on", "test_on"]
    new_keys = set(map(tuple, frame[key].astype(str).to_numpy()))
    kept = old[~old[key].astype(str).apply(tuple, axis=1).isin(new_keys)]
    return pd.concat([kept, frame], ignore_index=True)


def write_generalisation(frame: pd.DataFrame, results_dir: str | Path) -> dict[str, Path]:
    """Write ``generalisation.csv`` (long) and ``generalisation.md`` (AUC matrix) atomically.

    Args:
        frame: the table :func:`run_cross` returned.
        results_dir: folder for the two files (created if needed).

    Returns:
        ``{"csv": path, "md": path}``.
    """
    from benchmark.report import _md
    from benchmark.results import atomic_write_csv, atomic_write_text

    results_dir = Path(results_dir)
    paths = {"csv": atomic_write_csv(results_dir / "generalisation.csv", frame)}
    auc = matrix(frame, "roc_auc")
    errors = frame[frame["metric"] == "error"]
    lines = [
        "# Cross-dataset generalisation",
        "",
        "Test ROC-AUC: detectors fitted on the row's training set (its train split, threshold "
        "and early stopping on its val split), scored on the test split of each column's "
        "dataset. The column equal to the row's training set is the in-domain reference.",
        "",
        _md(auc),
    ]
    if not errors.empty:
        lines += ["## Failed cells", "", _md(errors[["detector", "train_on", "test_on", "error"]])]
    paths["md"] = atomic_write_text(results_dir / "generalisation.md", "\n".join(lines))
    return paths


def cmd_cross(args: Any, cfg: harness.RunConfig, options: dict[str, Any], seeds: list[int]) -> int:
    """``run --train-on A[,B] --test-on C[,D]``: print and write the generalisation matrix."""
    import dataclasses

    from benchmark import progress
    from benchmark.data import FOLDER_OPTIONS, load_dataset, skip_summary
    from benchmark.registry import list_datasets

    def is_registered(name: str) -> bool:
        return name in list_datasets()

    if not (args.train_on and args.test_on):
        raise ValueError("--train-on and --test-on go together (e.g. --train-on A --test-on B,C)")
    if len(seeds) > 1:
        raise ValueError("cross-dataset runs take one --seed")
    cfg = dataclasses.replace(cfg, seed=seeds[0])

    def load(name: str) -> Dataset:
        # --layout / --crop-faces are folder options: a registered dataset does not take them
        opts = (
            options
            if not is_registered(name)
            else {k: v for k, v in options.items() if k not in FOLDER_OPTIONS}
        )
        ds = load_dataset(name, seed=cfg.seed, quick=args.quick, **opts)
        print(skip_summary(ds))
        return ds

    names = [n.strip() for n in args.train_on.split(",") if n.strip()]
    tests = [n.strip() for n in args.test_on.split(",") if n.strip()]
    train_sets = [load(n) for n in names]
    test_sets = [load(n) for n in tests]
    with progress.sink(lambda msg: print(f"  {msg}", flush=True)):
        frame = run_cross(cfg, train_sets, test_sets, progress=progress.report)
    results = args.results
    if results is None:  # as for `run`: a smoke test publishes nothing unless asked to
        results = Path(args.out) / "cross" if args.quick or options else Path("results")
    paths = write_generalisation(upsert(results / "generalisation.csv", frame), results)
    table = matrix(frame)
    print("\ntest ROC-AUC (rows: detector, training set; columns: test set)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    failed = frame[frame["metric"] == "error"]
    for row in failed.itertuples(index=False):
        print(f"FAILED {row.detector} ({row.train_on} -> {row.test_on}): {row.error}")
    print(f"tables: {', '.join(str(p) for p in paths.values())}")
    return 1 if not failed.empty else 0
