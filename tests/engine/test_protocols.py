"""Held-out manipulations (``run --leave-one-out``) and DeepfakeBench's protocol (``run
--protocol deepfakebench``) on tiny datasets, with a detector whose answer shows what it saw:
it scores a fake 1 when its family was among its training fakes and 0 otherwise (a real 0.5),
so the AUC on a family it never saw is 0 and on a family it saw 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import registry
from benchmark.cli import main
from benchmark.core.samples import Dataset, Sample
from benchmark.engine.leave_one_out import families, family_test, leave_one_out_sets
from benchmark.engine.protocol import CROSS, WITHIN
from benchmark.protocol import BaseDetector
from benchmark.report.protocol import AVG_CROSS, AVG_WITHIN, PUBLISHED, protocol_matrix
from tests.data.test_official import celeb, ffpp

FITS: list[tuple[str, ...]] = []


class Memo(BaseDetector):
    def __init__(self, seed: int = 0):
        self.seed = seed

    def _fit(self, train, val):
        self.seen_ = sorted({s.meta.get("family") for s in train if s.label})
        FITS.append(tuple(self.seen_))

    def _predict_fake(self, samples):
        return [0.5 if s.label == 0 else float(s.meta.get("family") in self.seen_)
                for s in samples]  # fmt: skip


@pytest.fixture
def memo():
    registry.register_detector(
        family="baseline", paper="t", input_size=None, normalisation="none", name="zz_memo"
    )(lambda **kw: Memo(**kw))
    FITS.clear()
    yield "zz_memo"
    registry.DETECTORS.remove("zz_memo")


def _folder(root: Path, fams=("fam_a", "fam_b", "fam_c")) -> Path:
    """train/val/test with real/ and fake/<family>/ of 16-px PNGs."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("val", 2), ("test", 2)):
        for sub in ("real", *(f"fake/{f}" for f in fams)):
            for i in range(n * (len(fams) if sub == "real" else 1)):
                path = root / split / sub / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
    return root


def test_views_hold_one_family_out_of_train_and_val_only():
    def s(i, label, fam):
        return Sample(f"{i}", label, None, {"family": fam}, np.zeros((8, 8, 3), np.uint8))

    splits = {split: [s(f"{split}{i}", int(f != "real"), f) for i, f in
                      enumerate(["real", "real", "a", "b", "c"])]
              for split in ("train", "val", "test")}  # fmt: skip
    ds = Dataset("d", splits, "fp0")
    assert families(ds) == ["a", "b", "c"]
    views = leave_one_out_sets(ds)
    wo_b = views["b"]
    assert wo_b.name == "d-without-b"
    assert [x.meta["family"] for x in wo_b.train] == [x.meta["family"] for x in wo_b.val] == [
        "real", "real", "a", "c"]  # fmt: skip
    assert wo_b.test == ds.test  # scored on the whole test split
    fps = {v.fingerprint for v in views.values()} | {ds.fingerprint}
    assert len(fps) == 4  # the held-out family is part of every fit's key
    only = family_test(ds, "c", "d-c")
    assert (only.train, only.val, [x.meta["family"] for x in only.test]) == (
        [], [], ["real", "real", "c"])  # fmt: skip
    with pytest.raises(ValueError, match="at least two manipulation families"):
        leave_one_out_sets(Dataset("one", {k: [x for x in v if x.meta["family"] in ("real", "a")]
                                           for k, v in splits.items()}, "fp1"))  # fmt: skip


def test_leave_one_out_cli_table_fits_and_leaderboard_section(tmp_path, memo):
    data, out, res = _folder(tmp_path / "data"), tmp_path / "out", tmp_path / "res"
    common = ["-d", memo, "--dataset", str(data), "--out", str(out), "--results", str(res),
              "--no-timing", "--corruptions", "none", "--resolutions", "none"]  # fmt: skip
    assert main(["run", *common]) == 0  # an ordinary run first: its leaderboard.md
    n_fits = len(FITS)
    assert main(["run", *common, "--leave-one-out"]) == 0
    # the full fit is the ordinary run's (cached); one new fit per family, each without it
    assert sorted(FITS[n_fits:]) == [("fam_a", "fam_b"), ("fam_a", "fam_c"), ("fam_b", "fam_c")]
    fits = sorted(p.parents[2].name for p in out.rglob("zz_memo/fit.json"))  # work folders
    assert len(fits) == 4 and sum("-without-fam_" in f for f in fits) == 3
    folder = res / "data"
    table = pd.read_csv(folder / "leave_one_out.csv")
    assert sorted(table["held_out"]) == ["fam_a", "fam_b", "fam_c"]
    assert (table["roc_auc_unseen"] == 0).all() and (table["roc_auc_in_distribution"] == 1).all()
    assert (table["auc_drop"] == 1).all() and (table["roc_auc_seen"] == 1).all()
    assert set(table["n"]) == {6 + 2}  # test: 6 reals and the family's 2 fakes
    board_md = (folder / "leaderboard.md").read_text()
    assert "## Held-out manipulations" in board_md and "0.000 (1.000)" in board_md
    # a later publish of the folder re-derives leaderboard.md and keeps the section
    assert main(["run", *common]) == 0
    assert (folder / "leaderboard.md").read_text().count("## Held-out manipulations") == 1
    n_fits = len(FITS)
    assert main(["run", *common, "--leave-one-out"]) == 0
    assert len(FITS) == n_fits  # every fit cached


def test_frames_per_video_default_is_32_for_every_video_layout():
    import inspect

    from benchmark.data.loader import FOLDER_OPTIONS, load_folder

    assert FOLDER_OPTIONS["frames_per_video"] == 32  # DeepfakeBench's count, train and test
    assert inspect.signature(load_folder).parameters["frames_per_video"].default == 32


def test_published_table_transcribed_consistently():
    """Each published row's averages are the means of its columns, to the 4 printed digits."""
    within = PUBLISHED[list(WITHIN)].mean(axis=1)
    cross = PUBLISHED[list(CROSS)].mean(axis=1)
    assert np.abs(within - PUBLISHED[AVG_WITHIN]).max() < 1e-4
    assert np.abs(cross - PUBLISHED[AVG_CROSS]).max() < 1e-4
    assert PUBLISHED.at["Xception", "FF++_c23"] == 0.9637
    assert PUBLISHED.at["Xception", AVG_CROSS] == 0.7718
    assert PUBLISHED[AVG_CROSS].idxmax() == "SPSL" and PUBLISHED[AVG_CROSS].max() == 0.7875


def test_matrix_layout_puts_the_published_row_under_its_counterpart():
    cells = [("FF++_c23", 0.9), ("FF-DF", 0.95), ("DFDC", 0.6), ("CDFv2", 0.7), ("", 0.1)]
    frame = pd.DataFrame([{"detector": "xception", "train_on": "ff", "test_on": f"t{i}",
                           "subset": "all", "metric": "roc_auc", "value": v, "column": c}
                          for i, (c, v) in enumerate(cells)])  # fmt: skip
    table = protocol_matrix(frame)
    assert list(table.columns) == [
        "detector",
        "source",
        "FF++_c23",
        "FF-DF",
        AVG_WITHIN,
        "CDFv2",
        "DFDC",
        AVG_CROSS,
    ]  # DeepfakeBench's column order
    ours, theirs = table.iloc[0], table.iloc[1]
    assert (ours["source"], theirs["detector"]) == ("fakebench", "Xception")
    assert ours[AVG_CROSS] == pytest.approx(0.65)
    # the published average over the same columns, not over its eight
    assert theirs[AVG_CROSS] == pytest.approx((0.7365 + 0.7077) / 2)
    assert theirs["FF++_c23"] == 0.9637


def test_deepfakebench_protocol_on_tiny_ffpp_and_celeb_df(tmp_path, memo):
    root = ffpp(tmp_path / "FaceForensics++", methods=(
        "Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter"))  # fmt: skip
    for folder in [root / "original_sequences/youtube", *root.glob("manipulated_sequences/*")]:
        shutil.copytree(folder / "c23", folder / "c40")
    cdf = celeb(tmp_path / "Celeb-DF-v2")
    res = tmp_path / "res"
    argv = ["run", "-d", memo, "--protocol", "deepfakebench", "--dataset", str(root),
            "--test-on", str(cdf), "--frames-per-video", "2", "--out", str(tmp_path / "out"),
            "--results", str(res)]  # fmt: skip
    assert main(argv) == 0
    assert FITS == [("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")]  # no FaceShifter
    frame = pd.read_csv(res / "deepfakebench" / "deepfakebench.csv")
    auc = frame[frame["metric"] == "roc_auc"].groupby("column")["value"].first()
    seen = ["FF++_c23", "FF++_c40", "FF-DF", "FF-F2F", "FF-FS", "FF-NT"]
    assert auc[seen].eq(1.0).all() and auc[["Fsh", "CDFv2"]].eq(0.0).all()
    vid = frame[(frame["metric"] == "video_roc_auc") & (frame["column"] == "FF++_c23")]
    assert vid["value"].iloc[0] == 1.0 and vid["n"].iloc[0] == 2 + 2 * 4  # test: one pair
    n_frames = frame[(frame["metric"] == "roc_auc") & (frame["column"] == "FF++_c23")]["n"]
    assert n_frames.iloc[0] == 2 * (2 + 2 * 4)  # 2 frames per video, as in train
    text = (res / "deepfakebench" / "deepfakebench.md").read_text()
    assert "DeepfakeBench selects each checkpoint on the test set" in text
    assert "| zz_memo | fakebench | 1.000 |" in text and "Video-level ROC-AUC" in text


def test_a_run_on_videos_has_video_level_columns_and_scores(tmp_path, memo):
    root = ffpp(tmp_path / "ff", methods=("Deepfakes", "FaceSwap"))
    res = tmp_path / "res"
    argv = ["run", "-d", memo, "--dataset", str(root), "--frames-per-video", "2", "--out",
            str(tmp_path / "out"), "--results", str(res), "--no-timing", "--corruptions",
            "jpeg", "--severities", "3", "--resolutions", "none"]  # fmt: skip
    assert main(argv) == 0
    board = pd.read_csv(res / "ff" / "leaderboard.csv").set_index("detector")
    # test: one pair -> 2 real and 2 x 2 fake videos, 2 frames each
    assert (board.at[memo, "n"], board.at[memo, "n_videos"]) == (12, 6)
    assert board.at[memo, "video_roc_auc"] == board.at[memo, "roc_auc"] == 1.0
    assert board.at[memo, "video_rank"] == 1 and "video_roc_auc_lo" in board
    scores = pd.read_csv(res / "ff" / "scores.csv", dtype=str)
    assert scores["video"].str.startswith("ff++:").all() and scores["video"].nunique() == 6
    robust = pd.read_csv(res / "ff" / "robustness.csv")
    assert set(robust["metric"]) >= {"roc_auc", "video_roc_auc"}  # every table, both levels
    assert "## Video level" in (res / "ff" / "leaderboard.md").read_text()
