"""``python -m benchmark`` / ``fakebench``: list, run, predict, report, weights, datasets.

Only this module prints; library code logs. Heavy imports (torch, cv2, sklearn) happen inside
the sub-commands, so ``list`` and ``--help`` answer instantly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from benchmark.cli import predict as predict_cli
from benchmark.cli import weights as weights_cli
from benchmark.cli.run import (  # noqa: F401 - public
    FULL_RESOLUTIONS,
    add_protocol_arguments,
    cmd_run,
    parse_seeds,
)
from benchmark.engine.config import ExecutionConfig, RunSpec

#: Parser defaults are read from the config dataclasses, never typed twice.
_SPEC, _EXEC = RunSpec(detectors=()), ExecutionConfig()

EPILOG = """examples:
  python -m benchmark list
  python -m benchmark run --all                       # every detector, default dataset
  python -m benchmark run -d "fft_*,scratch_cnn" --quick
  python -m benchmark run -d "sift_*" --dataset ~/faces   # folder with real/ and fake/
  python -m benchmark run --all --corruptions all --severities 1-5   # the full robustness grid
  python -m benchmark run --all --dataset ~/faces --crop-faces        # your data, faces cropped
  python -m benchmark run -d "fft_*" --train-on default --test-on ~/faces   # cross-dataset
  python -m benchmark run -d "fft_*,sift_*" --tune 8                  # tuned on validation
  python -m benchmark run --all --executor ray --address auto         # on a Ray cluster
  python -m benchmark predict --run runs/<work-folder> -d "fft_*" img1.png photos/ --out p.csv
  python -m benchmark report results/                 # rebuild tables, figures, index.html
  python -m benchmark datasets check ~/faces          # counts, unreadable files, shortcuts
  python -m benchmark weights list                    # where each pretrained file goes
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
        "--all",
        action="store_true",
        help="every registered detector; one whose pretrained weights are not on this machine "
        "is a 'not applicable' row (see `weights list`)",
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
        nargs="?",
        const="haar",
        default=None,
        choices=["haar", "mtcnn"],
        help="replace each image of a folder dataset by its largest face: haar (the default "
        "when no value is given; OpenCV's Haar cascade, a square crop with a margin) or mtcnn "
        "(DeepfakeBench's crops: MTCNN's five landmarks aligned to ArcFace's template, margin "
        "1.3, 256 px); images without a face are skipped and counted",
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
        default=_EXEC.out,
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
        default=_SPEC.device,
        help="where deep detectors train and run (auto: cuda when available); recorded per row",
    )
    r.add_argument(
        "--quick",
        action="store_true",
        help="tiny dataset, 1 epoch, 32 px: a smoke test (seconds per detector; --all: minutes)",
    )
    r.add_argument(
        "--corruptions",
        default="default",
        help="'default' (a subset that fits the time budget), 'all', 'none', 'imagenet-c' "
        "(ImageNet-C's 15), 'imagenet-c-extra' (its 4 held-out ones) or a comma list of names, "
        "wildcards, families and those groups",
    )
    r.add_argument(
        "--severities", default=",".join(map(str, _SPEC.severities)), help="e.g. 1-5 or 1,3,5"
    )
    r.add_argument(
        "--full-grid",
        action="store_true",
        help="the full robustness grid: every corruption at severities 1-5 and the whole "
        "resolution sweep, the heavy backbones included (they default to one severity per "
        "corruption); what results/full-grid/ holds. Replaces --corruptions/--severities/"
        "--resolutions",
    )
    r.add_argument(
        "--resolutions",
        default=FULL_RESOLUTIONS,
        help="resolution sweep in px ('none' to skip); sizes >= the test images' size are "
        "skipped (degrading never upscales)",
    )
    r.add_argument(
        "--executor",
        choices=["local", "ray"],
        default=_EXEC.executor,
        help="who runs the grid's cells: 'local' (this process, one after the other) or 'ray' "
        "(fits, chunks of conditions and timings as Ray tasks; needs pip install "
        "'fakebench[ray]', and --out and FAKEBENCH_CACHE on storage every node shares)",
    )
    r.add_argument(
        "--address",
        default=None,
        help="with --executor ray: the Ray cluster to join (e.g. 10.0.0.1:6379 or 'auto'); "
        "default: start Ray on this machine (or join RAY_ADDRESS when set)",
    )
    r.add_argument(
        "--task-cpus",
        type=int,
        default=_EXEC.task_cpus,
        metavar="N",
        help="with --executor ray: CPUs each fit and scoring task asks for (a timing task asks "
        "for all of a node's)",
    )
    r.add_argument("--no-timing", action="store_true", help="skip latency/throughput measurement")
    r.add_argument(
        "--timing-batches",
        default=",".join(map(str, _SPEC.timing_batches)),
        help="comma-separated batch sizes for timing",
    )
    r.add_argument(
        "--train-aug",
        choices=["none", "cnndetection"],
        default=_SPEC.train_aug,
        help="training augmentation (cnndetection: Wang et al. 2020 blur+JPEG, p=0.5)",
    )
    r.add_argument(
        "--threshold",
        choices=["youden", "max_f1"],
        default=_SPEC.threshold_rule,
        help="rule for the decision threshold tuned on validation (youden: max TPR-FPR, i.e. "
        "balanced accuracy; max_f1 can pick 'everything is fake' for weak detectors)",
    )
    r.add_argument(
        "--allow-random-init",
        action="store_true",
        help="ablation: when pretrained weights are absent, run from random init instead of a "
        "'not applicable' row (marked 'random init' in every table, figure and page)",
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
        const=8,  # benchmark.engine.tuning.DEFAULT_TUNE_N (not imported: --help stays instant)
        default=0,
        metavar="N",
        help="choose each detector's hyper-parameters on the validation split: up to N "
        "configurations of its search_space (defaults first; bare --tune: 8); rows get "
        "tuning=val:N, the chosen params, n_configs_tried and tuning_seconds. 0: defaults",
    )
    r.add_argument(
        "--recipe",
        choices=["cpu", "paper"],
        default=_SPEC.recipe,
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

    add_protocol_arguments(r)
    predict_cli.add_parser(sub)
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
        "(runs/.../runs/<run_id>), a rows.csv[.gz], or a published results folder "
        "(results/<dataset>, or results/ for all of them; its rows are rewritten as "
        "rows.csv + fits.csv)",
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

    from benchmark.cli.datasets import add_parser as add_datasets_parser

    add_datasets_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from benchmark.cli.datasets import cmd_datasets

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
    from benchmark.plugins import list_datasets, list_detectors, plugin_errors
    from benchmark.registry import DATASETS, DETECTORS

    if args.references:
        from benchmark.core.references import REFERENCES

        for ref in REFERENCES.values():
            print(f"{ref.short}: {ref.full}")
        return 0
    names = list_detectors(args.pattern) if args.pattern else list_detectors()
    print(f"{'detector':28} {'family':10} {'input':6} {'min px':6} paper")
    for name in names:
        m = DETECTORS.get(name).meta
        print(f"{name:28} {m.family:10} {str(m.input_size or 'any'):6} {m.min_side:<6} {m.paper}")
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


def cmd_predict(args: argparse.Namespace) -> int:
    return predict_cli.cmd_predict(args)


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark.cli.report import rebuild_report

    for path in rebuild_report(args.source, args.results, args.reference, args.bootstrap):
        print(path)
    return 0
