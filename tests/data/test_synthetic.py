"""The default dataset: determinism, splits by photo, balance, families, caching, registry."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.core.samples import DataError
from benchmark.data import load_dataset, load_folder, synthetic


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def quick(cache: Path):
    return synthetic.default(quick=True)


def _folder(ds) -> Path:
    """The built dataset's folder: sample ids are paths relative to it."""
    s = ds.test[0]
    return s.path.parents[len(Path(s.id).parts) - 1]


def _files(ds) -> dict[str, bytes]:
    return {s.id: s.path.read_bytes() for split in ds.splits.values() for s in split}


def test_same_seed_gives_byte_identical_images(tmp_path: Path, quick) -> None:
    again = synthetic.default(quick=True, cache=tmp_path / "other")
    assert again.fingerprint == quick.fingerprint
    assert _files(again) == _files(quick)
    different = synthetic.default(quick=True, seed=1, cache=tmp_path / "seed1")
    assert different.fingerprint != quick.fingerprint


def test_no_source_photo_in_two_splits(quick) -> None:
    groups = {split: {s.meta["source_group"] for s in ss} for split, ss in quick.splits.items()}
    assert groups["train"].isdisjoint(groups["val"])
    assert groups["train"].isdisjoint(groups["test"])
    assert groups["val"].isdisjoint(groups["test"])
    donors = {
        split: {s.meta["donor"] for s in ss if "donor" in s.meta}
        for split, ss in quick.splits.items()
    }
    for split, names in donors.items():
        for other, ss in quick.splits.items():
            if other != split:
                assert names.isdisjoint({s.meta["source"] for s in ss})
                assert names.isdisjoint(donors[other])


def test_every_split_is_balanced_with_several_photos(quick) -> None:
    for split, ss in quick.splits.items():
        counts = Counter(s.label for s in ss)
        assert counts[0] == counts[1] > 0, split
        fams = Counter(s.meta["family"] for s in ss if s.label == 1)
        assert max(fams.values()) - min(fams.values()) <= 1, (split, fams)
        assert len({s.meta["source_group"] for s in ss}) >= 2, split
    sizes = {split: len(ss) for split, ss in quick.splits.items()}
    assert sum(sizes.values()) == 96 and sizes["train"] > sizes["val"]


def test_families_images_and_metadata(quick) -> None:
    samples = [s for ss in quick.splits.values() for s in ss]
    assert {s.meta["family"] for s in samples} == {"real", *synthetic.FAMILIES}
    for s in samples:
        assert (s.meta["family"] == "real") == (s.label == 0)
        assert s.path.suffix == ".png" and "source" in s.meta and "jpeg_quality" in s.meta
    shapes = {s.load().shape for s in samples}
    dtypes = {s.load().dtype for s in samples}
    assert shapes == {(64, 64, 3)} and dtypes == {np.dtype(np.uint8)}
    gan = [s for s in samples if s.meta["family"] == "gan_upsample"]
    assert all(s.meta["upsample_factor"] in (2, 4) for s in gan)
    assert all("jpeg_q1" in s.meta for s in samples if s.meta["family"] == "resample_jpeg")
    assert all("donor" in s.meta for s in samples if s.meta["family"] == "splice")


def test_second_call_reads_the_cache(quick, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    mtimes = {s.id: s.path.stat().st_mtime_ns for s in quick.test}
    monkeypatch.setattr(synthetic, "build", boom)
    again = synthetic.default(quick=True)
    assert again.fingerprint == quick.fingerprint and again.name == "default-quick"
    assert {s.id: s.path.stat().st_mtime_ns for s in again.test} == mtimes
    folder = _folder(quick)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no tmp left over
    with pytest.raises(AssertionError, match="rebuilt"):
        synthetic.default(quick=True, seed=7)


def test_cache_folder_is_also_a_valid_folder_dataset(quick) -> None:
    folder = _folder(quick)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["fingerprint"] == quick.fingerprint
    as_folder = load_folder(folder)
    assert {s.meta["family"] for s in as_folder.test} == {"real", *synthetic.FAMILIES}


def test_broken_manifest_is_a_clear_error(quick) -> None:
    folder = _folder(quick)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="manifest.json"):
        synthetic.default(quick=True)


def test_bad_size_knobs_are_rejected(cache: Path) -> None:
    with pytest.raises(ValueError, match="n_images"):
        synthetic.default(n_images=30)
    with pytest.raises(ValueError, match="patch"):
        synthetic.default(n_images=60, patch=100)


@settings(deadline=None, max_examples=15)
@given(side=st.sampled_from([32, 48, 64, 128]), seed=st.integers(0, 2**32 - 1))
def test_manipulations_keep_shape_and_dtype(side: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    patch = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    out, meta = synthetic.gan_upsample(patch, rng)
    assert out.shape == patch.shape and out.dtype == np.uint8 and meta["upsample_factor"] in (2, 4)
    donor = rng.integers(0, 256, (side // 2, side // 2, 3), dtype=np.uint8)
    out, meta = synthetic.splice(patch, donor, rng)
    assert out.shape == patch.shape and out.dtype == np.uint8 and meta["region"] == side // 2
    photo = rng.integers(0, 256, (2 * side, 2 * side + 7, 3), dtype=np.uint8)
    out, meta = synthetic.resample_jpeg(photo, side, rng, gray=False)
    assert out.shape == patch.shape and out.dtype == np.uint8
    assert meta["scale"] > 1 and 40 <= meta["jpeg_q1"] <= 80


def test_splice_blends_three_ways_and_touches_only_its_region() -> None:
    rng = np.random.default_rng(0)
    side, d = 64, 28
    seen = Counter()
    for _ in range(40):
        patch = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        donor = rng.integers(0, 256, (d, d, 3), dtype=np.uint8)
        out, meta = synthetic.splice(patch, donor, rng)
        seen[meta["clone"]] += 1
        cx, cy = meta["centre"]
        inside = np.zeros((side, side), bool)
        inside[cy - d // 2 - 1 : cy + d // 2 + 1, cx - d // 2 - 1 : cx + d // 2 + 1] = True
        assert np.array_equal(out[~inside], patch[~inside]), meta  # nothing outside the paste
        assert not np.array_equal(out[inside], patch[inside]), meta
        if meta["clone"] == "feather":
            assert 1.0 <= meta["feather"] <= 4.0
    assert set(seen) == {"normal", "mixed", "feather"}


def test_registered_as_default(cache: Path) -> None:
    from benchmark.plugins import list_datasets

    assert "default" in list_datasets()
    ds = load_dataset("default", quick=True)
    assert ds.name == "default-quick" and ds.summary()["test"]["real"] > 0


def test_size_options_by_name_and_in_the_dataset_name(cache: Path, tmp_path: Path) -> None:
    ds = load_dataset("default", n_images=60, patch=32)
    assert ds.name == "default-n60-32px" and sum(len(v) for v in ds.splits.values()) == 60
    assert {s.load().shape for s in ds.test} == {(32, 32, 3)}
    with pytest.raises(ValueError, match="no option 'size'.*n_images, patch"):
        load_dataset("default", size=64)
    (tmp_path / "real").mkdir()
    with pytest.raises(ValueError, match="only to registered datasets"):
        load_dataset(str(tmp_path), n_images=60)


def test_datasets_folder_is_not_a_package(repo_root: Path) -> None:
    assert (repo_root / "datasets" / "README.md").is_file()
    assert (repo_root / "datasets" / "default.md").is_file()
    assert not (repo_root / "datasets" / "__init__.py").exists()


def test_a_cached_build_is_reused_only_by_the_packages_that_made_it(tmp_path, monkeypatch):
    """Another numpy/OpenCV/Pillow/scikit-image build means another cache folder, so a build
    made by other packages is never published as this machine's."""
    synthetic.default(quick=True, cache=tmp_path)
    assert len(list(tmp_path.glob("default-*"))) == 1
    assert "opencv-contrib-python=" in synthetic._builder_versions()
    monkeypatch.setattr(synthetic, "_builder_versions", lambda: "numpy=0.0")
    synthetic.default(quick=True, cache=tmp_path)
    assert len(list(tmp_path.glob("default-*"))) == 2
