"""End to end through the CLI with --quick, plus error handling and single-image predict."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.cli import main


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


def test_failing_detector_becomes_a_row(tmp_path, monkeypatch, tiny_dataset):
    from benchmark import harness, registry
    from benchmark.protocol import BaseDetector

    class Boom(BaseDetector):
        def __init__(self, seed: int = 0):
            self.seed = seed

        def _fit(self, train, val):
            raise RuntimeError("kaboom")

    registry.register_detector(
        family="baseline", paper="t", input_size=None, normalisation="none", name="zz_boom"
    )(lambda **kw: Boom(**kw))
    try:
        cfg = harness.RunConfig(detectors=("zz_boom", "fft_spectrum"), out=tmp_path, timing=False)
        run_dir, outcomes = harness.run(cfg, tiny_dataset)
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


def test_predict_unknown_run_dir(tmp_path, capsys):
    assert main(["predict", str(tmp_path), "-d", "fft_spectrum", "x.png"]) == 2
    assert "no fitted" in capsys.readouterr().err


def test_help_mentions_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for word in ("list", "run", "predict", "report"):
        assert word in text
