"""Official splits and lists (FF++, Celeb-DF, DFDC, DFDC preview, DeeperForensics) from tiny
synthetic videos: splits, labels, explicit groups and sampled frame indices by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.samples import DataError
from benchmark.data import load_folder
from benchmark.data.loader import detect_layout
from benchmark.data.manifest import build_dataset
from benchmark.data.official import scan_celeb, scan_ffpp
from benchmark.data.official_lists import scan_deeper, scan_dfdc, scan_preview
from benchmark.data.video import extract_frames, frame_indices

_SEED = iter(range(1, 10_000))


def vid(path: Path, frames: int = 6, step: int = 0) -> Path:
    """A 32-px mp4 whose frame ``f`` is a flat grey ``step*f`` (plus a per-video pattern)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(next(_SEED))
    pattern = rng.integers(0, 40, (32, 32, 3), dtype=np.uint8)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (32, 32))
    assert out.isOpened()
    for f in range(frames):
        grey = np.full((32, 32, 3), step * f, np.uint8)
        out.write(grey if step else ((pattern.astype(np.int64) + 10 * f) % 256).astype(np.uint8))
    out.release()
    return path


def samples(ds):
    return [(split, s) for split in ("train", "val", "test") for s in ds.splits[split]]


def split_of(ds) -> dict[str, str]:
    """Video id -> its one split (asserts that no video straddles two)."""
    where: dict[str, set[str]] = {}
    for split, s in samples(ds):
        where.setdefault(s.meta["group"], set()).add(split)
    assert all(len(v) == 1 for v in where.values()), where
    return {g: v.pop() for g, v in where.items()}


def test_frame_indices_evenly_spaced_and_decoded_in_order(tmp_path):
    assert frame_indices(10, 4) == [0, 3, 6, 9]
    assert frame_indices(10, 3) == [0, 4, 9]
    assert frame_indices(5, 32) == [0, 1, 2, 3, 4]  # a short video gives every frame once
    assert frame_indices(40, 32) == [int(i * 39 / 31) for i in range(32)]  # the default
    assert frame_indices(0, 32) == []
    import cv2

    video = vid(tmp_path / "v.mp4", frames=10, step=25)
    frames = extract_frames(video, 4)
    assert [int(p.stem.rsplit("-f", 1)[1]) for p in frames] == [0, 3, 6, 9]
    # the pixels are those frames (grey 25 * index), not whatever a seek landed on
    means = [float(cv2.imread(str(p)).mean()) for p in frames]
    assert np.allclose(means, [0, 75, 150, 225], atol=6), means
    assert extract_frames(video, 4) == frames  # cached, same files
    assert len(extract_frames(vid(tmp_path / "w.mp4", frames=40), 32)) == 32  # default count


# --- FaceForensics++ ---------------------------------------------------------------------------

FF_SPLITS = {
    "train": [["000", "001"], ["002", "003"], ["004", "005"]],
    "val": [["006", "007"]],
    "test": [["008", "009"]],
}


def ffpp(root: Path, methods=("Deepfakes", "Face2Face")) -> Path:
    splits = root / "dataset" / "splits"
    splits.mkdir(parents=True)
    for split, pairs in FF_SPLITS.items():
        (splits / f"{split}.json").write_text(json.dumps(pairs))
        for a, b in pairs:
            for i in (a, b):
                vid(root / "original_sequences/youtube/c23/videos" / f"{i}.mp4", frames=10)
            for m in methods:
                for t, s in ((a, b), (b, a)):
                    vid(root / "manipulated_sequences" / m / "c23/videos" / f"{t}_{s}.mp4", 10)
    return root


def test_ffpp_pairs_in_their_split_with_groups_sources_and_frames(tmp_path):
    root = ffpp(tmp_path / "ff")
    assert detect_layout(root) == "ff++"
    ds = build_dataset(scan_ffpp(root, frames_per_video=3))
    # 3/1/1 pairs: 2 originals + 2 fakes x 2 methods per pair, 3 frames each
    assert ds.summary() == {
        "train": {"real": 18, "fake": 36},
        "val": {"real": 6, "fake": 12},
        "test": {"real": 6, "fake": 12},
    }
    where = split_of(ds)
    real, fake = "ff++:original_sequences/youtube/c23/videos/", "ff++:manipulated_sequences/"
    assert where[real + "006"] == "val" and where[real + "009"] == "test"
    for split, pairs in FF_SPLITS.items():
        for a, b in pairs:
            for m in ("Deepfakes", "Face2Face"):
                assert where[f"{fake}{m}/c23/videos/{a}_{b}"] == split
                assert where[f"{fake}{m}/c23/videos/{b}_{a}"] == split
            assert where[real + a] == where[real + b] == split
    by_group = {s.meta["group"]: s for _, s in samples(ds)}
    f = by_group[f"{fake}Face2Face/c23/videos/003_002"]
    assert (f.label, f.meta["family"], f.meta["pair"]) == (1, "Face2Face", "002_003")
    assert f.meta["source"] == real + "003" and f.meta["video"] == f.meta["group"]
    r = by_group[real + "003"]
    assert (r.label, r.meta["family"], r.meta["pair"]) == (0, "real", "002_003")
    assert "source" not in r.meta and r.meta["compression"] == "c23"
    # every video, train or test, gives the same 3 frames: linspace(0, 9, 3) -> 0, 4, 9
    frames: dict[str, list[int]] = {}
    for _, s in samples(ds):
        frames.setdefault(s.meta["group"], []).append(s.meta["frame_index"])
    assert len(frames) == 30 and all(sorted(v) == [0, 4, 9] for v in frames.values())


def test_ffpp_missing_video_and_compression_errors_name_the_files(tmp_path):
    root = ffpp(tmp_path / "ff", methods=("Deepfakes",))
    (root / "manipulated_sequences/Deepfakes/c23/videos/009_008.mp4").unlink()
    with pytest.raises(DataError, match=r"test\.json: lists 009_008\.mp4, but .*009_008\.mp4"):
        scan_ffpp(root, frames_per_video=2)
    with pytest.raises(DataError, match=r"no c40/ folder .*found: c23"):
        load_folder(root, layout="ff++-c40")
    plain = tmp_path / "no_splits"
    vid(plain / "original_sequences/youtube/c23/videos/000.mp4")
    assert detect_layout(plain) == "video"  # without split files: the generic video layout


# --- Celeb-DF ----------------------------------------------------------------------------------

CELEB_TEST = [
    "1 Celeb-real/id6_0000.mp4",
    "1 Celeb-real/id7_0000.mp4",
    "1 YouTube-real/00003.mp4",
    "0 Celeb-synthesis/id6_id7_0000.mp4",
    "0 Celeb-synthesis/id7_id0_0000.mp4",
]


def celeb(root: Path, lines=CELEB_TEST) -> Path:
    for i in range(8):
        vid(root / "Celeb-real" / f"id{i}_0000.mp4")
        for j in (1, 2):  # each identity's clip swapped with the next two identities
            vid(root / "Celeb-synthesis" / f"id{i}_id{(i + j) % 8}_0000.mp4")
    for k in range(4):
        vid(root / "YouTube-real" / f"0000{k}.mp4")
    (root / "List_of_testing_videos.txt").write_text("\n".join(lines) + "\n")
    return root


def test_celeb_df_test_list_inverted_labels_and_identity_grouped_val(tmp_path):
    root = celeb(tmp_path / "celeb")
    assert detect_layout(root) == "celeb-df"
    ds = build_dataset(scan_celeb(root, frames_per_video=2))
    where = split_of(ds)
    test = {g for g, s in where.items() if s == "test"}
    assert test == {
        "celeb-df:Celeb-real/id6_0000",
        "celeb-df:Celeb-real/id7_0000",
        "celeb-df:YouTube-real/00003",
        "celeb-df:Celeb-synthesis/id6_id7_0000",
        "celeb-df:Celeb-synthesis/id7_id0_0000",
    }
    labels = {s.meta["group"]: s.label for _, s in samples(ds)}
    # the list says 1 for real: ours is 0
    assert labels["celeb-df:Celeb-real/id6_0000"] == labels["celeb-df:YouTube-real/00003"] == 0
    assert labels["celeb-df:Celeb-synthesis/id6_id7_0000"] == 1
    assert ds.summary()["test"] == {"real": 6, "fake": 4}
    # the rest is train + val: a real validation split, never a copy of test
    assert len(where) == 28 and ds.val and not test & {g for g, s in where.items() if s == "val"}
    ident: dict[str, set[str]] = {}
    for split, s in samples(ds):
        if split != "test" and s.meta.get("identity"):
            ident.setdefault(s.meta["identity"], set()).add(split)
    assert all(len(v) == 1 for v in ident.values()), ident  # an identity never straddles
    fake = next(s for _, s in samples(ds) if s.meta["group"].endswith("id6_id7_0000"))
    assert fake.meta["source"] == "celeb-df:Celeb-real/id6_0000"
    assert (fake.meta["identity"], fake.meta["swapped_in"]) == ("id6", "id7")


def test_celeb_df_list_errors(tmp_path):
    root = celeb(tmp_path / "a", CELEB_TEST + ["1 Celeb-real/id9_0000.mp4"])
    with pytest.raises(DataError, match=r"List_of_testing_videos\.txt: lists id9_0000\.mp4"):
        scan_celeb(root)
    root = celeb(tmp_path / "b", ["0 Celeb-real/id6_0000.mp4"])
    with pytest.raises(DataError, match=r":1: Celeb-real/id6_0000\.mp4 is listed as fake.*1 means"):
        scan_celeb(root)


# --- DFDC and its preview ------------------------------------------------------------------------


def dfdc(root: Path, test_part: bool) -> Path:
    for part in range(2):
        folder = root / f"dfdc_train_part_{part}"
        meta = {}
        split = "test" if test_part and part == 1 else "train"
        for k in range(5):
            orig = f"r{part}{k}.mp4"
            meta[orig] = {"label": "REAL", "split": split}
            vid(folder / orig, frames=4)
            for j in range(1 + (k == 0)):
                meta[f"f{part}{k}{j}.mp4"] = {"label": "FAKE", "original": orig, "split": split}
                vid(folder / f"f{part}{k}{j}.mp4", frames=4)
        (folder / "metadata.json").write_text(json.dumps(meta))
    return root


def test_dfdc_metadata_labels_sources_and_drawn_splits(tmp_path):
    root = dfdc(tmp_path / "dfdc", test_part=False)
    assert detect_layout(root) == "dfdc"
    ds = build_dataset(scan_dfdc(root, frames_per_video=2))
    where = split_of(ds)
    assert len(where) == 22 and all(ds.splits[s] for s in ("train", "val", "test"))
    by_group = {s.meta["group"]: s for _, s in samples(ds)}
    for group, s in by_group.items():
        name = group.rsplit("/", 1)[1]
        assert s.label == (name[0] == "f")
        if s.label:  # a fake sits in the split of the original it was made from
            assert s.meta["source"] == f"dfdc:dfdc_train_part_{name[1]}/r{name[1:3]}"
            assert where[group] == where[s.meta["source"]]
    assert frame_indices(4, 2) == [0, 3]
    assert {s.meta["frame_index"] for _, s in samples(ds)} == {0, 3}


def test_dfdc_given_test_split_and_missing_video(tmp_path):
    root = dfdc(tmp_path / "dfdc", test_part=True)
    ds = build_dataset(scan_dfdc(root, frames_per_video=1))
    where = split_of(ds)
    assert {g for g, s in where.items() if s == "test"} == {
        g for g in where if g.startswith("dfdc:dfdc_train_part_1/")
    }
    assert ds.val and all(
        g.startswith("dfdc:dfdc_train_part_0/") for g in where if where[g] == "val"
    )
    (root / "dfdc_train_part_1" / "f100.mp4").unlink()
    with pytest.raises(DataError, match=r"part_1/metadata\.json: lists f100\.mp4"):
        scan_dfdc(root)


def test_dfdc_preview_sets_families_and_same_named_real_and_fake(tmp_path):
    root = tmp_path / "preview"
    listing = {}
    for k in range(10):
        subject = f"{1000 + k}/{1000 + k}_A"
        method = "method_A" if k % 2 else "method_B"
        split = "test" if k >= 8 else "train"
        for folder, label in (("original_videos", "real"), (method, "fake")):
            rel = f"{folder}/{subject}/clip.mp4"  # a real and its fake share the file name
            vid(root / rel, frames=3)
            listing[rel] = {"label": label, "set": split}
    (root / "dataset.json").write_text(json.dumps(listing))
    assert detect_layout(root) == "dfdc-preview"
    ds = build_dataset(scan_preview(root, frames_per_video=2))
    where = split_of(ds)
    assert len(where) == 20  # 10 reals and 10 fakes named clip.mp4, each its own group
    assert where["dfdc-preview:original_videos/1008/1008_A/clip"] == "test"
    assert where["dfdc-preview:method_B/1008/1008_A/clip"] == "test"
    for k in range(8):  # val drawn from train, a subject's real and fake together
        pair = {g for g in where if f"/{1000 + k}/" in g}
        assert len({where[g] for g in pair}) == 1 and where[pair.pop()] != "test"
    assert ds.val
    fams = {s.meta["family"] for _, s in samples(ds) if s.label}
    assert fams == {"method_A", "method_B"}
    assert ds.summary()["test"] == {"real": 4, "fake": 4}


# --- DeeperForensics-1.0 ------------------------------------------------------------------------


def test_deeperforensics_lists_reals_follow_their_fakes(tmp_path):
    root = tmp_path / "deeper"
    lists = {"train": ["000_M101.mp4", "001_M101.mp4", "002_W102.mp4", "003_W102.mp4"]}
    lists |= {"val": ["004_M103.mp4", "005_M103.mp4"], "test": ["006_W104.mp4", "007_W104.mp4"]}
    (root / "lists/splits").mkdir(parents=True)
    for split, names in lists.items():
        (root / "lists/splits" / f"{split}.txt").write_text("\n".join(names) + "\n")
        for name in names:
            vid(root / "manipulated_videos/end_to_end" / name, frames=5)
            vid(root / "target_videos" / f"{name[:3]}.mp4", frames=5)
    assert detect_layout(root) == "deeperforensics"
    ds = load_folder(root)  # through the registry, default frame count (5 frames: all of them)
    assert ds.description.startswith("deeperforensics")
    where = split_of(ds)
    for split, names in lists.items():
        for name in names:
            fake = f"deeperforensics:manipulated_videos/end_to_end/{name[:-4]}"
            assert where[fake] == where[f"deeperforensics:target_videos/{name[:3]}"] == split
    assert ds.summary()["val"] == {"real": 10, "fake": 10}
    fake = next(s for _, s in samples(ds) if s.label and "002_W102" in s.id)
    assert (fake.meta["identity"], fake.meta["source"]) == (
        "W102",
        "deeperforensics:target_videos/002",
    )
    assert sorted(s.meta["frame_index"] for _, s in samples(ds) if "002_W102" in s.id) == [
        0,
        1,
        2,
        3,
        4,
    ]
    (root / "target_videos/007.mp4").unlink()
    with pytest.raises(DataError, match=r"test\.txt: lists 007\.mp4"):
        scan_deeper(root)
