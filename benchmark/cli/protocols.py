"""``run --leave-one-out`` and ``run --protocol deepfakebench``: the field's protocols, run by
the cross-dataset cell (``benchmark.run.run_cross``) and published beside the tables (CLI code:
prints).

``--leave-one-out`` fits every detector on ``--dataset`` and, for each manipulation family, on
the dataset without that family's fakes; it writes ``leave_one_out.{csv,md}`` into the
dataset's results folder and a section of its ``leaderboard.md``. ``--protocol deepfakebench``
fits on FaceForensics++ c23 (``--dataset``), scores FF++ c23, c40 (when there), FaceShifter
(when there) and every ``--test-on`` dataset, and writes ``RESULTS/deepfakebench/
deepfakebench.{csv,md}``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.core.samples import Dataset

if TYPE_CHECKING:
    from benchmark.engine.config import ExecutionConfig, RunSpec

PROTOCOLS = ("deepfakebench",)


def cmd_protocols(
    args: Any, spec: RunSpec, execution: ExecutionConfig, options: dict[str, Any], seeds: list[int]
) -> int:
    """Dispatch ``--leave-one-out`` / ``--protocol``; returns the exit status."""
    if args.leave_one_out and args.protocol:
        raise ValueError("--leave-one-out and --protocol are separate runs: choose one")
    if len(seeds) > 1:
        raise ValueError("--leave-one-out and --protocol take one --seed")
    spec = dataclasses.replace(spec, seed=seeds[0])
    results = args.results
    if results is None:  # as for `run`: a smoke test publishes nothing unless asked to
        results = Path(args.out) / "protocols" if args.quick or options else Path("results")
    if args.leave_one_out:
        if args.train_on or args.test_on:
            raise ValueError("--leave-one-out holds families of --dataset out: drop "
                             "--train-on/--test-on")  # fmt: skip
        return leave_one_out(args, spec, execution, options, Path(results))
    if args.train_on:
        raise ValueError("--protocol deepfakebench trains on --dataset (FaceForensics++): drop "
                         "--train-on; --test-on names the cross-dataset test sets")  # fmt: skip
    return deepfakebench(args, spec, execution, options, Path(results))


def _loader(spec: RunSpec, quick: bool, options: dict[str, Any]) -> Any:
    from benchmark.data import FOLDER_OPTIONS, load_dataset, skip_summary
    from benchmark.plugins import list_datasets

    def load(name: str, **extra: Any) -> Dataset:
        # folder options (--layout, --crop-faces, --frames-per-video) are not a registered
        # dataset's
        opts = options | extra
        if name in list_datasets():
            opts = {k: v for k, v in opts.items() if k not in FOLDER_OPTIONS}
        ds = load_dataset(name, seed=spec.seed, quick=quick, **opts)
        print(f"{ds.name}: " + ", ".join(f"{k} {v['real']}+{v['fake']}"
                                         for k, v in ds.summary().items()))  # fmt: skip
        print(f"  {skip_summary(ds)}")
        return ds

    return load


def _say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def leave_one_out(
    args: Any, spec: RunSpec, execution: ExecutionConfig, options: dict[str, Any], results: Path
) -> int:
    """Fit with every family and without each; print and publish the held-out table."""
    from benchmark.core import events
    from benchmark.engine.leave_one_out import leave_one_out_sets
    from benchmark.publish import dataset_folder, publish_leave_one_out
    from benchmark.report.leave_one_out import leave_one_out_table
    from benchmark.run import run_cross

    dataset = _loader(spec, args.quick, options)(args.dataset)
    held_out = leave_one_out_sets(dataset)
    print(f"holding out in turn: {', '.join(held_out)} ({len(spec.detectors)} detector(s), "
          f"{1 + len(held_out)} fits each)")  # fmt: skip
    with events.listen(_say):
        frame = run_cross(spec, [dataset, *held_out.values()], [], execution, say=events.emit)
    table = leave_one_out_table(frame, dataset.name, {f: v.name for f, v in held_out.items()})
    table.insert(3, "train_aug", spec.train_aug)
    table.insert(4, "seed", spec.seed)
    paths = publish_leave_one_out(table, dataset_folder(results, dataset.name, spec.seed))
    grid = table.pivot_table(index="detector", columns="held_out",
                             values=["roc_auc_unseen", "roc_auc_in_distribution"])  # fmt: skip
    print("\nROC-AUC on the held-out family (unseen) and with it in training (in_distribution)")
    print(grid.to_string(float_format=lambda v: f"{v:.3f}"))
    return _report_failures(frame, paths)


def deepfakebench(
    args: Any, spec: RunSpec, execution: ExecutionConfig, options: dict[str, Any], results: Path
) -> int:
    """Fit on FF++ c23; score it, c40, FaceShifter and every --test-on set; publish the matrix."""
    from benchmark.core import events
    from benchmark.engine.protocol import CROSS, WITHIN, deepfakebench_sets
    from benchmark.publish import publish_protocol
    from benchmark.report.protocol import protocol_matrix
    from benchmark.run import run_cross

    load = _loader(spec, args.quick, {k: v for k, v in options.items() if k != "layout"})
    ffpp = load(args.dataset, layout="ff++-c23")
    root = Path(args.dataset).expanduser()
    c40 = None
    if (root / "original_sequences" / "youtube" / "c40").is_dir():
        c40 = load(args.dataset, layout="ff++-c40")
    others = [load(n.strip()) for n in (args.test_on or "").split(",") if n.strip()]
    sets = deepfakebench_sets(ffpp, others, c40)
    have = set(sets.columns.values())
    here = [c for c in (*WITHIN, *CROSS) if c in have]
    absent = [c for c in (*WITHIN, *CROSS) if c not in have]
    print(f"DeepfakeBench columns here: {', '.join(here)}; absent: {', '.join(absent) or 'none'}")
    with events.listen(_say):
        frame = run_cross(spec, [sets.train], list(sets.targets), execution, say=events.emit)
    subset = frame["subset"].fillna("all")
    frame["column"] = [sets.columns.get((t, s), "") for t, s in zip(frame["test_on"], subset,
                                                                   strict=True)]  # fmt: skip
    paths = publish_protocol(frame, results / "deepfakebench")
    print("\nframe-level ROC-AUC, DeepfakeBench's layout (published rows select on test)")
    print(protocol_matrix(frame).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return _report_failures(frame, paths)


def _report_failures(frame: Any, paths: dict[str, Path]) -> int:
    failed = frame[frame["metric"] == "error"]
    for row in failed.itertuples(index=False):
        print(f"FAILED {row.detector} ({row.train_on} -> {row.test_on}): {row.error}")
    print(f"tables: {', '.join(str(p) for p in paths.values())}")
    return 1 if not failed.empty else 0
