"""``run --train-on A[,B] --test-on C[,D]``: fit on each training set, score every test set,
print and publish the generalisation matrix (CLI code: prints).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.core.samples import Dataset
from benchmark.publish import publish_generalisation
from benchmark.report.generalisation import matrix
from benchmark.run import run_cross

if TYPE_CHECKING:
    from benchmark.engine.config import ExecutionConfig, RunSpec


def cmd_cross(
    args: Any, spec: RunSpec, execution: ExecutionConfig, options: dict[str, Any], seeds: list[int]
) -> int:
    """``run --train-on A[,B] --test-on C[,D]``: print and write the generalisation matrix."""
    import dataclasses

    from benchmark.core import events
    from benchmark.data import FOLDER_OPTIONS, load_dataset, skip_summary
    from benchmark.plugins import list_datasets

    def is_registered(name: str) -> bool:
        return name in list_datasets()

    if not (args.train_on and args.test_on):
        raise ValueError("--train-on and --test-on go together (e.g. --train-on A --test-on B,C)")
    if len(seeds) > 1:
        raise ValueError("cross-dataset runs take one --seed")
    spec = dataclasses.replace(spec, seed=seeds[0])

    def load(name: str) -> Dataset:
        # --layout / --crop-faces are folder options: a registered dataset does not take them
        opts = (
            options
            if not is_registered(name)
            else {k: v for k, v in options.items() if k not in FOLDER_OPTIONS}
        )
        ds = load_dataset(name, seed=spec.seed, quick=args.quick, **opts)
        print(skip_summary(ds))
        return ds

    names = [n.strip() for n in args.train_on.split(",") if n.strip()]
    tests = [n.strip() for n in args.test_on.split(",") if n.strip()]
    train_sets = [load(n) for n in names]
    test_sets = [load(n) for n in tests]
    with events.listen(lambda msg: print(f"  {msg}", flush=True)):
        frame = run_cross(spec, train_sets, test_sets, execution, say=events.emit)
    results = args.results
    if results is None:  # as for `run`: a smoke test publishes nothing unless asked to
        results = Path(args.out) / "cross" if args.quick or options else Path("results")
    paths = publish_generalisation(frame, results)
    table = matrix(frame)
    print("\ntest ROC-AUC (rows: detector, training set; columns: test set)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    failed = frame[frame["metric"] == "error"]
    for row in failed.itertuples(index=False):
        print(f"FAILED {row.detector} ({row.train_on} -> {row.test_on}): {row.error}")
    print(f"tables: {', '.join(str(p) for p in paths.values())}")
    return 1 if not failed.empty else 0
