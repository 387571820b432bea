"""Every layout from a tiny generated fixture: detected, labelled, split, generator kept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.core.samples import DataError, cache_dir
from benchmark.data import load_dataset, load_folder
from benchmark.data.loader import detect_layout


def img(path: Path, seed: int, size: int = 32, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, fmt)
    return path


def _all(ds):
    return [s for split in ("train", "val", "test") for s in ds.splits[split]]


def test_class_folders_any_case_and_01_prefix_with_generators(tmp_path):
    for i in range(12):
        img(tmp_path / "a" / "Real" / f"{i}.png", i)
        img(tmp_path / "a" / "FAKE" / f"{i}.jpg", 100 + i)
    ds = load_folder(tmp_path / "a")
    assert sum(s.label == 1 for s in _all(ds)) == 12 and detect_layout(tmp_path / "a") == "folders"
    root = tmp_path / "b"
    for i in range(12):
        img(root / "0-real" / "ffhq" / f"{i}.png", i)
        img(root / "1-fake" / ("stylegan" if i % 2 else "stylegan2") / f"{i}.png", 200 + i)
    ds = load_folder(root)
    fakes = [s for s in _all(ds) if s.label == 1]
    assert {s.meta["generator"] for s in fakes} == {"stylegan", "stylegan2"}
    assert {s.meta["family"] for s in fakes} == {"stylegan", "stylegan2"}  # results break down
    assert all(s.label == 0 for s in _all(ds) if "0-real" in s.id)


def test_datalist_layout(tmp_path):
    for split, n in (("train", 10), ("val", 4), ("test", 4)):
        lines = []
        for i in range(n):
            for label in (0, 1):
                seed = 100 * ("train", "val", "test").index(split) + 2 * i + label  # distinct
                p = img(tmp_path / split / f"{label}_{i}.png", seed)
                lines.append(f"{p.relative_to(tmp_path)} {label}")
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n")
    ds = load_folder(tmp_path)
    assert ds.description.startswith("datalist")
    assert ds.summary() == {
        "train": {"real": 10, "fake": 10},
        "val": {"real": 4, "fake": 4},
        "test": {"real": 4, "fake": 4},
    }
    assert all(s.label == int(Path(s.id).name[0]) for s in _all(ds))
    manifest = cache_dir() / "manifests" / f"{ds.name}-{ds.fingerprint}.csv"
    with manifest.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 36 and {r["split"] for r in rows} == {"train", "val", "test"}


def test_yolo_layout_labels_per_image(tmp_path):
    for split in ("train", "test"):
        for i in range(8):
            for label in (0, 1):
                img(tmp_path / split / "images" / f"{label}_{i}.jpg", i * 2 + label)
                lab = tmp_path / split / "labels" / f"{label}_{i}.txt"
                lab.parent.mkdir(parents=True, exist_ok=True)
                lab.write_text(f"{label} 0.5 0.5 0.4 0.4\n")
    (tmp_path / "train" / "labels" / "1_0.txt").write_text("0 0.5 0.5 0.1 0.1\n1 0.2 0.2 0.1 0.1\n")
    ds = load_folder(tmp_path)
    assert ds.description.startswith("yolo")
    assert all(s.label == int(Path(s.id).name[0]) for s in _all(ds))
    assert ds.skip_counts() == {"conflicting_label": 1}
    assert len(ds.test) == 16 and ds.val


def test_csv_layout_text_labels_win_and_disagreement_is_reported(tmp_path):
    rows = ["id,label,label_str,path"]
    for i in range(20):
        fake = i % 2
        p = img(tmp_path / "imgs" / f"{i}.jpg", i)
        # the Kaggle 140k convention: 1 = real in the number column; the words decide
        rows.append(f"{i},{1 - fake},{'fake' if fake else 'real'},{p.relative_to(tmp_path)}")
    (tmp_path / "data.csv").write_text("\n".join(rows))
    ds = load_folder(tmp_path)
    assert ds.description.startswith("csv")
    assert all(s.label == int(Path(s.id).stem) % 2 for s in _all(ds))


def _coco(tmp_path: Path, split: str, n: int) -> None:
    images, anns = [], []
    for i in range(n):
        name = f"{split}/{i}.jpg"
        img(tmp_path / name, i, size=64)
        images.append({"id": i, "file_name": name, "width": 64, "height": 64})
        anns.append({"id": 2 * i, "image_id": i, "category_id": 0, "bbox": [2, 2, 20, 20]})
        anns.append({"id": 2 * i + 1, "image_id": i, "category_id": 1, "bbox": [30, 30, 24, 24]})
    anns.append({"id": 999, "image_id": 0, "category_id": 1, "bbox": [1, 2, -3, 4]})
    cats = [{"id": 0, "name": "Real"}, {"id": 1, "name": "Fake"}]
    doc = {"images": images, "annotations": anns, "categories": cats}
    (tmp_path / f"{split}_poly.json").write_text(json.dumps(doc))


def test_coco_layout_crops_every_box(tmp_path):
    for split, n in (("Train", 8), ("Val", 3), ("Test-Dev", 3)):
        _coco(tmp_path, split, n)
    ds = load_folder(tmp_path, box_margin=0.0)
    assert ds.description.startswith("coco")
    assert ds.summary()["train"] == {"real": 8, "fake": 8}
    assert ds.summary()["test"] == {"real": 3, "fake": 3}
    assert ds.skip_counts() == {"bad_box": 3}
    real = next(s for s in ds.train if s.label == 0)
    assert real.load().shape == (20, 20, 3)  # the box itself (margin 0), read from the crop cache
    assert (real.meta["width"], real.meta["format"]) == (20, "PNG")  # describes the crop
    assert "#2_2_20_20" in real.id


def test_video_layout_frames_grouped_by_video(tmp_path):
    import cv2

    for label in ("original_sequences/youtube", "manipulated_sequences/Deepfakes"):
        for v in range(6):
            path = tmp_path / label / "videos" / f"{v}.avi"
            path.parent.mkdir(parents=True, exist_ok=True)
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (32, 32))
            for f in range(6):
                out.write(np.full((32, 32, 3), (v * 30 + f * 5) % 255, np.uint8))
            out.release()
    (tmp_path / "original_sequences" / "youtube" / "videos" / "bad.avi").write_bytes(b"nope")
    ds = load_folder(tmp_path, frames_per_video=3, val_frac=0.25, test_frac=0.25)
    assert ds.description.startswith("video")
    assert ds.skip_counts() == {"unreadable_video": 1}
    where = {}
    for split, samples in ds.splits.items():
        for s in samples:
            where.setdefault(s.meta["video"], set()).add(split)
    assert len(where) == 12 and all(len(v) == 1 for v in where.values())  # no video straddles
    # FaceForensics++: a fake (manipulated_sequences/.../3.avi) shares the split of original 3
    for v in range(6):
        real, fake = (
            f"{d}/videos/{v}.avi"
            for d in ("original_sequences/youtube", "manipulated_sequences/Deepfakes")
        )
        assert where[real] == where[fake]
    assert {s.meta["generator"] for s in _all(ds) if s.label} == {"Deepfakes"}


def test_layout_can_be_forced_and_unknown_layout_is_named(tmp_path):
    for i in range(6):
        img(tmp_path / "real" / f"{i}.png", i)
        img(tmp_path / "fake" / f"{i}.png", 50 + i)
    (tmp_path / "train.txt").write_text("real/0.png 0\n")
    with pytest.raises(DataError, match="at least 2 real"):  # detected as datalist: 1 line
        load_folder(tmp_path)
    ds = load_dataset(str(tmp_path), layout="folders")
    assert ds.description.startswith("folders") and len(_all(ds)) == 12
    with pytest.raises(KeyError, match="unknown layout"):
        load_folder(tmp_path, layout="nope")
    with pytest.raises(DataError, match="no known dataset layout"):
        load_folder(tmp_path / "real")


def test_stray_files_do_not_change_the_detected_layout(tmp_path):
    for i in range(6):
        img(tmp_path / "real" / f"{i}.png", i)
        img(tmp_path / "fake" / f"{i}.png", 50 + i)
    (tmp_path / "real" / "0.txt").write_text("notes\n")  # looks like a YOLO label file
    (tmp_path / "fake" / "clip.mp4").write_bytes(b"\x00")  # one stray video
    assert detect_layout(tmp_path) == "folders"
    assert len(_all(load_folder(tmp_path))) == 12


def test_fingerprint_follows_crop_settings(tmp_path):
    for split, n in (("Train", 4), ("Val", 2), ("Test-Dev", 2)):
        _coco(tmp_path, split, n)
    a = load_folder(tmp_path, box_margin=0.0)
    b = load_folder(tmp_path, box_margin=0.5)
    assert a.fingerprint != b.fingerprint  # other pixels: fitted detectors must not be reused
    assert load_folder(tmp_path, box_margin=0.0).fingerprint == a.fingerprint
