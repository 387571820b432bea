"""End to end through the CLI with --quick, plus error handling and single-image predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.cli import main, parse_seeds


@pytest.mark.slow
def test_run_quick_end_to_end(tmp_path, capsys, tiny_dataset):
    out, results = tmp_path / "runs", tmp_path / "results"
    argv = [
        "run",
        "-d",
        "fft_spectrum,scratch_cnn",
        "--quick",
        "--out",
        str(out),
        "--results",
        str(results),
        "--timing-batches",
        "1,4",
    ]
    assert main(argv) == 0
    results = results / "default-quick"  # published per dataset
    board = pd.read_csv(results / "leaderboard.csv")
    assert set(board["detector"]) == {"fft_spectrum", "scratch_cnn"}
    assert (board["status"] == "ok").all() and board["roc_auc"].between(0, 1).all()
    for table in ("robustness.csv", "resolution.csv", "timing.csv", "leaderboard.md"):
        assert (results / table).stat().st_size > 0, table
    assert not pd.read_csv(results / "robustness.csv").empty
    work = next(out.iterdir())
    rows_files = list(work.glob("runs/*/rows.csv"))
    rows = pd.read_csv(rows_files[0])
    assert {"run_id", "git_sha", "versions", "params", "seed", "device"} <= set(rows.columns)

    # a second run fits nothing again: fitted detectors and predictions are reused
    fit_mtime = (work / "detectors" / "scratch_cnn" / "fit.json").stat().st_mtime_ns
    assert main(argv) == 0
    assert (work / "detectors" / "scratch_cnn" / "fit.json").stat().st_mtime_ns == fit_mtime

    # single-image predict with the tuned threshold
    img = tiny_dataset.test[0].path
    capsys.readouterr()
    assert main(["predict", str(work), "-d", "fft_spectrum", str(img)]) == 0
    printed = capsys.readouterr().out
    assert str(img) in printed and ("FAKE" in printed or "real" in printed)

    # an image below the detector's minimum side is named and not scored, as a run leaves it out
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(tiny)
    assert main(["predict", str(work), "-d", "fft_spectrum", str(img), str(tiny)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(str(img) in line and ("FAKE" in line or "real" in line) for line in lines)
    [line] = [line for line in lines if str(tiny) in line]
    assert "not scored" in line and "8 px" in line and "minimum of 32 px" in line


def test_failing_detector_becomes_a_row(tmp_path, monkeypatch, tiny_dataset):
    from benchmark import registry
    from benchmark.engine.config import ExecutionConfig, RunSpec
    from benchmark.protocol import BaseDetector
    from benchmark.run import run

    class Boom(BaseDetector):
        def __init__(self, seed: int = 0):
            self.seed = seed

        def _fit(self, train, val):
            raise RuntimeError("kaboom")

    registry.register_detector(
        family="baseline", paper="t", input_size=None, normalisation="none", name="zz_boom"
    )(lambda **kw: Boom(**kw))
    try:
        spec = RunSpec(detectors=("zz_boom", "fft_spectrum"), timing=False)
        result = run(spec, tiny_dataset, execution=ExecutionConfig(out=tmp_path))
        run_dir, outcomes = result.run_dir, result.outcomes
    finally:
        registry.DETECTORS.remove("zz_boom")
    assert [o.ok for o in outcomes] == [False, True]
    rows = pd.read_csv(run_dir / "rows.csv")
    assert rows[rows["detector"] == "zz_boom"]["error"].str.contains("kaboom").all()
    assert (rows[rows["detector"] == "fft_spectrum"]["metric"] == "roc_auc").any()


def test_bad_dataset_path_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    assert (
        main(["run", "-d", "fft_spectrum", "--dataset", str(tmp_path), "--out", str(tmp_path)]) == 2
    )
    assert "fake" in capsys.readouterr().err


def test_dataset_options_reach_the_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    argv = ["run", "-d", "fft_spectrum", "--out", str(tmp_path / "runs"), "--results",
            str(tmp_path / "results"), "--corruptions", "none", "--resolutions", "none",
            "--no-timing", "--dataset-opt", "n_images=60", "--dataset-opt", "patch=32"]  # fmt: skip
    assert main(argv) == 0
    assert "dataset default-n60-32px" in capsys.readouterr().out
    assert main([*argv, "--dataset-opt", "colour"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_several_seeds_give_per_seed_tables_and_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    results = tmp_path / "results"
    argv = ["run", "-d", "fft_spectrum", "--quick", "--seed", "3,5", "--out",
            str(tmp_path / "runs"), "--results", str(results), "--corruptions", "none",
            "--resolutions", "none", "--no-timing"]  # fmt: skip
    assert main(argv) == 0
    seeds = results / "default-quick" / "seeds"
    assert (seeds / "seed3" / "leaderboard.csv").is_file()
    assert (seeds / "seed5" / "leaderboard.csv").is_file()
    summary = pd.read_csv(seeds / "leaderboard_seeds.csv")
    assert summary["n_seeds"].tolist() == [2] and summary["seeds"].tolist() == ["3,5"]
    per_seed = [pd.read_csv(seeds / f"seed{s}" / "leaderboard.csv")["roc_auc"][0] for s in (3, 5)]
    assert summary["roc_auc_mean"][0] == pytest.approx(sum(per_seed) / 2)
    assert {p.name.split("-seed")[1] for p in (tmp_path / "runs").iterdir()} == {"3-none", "5-none"}


@given(st.lists(st.integers(0, 50), min_size=1, max_size=6, unique=True))
def test_parse_seeds_reads_lists_and_ranges(seeds):
    assert parse_seeds(",".join(map(str, seeds))) == seeds
    lo, hi = min(seeds), max(seeds)
    assert parse_seeds(f"{lo}-{hi}") == list(range(lo, hi + 1))


@pytest.mark.parametrize("bad", ["", "a", "3-1", "-1", "1,,2", "1-"])
def test_parse_seeds_rejects_junk(bad):
    with pytest.raises(ValueError, match="--seed"):
        parse_seeds(bad)


def test_predict_unknown_run_dir(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "-d", "fft_spectrum", "x.png"]) == 2
    assert "no fitted" in capsys.readouterr().err


def test_predict_missing_run_folder_says_so_and_suggests(tmp_path, capsys):
    (tmp_path / "default-abc-seed0-none").mkdir()
    assert main(["predict", str(tmp_path / "default-abd-seed0-none"), "-d", "x", "a.png"]) == 2
    err = capsys.readouterr().err
    assert "run folder not found" in err and "default-abc-seed0-none" in err


def test_predict_suggests_near_detector_names(tmp_path, capsys):
    fitted = tmp_path / "detectors" / "fft_spectrum"
    fitted.mkdir(parents=True)
    (fitted / "fit.json").write_text("{}")
    assert main(["predict", str(tmp_path), "-d", "fft_spectrm", "a.png"]) == 2
    assert "did you mean 'fft_spectrum'" in capsys.readouterr().err


def test_every_option_of_every_subcommand_has_help():
    import argparse

    from benchmark.cli import _parser

    parser = _parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in subs.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert not missing, f"options without help text: {missing}"


def test_help_mentions_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for word in ("list", "run", "predict", "report"):
        assert word in text
