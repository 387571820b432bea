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

    r = sub.add_parser(
        "run",
        help="train and evaluate detectors, write leaderboard tables",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--all", action="store_true", help="every registered detector (implies --allow-random-init)"
    )
    which.add_argument("-d", "--detectors", help="comma-separated names or wildcards")
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
    r.add_argument("--out", type=Path, default=Path("runs"), help="run folders (git-ignored)")
    r.add_argument(
        "--results", type=Path, default=Path("results"), help="where leaderboard tables are written"
    )
    r.add_argument(
        "--seed",
        default="0",
        help="seed of the dataset split and of the detectors; several ('0,1,2' or '0-2') run "
        "once per seed (tables under RESULTS/seed<N>/) and add leaderboard_seeds.{csv,md} with "
        "mean, sd, min and max over seeds",
    )
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument(
        "--quick", action="store_true", help="tiny dataset, 1 epoch, 32 px: a smoke test in seconds"
    )
    r.add_argument(
        "--corruptions",
        default="default",
        help="'default' (a subset that fits the time budget), 'all', 'none' or a list",
    )
    r.add_argument("--severities", default="1,3,5", help="e.g. 1-5 or 1,3,5")
    r.add_argument(
        "--resolutions",
        default="32,64,128,256,512,1024",
        help="resolution sweep in px ('none' to skip); sizes >= the test images' size are "
        "skipped (degrading never upscales)",
    )
    r.add_argument("--no-timing", action="store_true", help="skip latency/throughput measurement")
    r.add_argument("--timing-batches", default="1,32", help="batch sizes for timing")
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
    r.add_argument("--reference", default="scratch_cnn", help="reference detector for mCE")
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
    pr.add_argument("run_dir", type=Path, help="work folder printed by `run` (runs/<dataset>-...)")
    pr.add_argument("-d", "--detector", required=True)
    pr.add_argument("images", nargs="+", type=Path)

    rep = sub.add_parser("report", help="rebuild tables from a run's rows.csv")
    rep.add_argument("rows", type=Path, help="runs/.../runs/<run_id>/rows.csv")
    rep.add_argument("--results", type=Path, default=Path("results"))
    rep.add_argument("--reference", default="scratch_cnn")

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
        return (commands | {"datasets": cmd_datasets})[args.command](args)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_list(args: argparse.Namespace) -> int:
    from benchmark.data import dataset_options
    from benchmark.registry import DATASETS, DETECTORS, list_datasets, list_detectors, plugin_errors

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
    from benchmark import harness, progress, report
    from benchmark.conditions import parse_corruptions, parse_resolutions, parse_severities
    from benchmark.data import load_dataset
    from benchmark.registry import list_detectors

    t0 = time.perf_counter()
    seeds = parse_seeds(args.seed)
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
    )
    options = _dataset_options(args.dataset_opt)
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
    boards, failed = [], []
    for seed in seeds:
        seed_cfg = dataclasses.replace(cfg, seed=seed)
        with progress.sink(_progress):  # checking files / cropping faces takes a while
            dataset = load_dataset(args.dataset, seed=seed, quick=args.quick, **options)
        results = args.results if len(seeds) == 1 else args.results / f"seed{seed}"
        board, outcomes = _run_one(seed_cfg, dataset, results, args.reference)
        boards.append(board.assign(seed=seed))
        failed += [(seed, o) for o in outcomes if not o.ok]
    if len(seeds) > 1:
        summary = report.seed_summary(boards)
        paths = report.write_seed_summary(summary, args.results)
        print(f"\nover seeds {', '.join(map(str, seeds))}:")
        cols = ["detector", "n_seeds", "roc_auc_mean", "roc_auc_std", "roc_auc_min"]
        print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"tables: {', '.join(str(p) for p in paths.values())}")
    for seed, o in failed:
        print(f"FAILED {o.name} (seed {seed}): {o.error}", file=sys.stderr)
    print(f"wall time {time.perf_counter() - t0:.0f}s")
    return 1 if failed else 0


def _run_one(
    cfg: harness.RunConfig, dataset: Dataset, results: Path, reference: str
) -> tuple[pd.DataFrame, list[harness.DetectorOutcome]]:
    """One seed: run, write its tables to ``results``, print its leaderboard."""
    from benchmark import harness, report

    summary = dataset.summary()
    print(
        f"dataset {dataset.name} ({dataset.fingerprint}), seed {cfg.seed}: "
        + ", ".join(f"{k} {v['real']}+{v['fake']}" for k, v in summary.items())
    )
    from benchmark.data import skip_summary, write_skipped

    print(skip_summary(dataset) + f"; {len(dataset.duplicates)} duplicate(s) across splits")
    run_dir, outcomes = harness.run(cfg, dataset, progress=_progress)
    write_skipped(dataset, run_dir)
    write_skipped(dataset, results)
    rows = report.load_rows(run_dir / "rows.csv")
    timing = report.frame_from(json.loads((run_dir / "timing.json").read_text()))
    paths = report.write_tables(rows, timing, results, reference, title=dataset.name)
    board = report.leaderboard(rows, timing)
    for msg in report.shortcut_warnings(board):
        print(msg, file=sys.stderr)
    print()
    cols = [
        c for c in ["detector", "status", "roc_auc", "accuracy", "accuracy_tuned"] if c in board
    ]
    print(board[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nrun folder: {harness.work_dir(cfg, dataset)}  (rows: {run_dir / 'rows.csv'})")
    print(f"tables: {', '.join(str(p) for p in paths.values())}")
    return board, outcomes


def parse_seeds(text: str) -> list[int]:
    """``"0"``, ``"0,1,2"``, ``"0-4"`` or a mix -> unique non-negative seeds, in order."""
    out: list[int] = []
    for item in text.split(","):
        lo, dash, hi = item.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()) or (dash and int(hi) < int(lo)):
            raise ValueError(f"--seed: bad item {item!r} in {text!r}; use e.g. 0, 0,1,2 or 0-4")
        out += [s for s in range(int(lo), int(hi or lo) + 1) if s not in out]
    return out


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cmd_predict(args: argparse.Namespace) -> int:
    from benchmark.data import as_samples
    from benchmark.protocol import load_detector

    folder = args.run_dir / "detectors" / args.detector
    info_file = folder / "fit.json"
    if not info_file.is_file():
        have = (
            sorted(p.name for p in (args.run_dir / "detectors").glob("*"))
            if (args.run_dir / "detectors").is_dir()
            else []
        )
        raise FileNotFoundError(
            f"{info_file}: no fitted {args.detector!r} in {args.run_dir} "
            f"(fitted here: {', '.join(have) or 'none'})"
        )
    threshold = json.loads(info_file.read_text())["threshold"]
    det = load_detector(folder)
    for path in args.images:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: image not found")
    probs = det.predict_proba(as_samples([str(p) for p in args.images]))[:, 1]
    print(f"{'image':40} p(fake)  verdict (threshold {threshold:.3f}, tuned on validation)")
    for path, p in zip(args.images, probs, strict=True):
        print(f"{str(path):40} {p:7.3f}  {'FAKE' if p >= threshold else 'real'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark import report

    rows = report.load_rows(args.rows)
    timing_file = args.rows.parent / "timing.json"
    timing = (
        report.frame_from(json.loads(timing_file.read_text()))
        if timing_file.is_file()
        else (report.frame_from([]))
    )
    paths = report.write_tables(rows, timing, args.results, args.reference)
    print("\n".join(str(p) for p in paths.values()))
    return 0
