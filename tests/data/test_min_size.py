"""Per-detector minimum image size (issue #10): smaller images are skipped, named and counted
for that detector only; the others score them; labels never change."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import Dataset, Sample
from benchmark.data import (
    ALL_DETECTORS,
    BELOW_MIN_SIZE,
    drop_below_min_side,
    load_folder,
    read_skipped,
    write_skipped,
)
from benchmark.plugins import create_detector
from benchmark.protocol import detector_min_side
from benchmark.registry import DETECTORS
from tests.conftest import _tiny_image

# 20 px: below fft_spectrum's 32-px minimum, above metadata_baseline's 1 px
SMALL = {
    "train": ["real/s0.png", "fake/s1.png"],
    "val": ["fake/s2.png"],
    "test": ["real/s3.png", "fake/s4.png"],
}


def _small_folder(root: Path) -> Path:
    """train/ val/ test/ with real/ and fake/ of 32-px PNGs, plus the 20x24 ones in ``SMALL``."""
    rng = np.random.default_rng(7)
    for split, n in (("train", 10), ("val", 4), ("test", 6)):
        for label, cls in ((0, "real"), (1, "fake")):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(_tiny_image(rng, 32, bool(label))).save(folder / f"{i:02d}.png")
        for name in SMALL[split]:
            img = _tiny_image(rng, 32, name.startswith("fake"))[:24, :20]  # 20 wide, 24 high
            Image.fromarray(np.ascontiguousarray(img)).save(root / split / name)
    return root


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory) -> Path:
    return _small_folder(tmp_path_factory.mktemp("minsize") / "faces")


def test_minimum_follows_the_parameters_it_comes_from():
    assert detector_min_side(create_detector("fft_spectrum", n_points=128)) == 64
    assert detector_min_side(create_detector("harris_retrieval_cos", grid=4)) == 16
    assert detector_min_side(create_detector("sift_svm", step=4)) == 64
    with pytest.raises(ValueError, match="min_side"):
        type(DETECTORS.get("fft_spectrum").meta)("x", "baseline", "p", None, "none", min_side=0)


def test_drop_uses_the_sizes_checked_at_load_without_decoding(small_folder, monkeypatch):
    ds = load_folder(small_folder)
    import PIL.Image

    def no_decoding(*a, **k):
        raise AssertionError("an image was opened again")

    monkeypatch.setattr(PIL.Image, "open", no_decoding)
    view, dropped = drop_below_min_side(ds, 32, "fft_spectrum")
    assert sorted(d["file"] for d in dropped) == sorted(
        f"{split}/{name}" for split, names in SMALL.items() for name in names
    )
    assert {d["reason"] for d in dropped} == {BELOW_MIN_SIZE}
    assert all(d["detector"] == "fft_spectrum" and "20x24 px" in d["detail"] for d in dropped)
    assert all("32 px" in d["detail"] for d in dropped)
    assert {d["split"] for d in dropped} == {"train", "val", "test"}
    assert view.fingerprint == ds.fingerprint and view.name == ds.name
    assert drop_below_min_side(ds, 16, "scratch_cnn") == (ds, [])


@given(
    sides=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=1, max_size=12),
    min_side=st.integers(1, 13),
)
def test_drop_keeps_exactly_the_large_enough_images_and_their_labels(sides, min_side):
    samples = [
        Sample(f"img{i}", i % 2, None, {"family": "x"}, np.zeros((h, w, 3), np.uint8))
        for i, (h, w) in enumerate(sides)
    ]
    ds = Dataset("d", {"train": samples[::2], "val": [], "test": samples[1::2]}, "fp")
    view, dropped = drop_below_min_side(ds, min_side, "det")
    for split in ("train", "val", "test"):
        want = [s for s in ds.splits[split] if min(s.pixels.shape[:2]) >= min_side]
        assert view.splits[split] == want  # same objects, same order: labels untouched
    left_out = {s.id for s in samples if min(s.pixels.shape[:2]) < min_side}
    assert {d["file"] for d in dropped} == left_out and len(dropped) == len(left_out)


def _run(dataset: Path, out: Path, detectors: str, **spec):
    from benchmark.engine.config import ExecutionConfig, RunSpec
    from benchmark.run import run

    ds = load_folder(dataset)
    config = RunSpec(detectors=tuple(detectors.split(",")), timing=False, **spec)
    result = run(config, ds, execution=ExecutionConfig(out=out))
    return ds, result.run_dir, result.outcomes


def test_one_detector_skips_the_small_images_another_scores_them(small_folder, tmp_path):
    import pandas as pd

    from benchmark import report
    from benchmark.results.store import read_rows

    ds, run_dir, outcomes = _run(small_folder, tmp_path, "fft_spectrum,metadata_baseline")
    fft, meta = outcomes
    assert fft.ok and meta.ok, (fft.error, meta.error)
    small_ids = {f"{split}/{n}" for split, names in SMALL.items() for n in names}
    assert {d["file"] for d in fft.skipped} == small_ids
    assert meta.skipped == []
    rows = read_rows(run_dir / "rows.csv")
    board = report.leaderboard(rows, pd.DataFrame([])).set_index("detector")
    n_test = len(ds.test)
    assert board.loc["metadata_baseline", "n"] == n_test
    assert board.loc["fft_spectrum", "n"] == n_test - len(SMALL["test"])
    scores = {}
    with (run_dir / "scores.csv").open() as fh:
        for r in csv.DictReader(fh):
            scores.setdefault(r["detector"], {})[r["sample_id"]] = int(r["label"])
    assert small_ids & set(scores["metadata_baseline"]) == {f"test/{n}" for n in SMALL["test"]}
    assert not small_ids & set(scores["fft_spectrum"])
    truth = {s.id: s.label for s in ds.test}
    assert all(truth[i] == y for det in scores.values() for i, y in det.items())  # no relabel
    fit = json.loads((tmp_path.glob("*/detectors/fft_spectrum/fit.json").__next__()).read_text())
    assert fit["data_key"]  # a fit on a subset is cached under that subset only


def test_no_test_image_left_is_not_applicable(small_folder, tmp_path):
    # n_points=512 asks for 256-px images: nothing here is large enough
    _, _, (out,) = _run(
        small_folder, tmp_path, "fft_spectrum", overrides={"fft_spectrum": {"n_points": 512}}
    )
    assert out.error.startswith("not applicable") and "256 px" in out.error
    assert len(out.skipped) == sum(len(s) for s in load_folder(small_folder).splits.values())


def test_skipped_csv_reads_old_files_and_merges_per_detector(tmp_path, tiny_dataset):
    (tmp_path / "skipped.csv").write_text("dataset,reason,count\ntiny,too_small,3\n")
    assert read_skipped(tmp_path / "skipped.csv") == [
        {"dataset": "tiny", "detector": ALL_DETECTORS, "reason": "too_small", "count": 3}
    ]
    first = [{"file": "a.png", "reason": BELOW_MIN_SIZE, "detail": "", "detector": "x"}]
    write_skipped(tiny_dataset, tmp_path, files=False, detector_skips=first, detectors=["x", "y"],
                  merge=True)  # fmt: skip
    write_skipped(tiny_dataset, tmp_path, files=False, detectors=["y"], merge=True)
    got = {(r["detector"], r["reason"]): r["count"] for r in read_skipped(tmp_path / "skipped.csv")}
    # the old load-time row belongs to the dataset as loaded now (tiny skips nothing): replaced
    assert got == {("x", BELOW_MIN_SIZE): 1, ("y", BELOW_MIN_SIZE): 0}


def test_run_end_to_end_counts_names_and_publishes_per_detector(small_folder, tmp_path, capsys):
    from benchmark.cli import main

    argv = ["run", "--dataset", str(small_folder), "--corruptions", "none", "--resolutions",
            "none", "--no-timing", "--out", str(tmp_path / "runs"), "--results",
            str(tmp_path / "res")]  # fmt: skip
    assert main([*argv, "-d", "fft_spectrum,metadata_baseline"]) == 0
    out, err = capsys.readouterr()
    for split, names in SMALL.items():  # one log line per file, naming it and both sizes
        for name in names:
            line = next(x for x in err.splitlines() if f"{split}/{name}" in x)
            assert BELOW_MIN_SIZE in line and "20x24 px" in line and "32 px" in line
    assert "fft_spectrum 5 (train 2, val 1, test 2)" in out
    assert "different test subsets" in out and "n=12: fft_spectrum" in out
    pub = tmp_path / "res" / small_folder.name
    counts = {(r["detector"], r["reason"]): r["count"] for r in read_skipped(pub / "skipped.csv")}
    assert counts == {("fft_spectrum", BELOW_MIN_SIZE): 5, ("metadata_baseline", BELOW_MIN_SIZE): 0}
    run_files = next((tmp_path / "runs").glob("*/runs/*/skipped_files.csv"))
    with run_files.open() as fh:
        listed = [r for r in csv.DictReader(fh) if r["reason"] == BELOW_MIN_SIZE]
    assert len(listed) == 5 and {r["detector"] for r in listed} == {"fft_spectrum"}
    with (pub / "leaderboard.csv").open() as fh:
        n = {r["detector"]: int(r["n"]) for r in csv.DictReader(fh)}
    assert n == {"fft_spectrum": 12, "metadata_baseline": 14}
    # a later run of one detector keeps the other's published counts
    assert main([*argv, "-d", "metadata_baseline"]) == 0
    counts = {(r["detector"], r["reason"]): r["count"] for r in read_skipped(pub / "skipped.csv")}
    assert counts[("fft_spectrum", BELOW_MIN_SIZE)] == 5


def test_list_shows_each_minimum(capsys):
    from benchmark.cli import main

    assert main(["list", "fft_*"]) == 0
    out = capsys.readouterr().out
    assert "min px" in out and any(
        line.startswith("fft_spectrum ") and " 32 " in line for line in out.splitlines()
    )
