"""``run``: train and evaluate, publish the tables, say what they mean (CLI code: prints).

Turns the parsed arguments into a :class:`~benchmark.engine.config.RunSpec` and an
:class:`~benchmark.engine.config.ExecutionConfig`, then calls :func:`benchmark.run.run` and
:func:`benchmark.run.publish_run` once per seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

#: ``run --resolutions``' default: the whole sweep (sizes >= the images' own are skipped)
FULL_RESOLUTIONS = "32,64,128,256,512,1024"

if TYPE_CHECKING:
    import pandas as pd

    from benchmark.core.samples import Dataset
    from benchmark.engine.cells import DetectorOutcome
    from benchmark.engine.config import ExecutionConfig, RunSpec


def add_protocol_arguments(r: argparse.ArgumentParser) -> None:
    """``run``'s options for videos and the field's protocols (video-level metrics, frames per
    video, held-out manipulations, DeepfakeBench's protocol)."""
    from benchmark.core.video_level import VIDEO_AGGREGATIONS
    from benchmark.engine.config import RunSpec

    r.add_argument(
        "--video-agg",
        choices=VIDEO_AGGREGATIONS,
        default=RunSpec(detectors=()).video_agg,
        help="where test images are frames of videos, every table also reports video-level "
        "metrics (video_roc_auc, ...): each video scored by the mean (DeepfakeBench's rule), "
        "max or median of its frames' scores",
    )
    r.add_argument(
        "--frames-per-video",
        type=int,
        default=argparse.SUPPRESS,  # absent: each layout's own (32); --help shows no None
        metavar="N",
        help="frames sampled evenly over each video of a folder dataset, the same count in "
        "train, val and test (default: 32, DeepfakeBench's)",
    )
    r.add_argument(
        "--leave-one-out",
        action="store_true",
        help="held-out manipulations: fit on --dataset with every manipulation family, then "
        "without each family's fakes (train and val), and score the family never seen; writes "
        "leave_one_out.{csv,md} and a section of leaderboard.md in RESULTS/<dataset>/",
    )
    r.add_argument(
        "--protocol",
        choices=["deepfakebench"],
        default=None,
        help="deepfakebench: fit on FaceForensics++ c23 (--dataset, official splits; the four "
        "manipulations), score FF++ c23/c40, FaceShifter and every --test-on dataset; writes "
        "RESULTS/deepfakebench/deepfakebench.{csv,md} beside DeepfakeBench's published AUCs",
    )


def _value(raw: str) -> Any:
    """A command-line value: JSON when it parses (``3``, ``1e-3``, ``null``), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        det, dot, param = key.partition(".")
        if not sep or not dot:
            raise ValueError(f"--set expects DETECTOR.PARAM=VALUE, got {item!r}")
        out.setdefault(det, {})[param] = _value(raw)
    return out


def _dataset_options(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--dataset-opt expects KEY=VALUE, got {item!r}")
        out[key] = _value(raw)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark import publish
    from benchmark.conditions.grid import parse_corruptions, parse_resolutions, parse_severities
    from benchmark.core import events
    from benchmark.data import load_dataset
    from benchmark.engine.config import ExecutionConfig, RunSpec
    from benchmark.plugins import list_detectors

    t0 = time.perf_counter()
    seeds = parse_seeds(args.seed)
    execution = ExecutionConfig(
        executor=args.executor, out=args.out, address=args.address, task_cpus=args.task_cpus
    )
    if args.executor == "ray":
        from benchmark.executors.ray import require_ray

        require_ray()  # fails fast, before the dataset loads
    if args.full_grid:
        given = [
            f"--{opt}"
            for opt, default in (
                ("corruptions", "default"),
                ("severities", "1,3,5"),
                ("resolutions", FULL_RESOLUTIONS),
            )  # fmt: skip
            if getattr(args, opt) != default
        ]
        if given:
            raise ValueError(f"--full-grid sets the grid itself: drop {', '.join(given)}")
        args.corruptions, args.severities = "all", "1-5"
    names = list_detectors() if args.all else list_detectors(args.detectors)
    corruptions = [] if args.corruptions == "none" else parse_corruptions(args.corruptions)
    resolutions = [] if args.resolutions == "none" else parse_resolutions(args.resolutions)
    if args.quick and args.corruptions == "default":
        corruptions = corruptions[:2]
    spec = RunSpec(
        detectors=tuple(names),
        seed=seeds[0],
        device=args.device,
        corruptions=tuple(corruptions),
        severities=tuple(parse_severities(args.severities)),
        resolutions=tuple(resolutions[:2] if args.quick else resolutions),
        timing=not args.no_timing,
        timing_batches=tuple(int(b) for b in args.timing_batches.split(",")),
        train_aug=args.train_aug,
        threshold_rule=args.threshold,
        allow_random_init=args.allow_random_init,
        overrides=_overrides(args.set),
        quick=args.quick,
        tune=args.tune,
        recipe=args.recipe,
        full_grid=args.full_grid,
        video_agg=args.video_agg,
    )
    options = _dataset_options(args.dataset_opt)
    # A smoke test or a re-sized dataset never lands in the published tables by accident.
    results = args.results
    if results is None and not args.quick and not options:
        results = Path("results")
    options |= {"layout": args.layout} if args.layout else {}
    options |= {"crop_faces": args.crop_faces} if args.crop_faces else {}
    frames = getattr(args, "frames_per_video", None)
    if frames is not None:
        if frames < 1:
            raise ValueError(f"--frames-per-video: expected >= 1, got {frames}")
        options["frames_per_video"] = frames
    if args.leave_one_out or args.protocol:
        from benchmark.cli.protocols import cmd_protocols

        return cmd_protocols(args, spec, execution, options, seeds)
    if args.train_on or args.test_on:
        from benchmark.cli.cross import cmd_cross

        return cmd_cross(args, spec, execution, options, seeds)
    print(
        f"{len(names)} detector(s): {', '.join(names)}; "
        f"{len(corruptions)} corruption(s) x {len(spec.severities)} severities, "
        f"{len(spec.resolutions)} resolution(s)"
    )
    boards, failed, dataset = [], [], None
    for i, seed in enumerate(seeds):
        seed_spec = dataclasses.replace(spec, seed=seed)
        with events.listen(_loading):  # checking files / cropping faces takes a while
            dataset = load_dataset(args.dataset, seed=seed, quick=args.quick, **options)
        prefix = f"seed {seed} ({i + 1}/{len(seeds)}) " if len(seeds) > 1 else ""
        board, outcomes = _run_one(seed_spec, execution, dataset, results, args.reference, prefix)
        boards.append(board.assign(seed=seed))
        failed += [(seed, o) for o in outcomes if not o.ok]
    if results is not None and dataset is not None:
        seeds_dir = publish.dataset_folder(results, dataset.name) / "seeds"
        if (seeds_dir / "leaderboard_seeds.csv").is_file():  # refreshed by each publish
            print(f"\nover seeds: {seeds_dir / 'leaderboard_seeds.csv'}")
        publish.write_index(results)
    if len(seeds) > 1:
        from benchmark import report

        summary = report.seed_summary(boards)
        print(f"\nover seeds {', '.join(map(str, seeds))} (this run):")
        cols = ["detector", "n_seeds", "roc_auc_mean", "roc_auc_std", "roc_auc_min"]
        print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for seed, o in failed:
        print(f"FAILED {o.name} (seed {seed}): {o.error}", file=sys.stderr)
    print(f"wall time {_clock(time.perf_counter() - t0)}")
    return 1 if failed else 0


def _loading(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}h{m % 60:02d}m{s:02d}s" if m >= 60 else f"{m}m{s:02d}s ({seconds:.0f}s)"


def _run_one(
    spec: RunSpec,
    execution: ExecutionConfig,
    dataset: Dataset,
    results: Path | None,
    reference: str,
    prefix: str,
) -> tuple[pd.DataFrame, tuple[DetectorOutcome, ...]]:
    """One seed: run, publish (or keep in the run folder) its tables, print them in words."""
    from benchmark import publish, report
    from benchmark.cli.console import ProgressDisplay
    from benchmark.core import events
    from benchmark.data import skip_summary
    from benchmark.report.summary import run_summary
    from benchmark.run import publish_run, run

    summary = dataset.summary()
    print(
        f"dataset {dataset.name} ({dataset.fingerprint}), seed {spec.seed}: "
        + ", ".join(f"{k} {v['real']}+{v['fake']}" for k, v in summary.items())
    )
    print(skip_summary(dataset) + f"; {len(dataset.duplicates)} duplicate(s) across splits")
    display = ProgressDisplay(prefix=prefix)
    with events.listen(display.message):
        try:
            result = run(spec, dataset, execution, observer=display)
        finally:
            display.close()
        tables = publish_run(result, results, reference)
    board = report.leaderboard(result.rows, result.timing)
    for msg in report.shortcut_warnings(board):
        print(msg, file=sys.stderr)
    print()
    cols = ["detector", "status", "roc_auc", "accuracy", "accuracy_tuned"]
    cols = [c for c in cols if c in board]
    print(board[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    spread_file = publish.dataset_folder(results or Path("results"), dataset.name) / "seeds"
    spread_file /= "leaderboard_seeds.csv"
    spread = pd_read(spread_file)
    print("\nsummary:")
    for line in run_summary(
        board,
        tables=tables,
        run_folder=result.work_dir,
        seed_spread=spread,
        skipped=result.skipped,
        skipped_files=result.run_dir / "skipped_files.csv",
    ):
        print(f"  - {line}")
    if results is None:
        print("  - Not published (a --quick or --dataset-opt run): pass --results DIR to publish.")
    return board, result.outcomes


def pd_read(path: Path) -> pd.DataFrame | None:
    import pandas as pd

    return pd.read_csv(path) if path.is_file() else None


def parse_seeds(text: str) -> list[int]:
    """``"0"``, ``"0,1,2"``, ``"0-4"`` or a mix -> unique non-negative seeds, in order."""
    out: list[int] = []
    for item in text.split(","):
        lo, dash, hi = item.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()) or (dash and int(hi) < int(lo)):
            raise ValueError(f"--seed: bad item {item!r} in {text!r}; use e.g. 0, 0,1,2 or 0-4")
        out += [s for s in range(int(lo), int(hi or lo) + 1) if s not in out]
    return out
