"""The leaderboard built from long-form rows: types, labels, failures and the shortcut mark."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark import publish, report
from benchmark.results.store import read_rows


def _rows(detector: str, auc: float, *, pretrained: object = "", n_params: float = 193.0):
    base = {"detector": detector, "dataset": "d", "train_aug": "none", "error": ""}
    base["pretrained"] = pretrained
    test = base | {"split": "test", "condition": "clean", "subset": "all"}
    return [
        test | {"metric": "roc_auc", "value": auc},
        test | {"metric": "accuracy", "value": 0.6},
        test | {"subset": "splice", "metric": "roc_auc", "value": auc - 0.1},
        base | {"split": "val", "condition": "clean", "subset": "all", "metric": "roc_auc",
                "value": auc},
        base | {"split": "train", "condition": "fit", "subset": "", "metric": "n_parameters",
                "value": n_params},
        base | {"split": "train", "condition": "fit", "subset": "", "metric": "train_seconds",
                "value": 1.5},
    ]  # fmt: skip


def _frame(tmp_path, rows):
    """Through CSV and ``read_rows``, as ``report`` reads a run's rows."""
    path = tmp_path / "rows.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return read_rows(path)


def test_leaderboard_types_and_labels(tmp_path):
    rows = _rows("fft_spectrum", 0.8) + _rows("cnn", 0.7, n_params=16872386.0)
    rows += _rows("resnet", 0.6, pretrained=False) + _rows("effnet", 0.9, pretrained=True)
    rows += _rows("metadata_baseline", 0.5)
    board = report.leaderboard(_frame(tmp_path, rows), pd.DataFrame()).set_index("detector")
    assert list(board.index[:2]) == ["effnet", "fft_spectrum"]  # sorted by AUC
    assert board.loc["cnn", "n_parameters"] == 16872386
    assert str(board["n_parameters"].dtype) == "Int64"
    assert board.loc["effnet", "pretrained"] == "yes"
    assert board.loc["resnet", "pretrained"] == "no (random init)"
    assert board.loc["fft_spectrum", "pretrained"] == "n/a"
    assert board.loc["fft_spectrum", "auc_splice"] == pytest.approx(0.7)
    assert board.loc["resnet", "beats_metadata_baseline"] == "yes"  # 0.6 >= 0.5 + margin
    md = report.markdown(board.reset_index(), *(pd.DataFrame(),) * 4, title="d")
    assert "nan" not in md and "<NA>" not in md and "16872386 |" in md


def test_failed_detector_keeps_its_row(tmp_path):
    failed = {"detector": "broken", "dataset": "d", "split": "train", "condition": "",
              "subset": "", "metric": "error", "value": "", "train_aug": "none",
              "pretrained": "", "error": "RuntimeError: boom"}  # fmt: skip
    rows = _rows("fft_spectrum", 0.8) + _rows("metadata_baseline", 0.79) + [failed]
    board = report.leaderboard(_frame(tmp_path, rows), pd.DataFrame()).set_index("detector")
    assert board.loc["broken", "status"] == "failed"
    assert "boom" in board.loc["broken", "error"]
    assert pd.isna(board.loc["broken", "roc_auc"])
    assert board.loc["fft_spectrum", "beats_metadata_baseline"] == "NO"  # within the margin


def test_csv_keeps_parameter_counts_exact(tmp_path):
    from benchmark.core.io import atomic_write_csv

    path = atomic_write_csv(tmp_path / "t.csv", pd.DataFrame({"value": [16872386.0, 0.123456789]}))
    back = pd.read_csv(path)["value"]
    assert back[0] == 16872386 and back[1] == pytest.approx(0.123456789, abs=1e-10)


def _board(seed: int, auc: float, status: str = "ok") -> pd.DataFrame:
    return pd.DataFrame(
        {"detector": ["a", "b"], "dataset": "d", "status": ["ok", status],
         "roc_auc": [auc, auc - 0.1 if status == "ok" else float("nan")],
         "accuracy": [0.6, 0.5], "auc_splice": [0.5, 0.4], "seed": seed}
    )  # fmt: skip


def test_seed_summary_statistics_and_failed_seeds(tmp_path):
    summary = report.seed_summary([_board(0, 0.8), _board(1, 0.7), _board(2, 0.9, "failed")])
    a, b = (summary.set_index("detector").loc[k] for k in ("a", "b"))
    assert a["n_seeds"] == 3 and a["failed_seeds"] == 0 and a["seeds"] == "0,1,2"
    assert a["roc_auc_mean"] == pytest.approx(0.8) and a["roc_auc_std"] == pytest.approx(0.1)
    assert (a["roc_auc_min"], a["roc_auc_max"]) == (0.7, 0.9)
    assert b["n_seeds"] == 2 and b["failed_seeds"] == 1
    assert b["roc_auc_mean"] == pytest.approx(0.65)  # the failed seed is left out
    assert a["auc_splice_mean"] == pytest.approx(0.5)
    paths = report.write_seed_summary(summary, tmp_path)
    md = paths["seeds_markdown"].read_text()
    assert "0.800 ± 0.100 (0.700–0.900)" in md and "nan" not in md
    assert pd.read_csv(paths["seeds"])["n_seeds"].tolist() == [3, 2]


def test_seed_summary_keeps_tuned_and_default_fits_apart(tmp_path):
    boards = [
        pd.concat(
            [_board(s, auc).assign(tuning="default"), _board(s, auc + 0.1).assign(tuning="val:8")]
        )  # fmt: skip
        for s, auc in ((0, 0.6), (1, 0.7))
    ]
    summary = report.seed_summary(boards).set_index(["detector", "tuning"])
    assert summary.loc[("a", "default"), "roc_auc_mean"] == pytest.approx(0.65)
    assert summary.loc[("a", "val:8"), "roc_auc_mean"] == pytest.approx(0.75)
    assert summary.loc[("a", "val:8"), "n_seeds"] == 2
    md = report.write_seed_summary(summary.reset_index(), tmp_path)["seeds_markdown"].read_text()
    assert "| detector | dataset | tuning |" in md


def test_published_seed_summary_counts_seed_zero_from_the_dataset_folder(tmp_path):
    folder = tmp_path / "default"
    (folder / "seeds" / "seed1").mkdir(parents=True)
    _board(0, 0.8).to_csv(folder / "leaderboard.csv", index=False)
    _board(1, 0.6).to_csv(folder / "seeds" / "seed1" / "leaderboard.csv", index=False)
    publish.write_seed_summary(folder)
    summary = pd.read_csv(folder / "seeds" / "leaderboard_seeds.csv").set_index("detector")
    assert summary.loc["a", "seeds"] == "0,1"
    assert summary.loc["a", "roc_auc_mean"] == pytest.approx(0.7)


def test_condition_tables_keep_tuned_and_default_fits_apart(tmp_path):
    """A tuned fit scored on clean only, beside its default fit scored on jpeg too (what
    ``run --tune 8 --corruptions none`` publishes next to ``run --all``): each corrupted row's
    clean value is its own fit's, and the tables are written (this once raised in pandas)."""
    rows = []
    for tuning, auc in (("default", 0.8), ("val:8", 0.9)):
        for r in _rows("fft_spectrum", auc) + _rows("scratch_cnn", auc - 0.1):
            rows.append(r | {"tuning": tuning})
    for det, clean in (("fft_spectrum", 0.8), ("scratch_cnn", 0.7)):
        for sev in (1, 3):
            rows.append({"detector": det, "dataset": "d", "train_aug": "none", "error": "",
                         "tuning": "default", "split": "test", "condition": f"jpeg@{sev}",
                         "corruption": "jpeg", "severity": sev, "subset": "all",
                         "metric": "roc_auc", "value": clean - 0.1 * sev})  # fmt: skip
    cols = {"corruption": "", "severity": None, "resolution": None, "mode": "", "n": 10,
            "params": "{}"}  # fmt: skip
    frame = _frame(tmp_path, [cols | r for r in rows])
    robust = report.condition_table(frame, "corruption")
    assert set(robust["tuning"]) == {"default"} and len(robust) == 4
    fft = robust[robust["detector"] == "fft_spectrum"]
    assert fft["clean_value"].tolist() == [0.8, 0.8]  # the default fit's clean AUC, not 0.9
    assert fft["diff_from_clean"].round(6).tolist() == [-0.1, -0.3]
    summary = report.robustness_summary(robust, "scratch_cnn").set_index("detector")
    assert summary.loc["fft_spectrum", "tuning"] == "default"
    assert summary.loc["fft_spectrum", "mean_roc_auc"] == pytest.approx(0.6)
    assert summary.loc["scratch_cnn", "mCE"] == pytest.approx(1.0)
    paths = publish.write_tables(frame, pd.DataFrame(), tmp_path / "tables", "scratch_cnn")
    assert paths["robustness_summary"].is_file()
