"""Folder datasets: both layouts, stratified seeded split, clear errors naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import DataError, as_samples, read_image
from benchmark.data import load_dataset, load_folder


def _write(folder, n, size=16, fmt="png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), i * 10 % 255, np.uint8)).save(
            folder / f"{i}.{fmt}"
        )


def test_flat_layout_is_split_stratified_and_seeded(tmp_path):
    _write(tmp_path / "real", 20)
    _write(tmp_path / "fake" / "faceswap", 10, fmt="jpg")
    _write(tmp_path / "fake" / "gan", 10)
    ds = load_folder(tmp_path, seed=3)
    summary = ds.summary()
    assert sum(v["real"] + v["fake"] for v in summary.values()) == 40
    for split in ("train", "val", "test"):
        assert summary[split]["real"] > 0 and summary[split]["fake"] > 0
    ids = [s.id for split in ds.splits.values() for s in split]
    assert len(ids) == len(set(ids))
    assert {s.meta["family"] for s in ds.train if s.label == 1} == {"faceswap", "gan"}
    again = load_folder(tmp_path, seed=3)
    assert [s.id for s in again.test] == [s.id for s in ds.test]
    assert again.fingerprint == ds.fingerprint
    assert load_dataset(str(tmp_path)).name == tmp_path.name


def test_given_splits_are_kept(tmp_path):
    for split in ("train", "test"):
        _write(tmp_path / split / "real", 6)
        _write(tmp_path / split / "fake", 6)
    ds = load_folder(tmp_path)
    assert len(ds.test) == 12
    assert len(ds.train) + len(ds.val) == 12 and ds.val  # val carved from train when absent


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_folder(tmp_path / "nope")
    (tmp_path / "real").mkdir()
    with pytest.raises(DataError, match="fake"):
        load_folder(tmp_path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match="bad.png"):
        read_image(bad)


@given(st.binary(max_size=256))
def test_reading_arbitrary_bytes_never_crashes_otherwise(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("blob") / "x.jpg"
    path.write_bytes(blob)
    try:
        img = read_image(path)
    except DataError as exc:
        assert "x.jpg" in str(exc)
    else:
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_as_samples_accepts_arrays_and_converts():
    gray = np.zeros((8, 8), np.uint8)
    rgba = np.zeros((8, 8, 4), np.uint8)
    floats = np.ones((8, 8, 3), np.float32)
    samples = as_samples([gray, rgba, floats])
    assert all(s.load().shape == (8, 8, 3) and s.load().dtype == np.uint8 for s in samples)
    assert samples[2].load().max() == 255
    with pytest.raises(DataError, match="shape"):
        as_samples([np.zeros((2, 2, 2, 2))])
