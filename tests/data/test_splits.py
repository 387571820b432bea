"""Leak-free splits, duplicates across splits, face crops, cross-dataset matrix, datasets CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import Sample
from benchmark.data import load_folder, split_samples


def _img(path: Path, seed: int, size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


@given(
    n_groups=st.integers(10, 30),
    per_group=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_grouped_split_never_puts_a_group_in_two_parts(n_groups, per_group, seed):
    samples, groups = [], []
    for g in range(n_groups):
        for k in range(per_group + g % 2):
            samples.append(Sample(f"{g}-{k}", g % 2))
            groups.append(f"video{g}")
    a, b = split_samples(samples, groups, 0.2, seed)
    group_of = dict(zip([s.id for s in samples], groups, strict=True))
    assert not {group_of[s.id] for s in a} & {group_of[s.id] for s in b}
    assert {s.label for s in b} == {0, 1} and len(a) + len(b) == len(samples)


def test_stratified_split_is_seeded_and_keeps_the_class_ratio():
    samples = [Sample(str(i), int(i < 30)) for i in range(100)]
    groups = [str(i) for i in range(100)]
    a, b = split_samples(samples, groups, 0.2, 5)
    assert len(b) == 20 and sum(s.label for s in b) == 6
    assert [s.id for s in split_samples(samples, groups, 0.2, 5)[1]] == [s.id for s in b]


def test_identical_files_stay_in_one_split_and_given_splits_report_them(tmp_path):
    root = tmp_path / "auto"
    for i in range(20):
        _img(root / "real" / f"{i}.png", i)
        _img(root / "fake" / f"{i}.png", 100 + i)
    for k in range(3):  # three copies of one real photo
        (root / "real" / f"copy{k}.png").write_bytes((root / "real" / "0.png").read_bytes())
    ds = load_folder(root, seed=1)
    assert ds.duplicates == []
    copies = [
        split
        for split, ss in ds.splits.items()
        for s in ss
        if s.id in ("real/0.png", "real/copy0.png", "real/copy1.png", "real/copy2.png")
    ]
    assert len(set(copies)) == 1  # the automatic split keeps exact duplicates together
    given = tmp_path / "given"
    for k, split in enumerate(("train", "test")):  # distinct seeds: no accidental copies
        for i in range(6):
            _img(given / split / "real" / f"{i}.png", 200 + 10 * k + i)
            _img(given / split / "fake" / f"{i}.png", 600 + 10 * k + i)
    (given / "test" / "real" / "dup.png").write_bytes(
        (given / "train" / "real" / "1.png").read_bytes()
    )
    ds = load_folder(given)
    assert len(ds.duplicates) == 1
    assert set(ds.duplicates[0]["files"]) == {"train/real/1.png", "test/real/dup.png"}


def test_face_crops_keep_faces_and_count_images_without_one(tmp_path):
    import cv2
    from skimage import data

    face = cv2.resize(data.astronaut(), (160, 160), interpolation=cv2.INTER_AREA)
    for i in range(6):
        for label in ("real", "fake"):
            (tmp_path / label).mkdir(exist_ok=True)
            pixels = np.clip(face.astype(int) + 3 * i + (label == "fake"), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(tmp_path / "fake" / "noface.png")
    ds = load_folder(tmp_path, crop_faces=True)
    assert ds.skip_counts() == {"no_face": 1} and ds.name.endswith("-faces")
    crop = ds.train[0].load()
    assert crop.shape[0] == crop.shape[1] and crop.shape[0] < 160
    again = load_folder(tmp_path, crop_faces=True)  # cached crops and "no face" answers
    assert again.fingerprint == ds.fingerprint


def _two_sets(tmp_path: Path) -> tuple[Path, Path]:
    roots = []
    for name, offset in (("setA", 0), ("setB", 1000)):
        root = tmp_path / name
        for i in range(16):
            _img(root / "real" / f"{i}.png", offset + i)
            _img(root / "fake" / f"{i}.png", offset + 500 + i)
        roots.append(root)
    return roots[0], roots[1]


def test_cross_dataset_matrix(tmp_path, capsys):
    from benchmark.cli import main

    a, b = _two_sets(tmp_path)
    code = main(
        [
            "run",
            "-d",
            "fft_spectrum,metadata_baseline",
            "--train-on",
            str(a),
            "--test-on",
            str(b),
            "--out",
            str(tmp_path / "runs"),
            "--results",
            str(tmp_path / "res"),
            "--no-timing",
        ]
    )
    assert code == 0, capsys.readouterr().out
    with (tmp_path / "res" / "generalisation.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["metric"] == "roc_auc"]
    cells = {(r["detector"], r["train_on"], r["test_on"]) for r in rows}
    assert cells == {
        (d, "setA", t) for d in ("fft_spectrum", "metadata_baseline") for t in ("setA", "setB")
    }
    md = (tmp_path / "res" / "generalisation.md").read_text()
    assert "| detector | train_on | setA | setB |" in md


def test_cross_dataset_needs_both_options(tmp_path, capsys):
    from benchmark.cli import main

    assert main(["run", "-d", "fft_spectrum", "--train-on", "default"]) == 2
    assert "--test-on" in capsys.readouterr().err


def test_datasets_command_lists_cards_and_checks_a_folder(tmp_path, capsys):
    from benchmark.cli import main

    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "openforensics" in out and "folders" in out and "coco" in out
    (tmp_path / "fake").mkdir()
    for i in range(12):  # a shortcut on purpose: reals are 32 px PNG, fakes 48 px JPEG
        _img(tmp_path / "real" / f"{i}.png", i)
        pixels = np.random.default_rng(i).integers(0, 256, (48, 48, 3), np.uint8)
        Image.fromarray(pixels).save(tmp_path / "fake" / f"{i}.jpg", quality=70)
    (tmp_path / "real" / "zero.png").write_bytes(b"")
    assert main(["datasets", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "zero_byte" in out and "WARNING: size_px alone separates" in out
    assert "WARNING: format alone separates" in out and "metadata-only baseline test AUC" in out


def test_datasets_check_counts_images_below_each_detectors_minimum(tmp_path, capsys):
    from benchmark.cli import main
    from benchmark.plugins import detector_meta, list_detectors

    for i in range(10):  # reals 20 px: below the 32 px of FFT/SIFT/Harris, above the CNNs' 16
        _img(tmp_path / "real" / f"{i}.png", i, size=20)
        _img(tmp_path / "fake" / f"{i}.png", 100 + i, size=40)
    assert main(["datasets", "check", str(tmp_path), "--no-baseline"]) == 0
    out = capsys.readouterr().out
    at32 = [n for n in list_detectors() if detector_meta(n).min_side == 32]
    assert {"fft_spectrum", "sift_svm"} <= set(at32)
    [line] = [line for line in out.splitlines() if line.strip().startswith("< 32 px")]
    assert all(n in line for n in at32)
    counts = dict(part.split() for part in line.split(": ", 1)[1].split(", "))
    assert sum(int(n) for n in counts.values()) == 10  # every real, no fake
    assert "< 16 px" not in out


@pytest.mark.parametrize("argv", [["datasets", "check"], ["datasets", "check", "/nonexistent"]])
def test_datasets_check_errors_are_readable(argv, capsys):
    from benchmark.cli import main

    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_cross_dataset_mixes_registered_and_folder_datasets(tmp_path, capsys):
    from benchmark.cli import main

    a, _ = _two_sets(tmp_path)
    argv = [
        "run",
        "-d",
        "fft_spectrum",
        "--train-on",
        "default",
        "--test-on",
        str(a),
        "--quick",
        "--layout",
        "folders",
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "res"),
        "--no-timing",
    ]
    assert main(argv) == 0, capsys.readouterr()
    md = (tmp_path / "res" / "generalisation.md").read_text()
    assert "| fft_spectrum | default-quick |" in md and "setA" in md
