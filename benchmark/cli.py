"""``python -m benchmark`` / ``fakebench``: list, run, predict, report.

Only this module prints; library code logs. Heavy imports (torch, cv2, sklearn) happen inside
the sub-commands, so ``list`` and ``--help`` answer instantly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark import weights_cli

if TYPE_CHECKING:
    import pandas as pd

    from benchmark import harness
    from benchmark.data import Dataset

EPILOG = """examples:
  python -m benchmark list
  python -m benchmark run --all                       # every detector, default dataset
  python -m benchmark run -d "fft_*,scratch_cnn" --quick
  python -m benchmark run -d "sift_*" --dataset ~/faces   # folder with real/ and fake/
  python -m benchmark run --all --corruptions all --severities 1-5   # the full robustness grid
  python -m benchmark predict runs/<work-folder> -d fft_spectrum img1.png img2.jpg
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="fakebench: benchmark deepfake image detectors.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list detectors and datasets")
    ls.add_argument("pattern", nargs="?", default=None, help="wildcard filter, e.g. 'sift_*'")
    ls.add_argument(
        "--references", action="store_true", help="print the full reference of every cited work"
    )

    r = sub.add_parser(
        "run",
        help="train and evaluate detectors, write leaderboard tables",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--all", action="store_true", help="every registered detector (implies --allow-random-init)"
    )
    which.add_argument(
        "-d", "--detectors", help="comma-separated names or wildcards, e.g. 'sift_*,scratch_cnn'"
    )
    r.add_argument(
        "--dataset",
        default="default",
        help="registered dataset name or a folder with real/ and fake/ "
        "(optionally under train/ val/ test/)",
    )
    r.add_argument(
        "--layout",
        default=None,
        help="force the layout of a --dataset folder (detected otherwise; `datasets` lists them)",
    )
    r.add_argument(
        "--crop-faces",
        action="store_true",
        help="replace each image of a folder dataset by its largest face (OpenCV Haar cascade); "
        "images without a face are skipped and counted",
    )
    r.add_argument(
        "--train-on",
        default=None,
        help="cross-dataset: comma-separated datasets to fit on (then --test-on is required); "
        "writes RESULTS/generalisation.{csv,md}, train rows x test columns",
    )
    r.add_argument("--test-on", default=None, help="cross-dataset: comma-separated test datasets")
    r.add_argument(
        "--out",
        type=Path,
        default=Path("runs"),
        help="work folders: fitted detectors, cached predictions, each run's rows (git-ignored)",
    )
    r.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results folder to publish into (tables under RESULTS/<dataset>/; a run replaces "
        "only the rows of the detectors and conditions it ran). Default: results/, except "
        "for --quick and --dataset-opt runs, whose tables stay in their run folder unless "
        "--results is given",
    )
    r.add_argument(
        "--seed",
        default="0",
        help="seed of the dataset split and of the detectors; several ('0,1,2' or '0-2') run "
        "once per seed (tables under RESULTS/seed<N>/) and add leaderboard_seeds.{csv,md} with "
        "mean, sd, min and max over seeds",
    )
    r.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where deep detectors train and run (auto: cuda when available); recorded per row",
    )
    r.add_argument(
        "--quick", action="store_true", help="tiny dataset, 1 epoch, 32 px: a smoke test in seconds"
    )
    r.add_argument(
        "--corruptions",
        default="default",
        help="'default' (a subset that fits the time budget), 'all', 'none', 'imagenet-c' "
        "(ImageNet-C's 15), 'imagenet-c-extra' (its 4 held-out ones) or a comma list of names, "
        "wildcards, families and those groups",
    )
    r.add_argument("--severities", default="1,3,5", help="e.g. 1-5 or 1,3,5")
    r.add_argument(
        "--resolutions",
        default="32,64,128,256,512,1024",
        help="resolution sweep in px ('none' to skip); sizes >= the test images' size are "
        "skipped (degrading never upscales)",
    )
    r.add_argument("--no-timing", action="store_true", help="skip latency/throughput measurement")
    r.add_argument(
        "--timing-batches", default="1,32", help="comma-separated batch sizes for timing"
    )
    r.add_argument(
        "--train-aug",
        choices=["none", "cnndetection"],
        default="none",
        help="training augmentation (cnndetection: Wang et al. 2020 blur+JPEG, p=0.5)",
    )
    r.add_argument(
        "--threshold",
        choices=["youden", "max_f1"],
        default="youden",
        help="rule for the decision threshold tuned on validation (youden: max TPR-FPR, i.e. "
        "balanced accuracy; max_f1 can pick 'everything is fake' for weak detectors)",
    )
    r.add_argument(
        "--allow-random-init",
        action="store_true",
        help="when pretrained weights are absent, use random init (recorded as pretrained=False)",
    )
    r.add_argument(
        "--reference",
        default="scratch_cnn",
        help="reference detector of the mCE columns (ImageNet-C's corruption error ratio)",
    )
    r.add_argument(
        "--tune",
        type=int,
        nargs="?",
        const=8,  # benchmark.tuning.DEFAULT_TUNE_N (not imported: --help stays instant)
        default=0,
        metavar="N",
        help="choose each detector's hyper-parameters on the validation split: up to N "
        "configurations of its search_space (defaults first; bare --tune: 8); rows get "
        "tuning=val:N, the chosen params, n_configs_tried and tuning_seconds. 0: defaults",
    )
    r.add_argument(
        "--recipe",
        choices=["cpu", "paper"],
        default="cpu",
        help="deep detectors' settings: 'cpu' defaults that fit run --all in 30 min on 2 cores, "
        "or each source report's full recipe (input size, freeze policy, epochs; for a GPU)",
    )
    r.add_argument(
        "--dataset-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of a registered dataset, e.g. --dataset-opt n_images=2400 --dataset-opt "
        "patch=64 for 'default' (repeatable; `list` shows each dataset's options)",
    )
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="DET.PARAM=VALUE",
        help="parameter override, e.g. --set scratch_cnn.epochs=3 (repeatable)",
    )

    pr = sub.add_parser("predict", help="fake probability of image files with a fitted detector")
    pr.add_argument(
        "run_dir", type=Path, help="work folder printed by `run` (runs/<dataset>-<fp>-seed0-none)"
    )
    pr.add_argument(
        "-d", "--detector", required=True, help="name of a detector fitted in that folder"
    )
    pr.add_argument("images", nargs="+", type=Path, help="image files to score")

    weights_cli.add_parser(sub)

    rep = sub.add_parser(
        "report",
        help="rebuild tables from a run folder, a rows.csv, or a results folder",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    rep.add_argument(
        "source",
        type=Path,
        help="a work folder printed by `run` (its latest run), a run's folder "
        "(runs/.../runs/<run_id>), a rows.csv, or a published results folder "
        "(results/<dataset>, or results/ for all of them)",
    )
    rep.add_argument(
        "--results",
        type=Path,
        default=None,
        help="publish the rows into this results folder (upsert, under RESULTS/<dataset>/); "
        "default: a run's tables go to its own tables/ folder, a results folder is rebuilt "
        "in place",
    )
    rep.add_argument(
        "--reference",
        default="scratch_cnn",
        help="reference detector of the mCE columns (ImageNet-C's corruption error ratio)",
    )
    rep.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples of the leaderboard's 95%% intervals (whole source groups are "
        "resampled when the dataset knows them; 0: no intervals)",
    )

    from benchmark.data.cli import add_parser as add_datasets_parser

    add_datasets_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from benchmark.data.cli import cmd_datasets

    commands = {"list": cmd_list, "run": cmd_run, "predict": cmd_predict, "report": cmd_report}
    try:
        return (commands | {"datasets": cmd_datasets, "weights": weights_cli.cmd_weights})[
            args.command
        ](args)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_list(args: argparse.Namespace) -> int:
    from benchmark.data import dataset_options
    from benchmark.registry import DATASETS, DETECTORS, list_datasets, list_detectors, plugin_errors

    if args.references:
        from benchmark.references import REFERENCES

        for ref in REFERENCES.values():
            print(f"{ref.short}: {ref.full}")
        return 0
    names = list_detectors(args.pattern) if args.pattern else list_detectors()
    print(f"{'detector':28} {'family':10} {'input':6} paper")
    for name in names:
        m = DETECTORS.get(name).meta
        print(f"{name:28} {m.family:10} {str(m.input_size or 'any'):6} {m.paper}")
    print("\ndatasets:")
    for name in list_datasets():
        print(f"  {name:26} {DATASETS.get(name).help}")
        options = dataset_options(DATASETS.get(name).factory)
        if options:
            print(f"  {'':26} --dataset-opt: " + ", ".join(f"{k}={v}" for k, v in options.items()))
    print("  <folder>                   any folder with real/ and fake/ (see --dataset)")
    print("\nfull references: python -m benchmark list --references (or README, References)")
    for label, err in plugin_errors().items():
        print(f"\nplugin failed to load: {label}: {err}", file=sys.stderr)
    return 0


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
    from benchmark import harness, progress, publish
    from benchmark.conditions import parse_corruptions, parse_resolutions, parse_severities
    from benchmark.data import load_dataset
    from benchmark.registry import list_detectors

    t0 = time.perf_counter()
    seeds = parse_seeds(args.seed)
    if args.tune < 0:
        raise ValueError(f"--tune: expected a number of configurations >= 0, got {args.tune}")
    names = list_detectors() if args.all else list_detectors(args.detectors)
    corruptions = [] if args.corruptions == "none" else parse_corruptions(args.corruptions)
    resolutions = [] if args.resolutions == "none" else parse_resolutions(args.resolutions)
    if args.quick and args.corruptions == "default":
        corruptions = corruptions[:2]
    cfg = harness.RunConfig(
        detectors=tuple(names),
        out=args.out,
        seed=seeds[0],
        device=args.device,
        corruptions=tuple(corruptions),
        severities=tuple(parse_severities(args.severities)),
        resolutions=tuple(resolutions[:2] if args.quick else resolutions),
        timing=not args.no_timing,
        timing_batches=tuple(int(b) for b in args.timing_batches.split(",")),
        train_aug=args.train_aug,
        threshold_rule=args.threshold,
        allow_random_init=args.allow_random_init or args.all,
        reference=args.reference,
        overrides=_overrides(args.set),
        quick=args.quick,
        tune=args.tune,
        recipe=args.recipe,
    )
    options = _dataset_options(args.dataset_opt)
    # A smoke test or a re-sized dataset never lands in the published tables by accident.
    results = args.results
    if results is None and not args.quick and not options:
        results = Path("results")
    options |= {"layout": args.layout} if args.layout else {}
    options |= {"crop_faces": True} if args.crop_faces else {}
    if args.train_on or args.test_on:
        from benchmark.crossdata import cmd_cross

        return cmd_cross(args, cfg, options, seeds)
    print(
        f"{len(names)} detector(s): {', '.join(names)}; "
        f"{len(corruptions)} corruption(s) x {len(cfg.severities)} severities, "
        f"{len(cfg.resolutions)} resolution(s)"
    )
    boards, failed, dataset = [], [], None
    for i, seed in enumerate(seeds):
        seed_cfg = dataclasses.replace(cfg, seed=seed)
        with progress.sink(_loading):  # checking files / cropping faces takes a while
            dataset = load_dataset(args.dataset, seed=seed, quick=args.quick, **options)
        prefix = f"seed {seed} ({i + 1}/{len(seeds)}) " if len(seeds) > 1 else ""
        board, outcomes = _run_one(seed_cfg, dataset, results, args.reference, prefix)
        boards.append(board.assign(seed=seed))
        failed += [(seed, o) for o in outcomes if not o.ok]
    if results is not None and dataset is not None:
        if len(seeds) > 1 or seeds != [0]:
            paths = publish.write_seed_summary(publish.dataset_folder(results, dataset.name))
            if paths:
                print(f"\nover seeds: {', '.join(str(p) for p in paths.values())}")
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
    cfg: harness.RunConfig, dataset: Dataset, results: Path | None, reference: str, prefix: str
) -> tuple[pd.DataFrame, list[harness.DetectorOutcome]]:
    """One seed: run, publish (or keep in the run folder) its tables, print them in words."""
    from benchmark import harness, progress, publish, report
    from benchmark.console import ProgressDisplay
    from benchmark.summary import run_summary

    summary = dataset.summary()
    print(
        f"dataset {dataset.name} ({dataset.fingerprint}), seed {cfg.seed}: "
        + ", ".join(f"{k} {v['real']}+{v['fake']}" for k, v in summary.items())
    )
    from benchmark.data import skip_summary, write_skipped

    print(skip_summary(dataset) + f"; {len(dataset.duplicates)} duplicate(s) across splits")
    display = ProgressDisplay(prefix=prefix)
    with progress.sink(display.message):
        try:
            run_dir, outcomes = harness.run(cfg, dataset, progress=display)
        finally:
            display.close()
    write_skipped(dataset, run_dir)
    rows = report.load_rows(run_dir / "rows.csv")
    timing = report.frame_from(json.loads((run_dir / "timing.json").read_text()))
    board = report.leaderboard(rows, timing)
    if results is None:
        tables = run_dir / "tables"
        scores_file = run_dir / "scores.csv"
        scores = publish.read_scores(scores_file) if scores_file.is_file() else None
        report.write_tables(rows, timing, tables, reference, title=dataset.name, scores=scores)
    else:
        tables = publish.dataset_folder(results, dataset.name, cfg.seed)
        write_skipped(dataset, tables, files=False)  # counts per reason beside the tables
        try:
            scores = publish.read_scores(run_dir / "scores.csv")
            publish.publish(rows, timing, tables, reference, title=dataset.name, scores=scores)
        except publish.PublishError as exc:  # keep this run's tables; say how to publish them
            report.write_tables(rows, timing, run_dir / "tables", reference, title=dataset.name)
            raise publish.PublishError(
                f"{exc}. This run's tables are in {run_dir / 'tables'}; "
                f"`python -m benchmark report {run_dir} --results DIR` publishes them"
            ) from exc
    from benchmark.explain import write_run_figures  # figures that need the images and fits

    write_run_figures(dataset, harness.work_dir(cfg, dataset), tables, results)
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
        board, tables=tables, run_folder=harness.work_dir(cfg, dataset), seed_spread=spread
    ):
        print(f"  - {line}")
    if results is None:
        print("  - Not published (a --quick or --dataset-opt run): pass --results DIR to publish.")
    return board, outcomes


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


def cmd_predict(args: argparse.Namespace) -> int:
    from benchmark.commands import predict

    return predict(args.run_dir, args.detector, args.images)


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark.commands import rebuild_report

    for path in rebuild_report(args.source, args.results, args.reference, args.bootstrap):
        print(path)
    return 0
