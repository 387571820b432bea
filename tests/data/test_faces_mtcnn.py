"""Face pipelines: MTCNN's landmarks and DeepfakeBench's alignment on a real photograph,
the crop cache key, detection rates per split and class, and the Haar path beside it.

The photograph is scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain; 512 px).
Its five landmarks were read by hand from an 8-10x enlargement with a pixel grid: pupil
centres, the nose tip between the nostrils, the mouth corners.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from benchmark.core.samples import DataError, Dataset, Sample
from benchmark.data import faces, faces_mtcnn, load_folder

needs_mtcnn = pytest.mark.skipif(
    importlib.util.find_spec("facenet_pytorch") is None,
    reason="facenet-pytorch is not installed (make setup installs it)",
)

# (x, y) in the 512 px astronaut: left eye, right eye (as seen), nose tip, mouth left, right
HAND = np.array([[203.5, 101.0], [246.5, 103.0], [224.0, 127.0], [204.5, 140.5], [242.5, 141.5]])
LANDMARK_TOL = 4.0  # px: a tenth of the 43 px between her eyes
EYE_TOL = 6.0  # px in the 256 px aligned crop: the similarity fit spreads her smile's width


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _face_folder(root, face: np.ndarray, *, splits: bool) -> None:
    """6 real + 6 fake copies of ``face`` (pixel offsets), and one fake grey image (no face)."""
    import cv2

    face = cv2.resize(face, (160, 160), interpolation=cv2.INTER_AREA)
    where = {i: ("train" if i < 3 else "val" if i == 3 else "test") for i in range(6)}
    for i in range(6):
        for label in ("real", "fake"):
            folder = root / where[i] / label if splits else root / label
            folder.mkdir(parents=True, exist_ok=True)
            pixels = np.clip(face.astype(int) + 3 * i + (label == "fake"), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    grey = root / "test" / "fake" if splits else root / "fake"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(grey / "noface.png")


@needs_mtcnn
def test_mtcnn_finds_the_astronauts_face_and_landmarks(astronaut):
    found = faces_mtcnn.detect(astronaut)
    assert len(found) == 1 and found[0].score > 0.99
    x0, y0, x1, y1 = found[0].box
    assert 150 < x0 < HAND[:, 0].min() and HAND[:, 0].max() < x1 < 300
    assert 30 < y0 < HAND[:, 1].min() and HAND[:, 1].max() < y1 < 200
    err = np.linalg.norm(found[0].landmarks - HAND, axis=1)
    assert (err < LANDMARK_TOL).all(), err


@needs_mtcnn
def test_aligned_crop_puts_the_eyes_on_the_template(astronaut):
    crop, info = faces_mtcnn.aligned_face(astronaut)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    assert info["source"] == [512, 512] and len(info["landmarks"]) == 5
    eyes = faces_mtcnn.template(256, 1.3)[:2]
    # the crop's own pixels: MTCNN finds her eyes where the template puts them
    again = faces_mtcnn.detect(crop)[0].landmarks[:2]
    assert (np.linalg.norm(again - eyes, axis=1) < EYE_TOL).all(), again
    # and the map itself: the detected eyes land on the template (up to the fit's residual)
    _, m = faces_mtcnn.align(astronaut, np.array(info["landmarks"]))
    mapped = np.array(info["landmarks"])[:2] @ m[:, :2].T + m[:, 2]
    assert (np.linalg.norm(mapped - eyes, axis=1) < EYE_TOL).all(), mapped


@needs_mtcnn
def test_the_largest_face_is_the_one_aligned(astronaut):
    import cv2

    canvas = np.zeros((512, 768, 3), np.uint8)
    canvas[128:384, :256] = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    canvas[:, 256:] = astronaut  # the same face at twice the size, to the right
    found = faces_mtcnn.detect(canvas)
    assert len(found) == 2 and found[0].area > 3 * found[1].area
    _, info = faces_mtcnn.aligned_face(canvas)
    assert np.allclose(info["landmarks"], HAND + [256, 0], atol=LANDMARK_TOL)


def test_template_follows_deepfakebench_margin_convention():
    """DeepfakeBench scales ArcFace's 112 px points to the output, adds the margin
    ``size * (scale - 1) / 2`` on each side, then scales the whole back by ``1 / scale``."""
    assert np.allclose(faces_mtcnn.template(112, 1.0), faces_mtcnn.ARCFACE_112)
    size, scale = 256, 1.3
    margin = size * (scale - 1) / 2
    expected = (faces_mtcnn.ARCFACE_112 * size / 112 + margin) * size / (size + 2 * margin)
    got = faces_mtcnn.template(size, scale)
    assert np.allclose(got, expected)
    # the margin zooms out: the eyes are closer together than without it, centred
    assert got[1, 0] - got[0, 0] < faces_mtcnn.template(size, 1.0)[1, 0] - expected[0, 0]
    assert abs((got[0, 0] + got[1, 0]) / 2 - size / 2) < 1


@given(
    angle=st.floats(-np.pi, np.pi),
    k=st.floats(0.2, 5.0),
    shift=st.tuples(st.floats(-300, 300), st.floats(-300, 300)),
)
def test_similarity_recovers_a_known_transform(angle, k, shift):
    src = HAND.copy()
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ (k * rot).T + np.array(shift)
    m = faces_mtcnn.similarity(src, dst)
    assert np.allclose(m[:, :2], k * rot, atol=1e-8) and np.allclose(m[:, 2], shift, atol=1e-6)


def test_similarity_matches_scikit_image_on_noisy_points():
    from skimage.transform import SimilarityTransform

    rng = np.random.default_rng(0)
    src = HAND + rng.normal(0, 3, HAND.shape)
    dst = faces_mtcnn.template(256, 1.3)
    ref = SimilarityTransform.from_estimate(src, dst)
    assert np.allclose(faces_mtcnn.similarity(src, dst), ref.params[:2], atol=1e-9)


@needs_mtcnn
def test_cache_key_names_detector_version_and_options(monkeypatch):
    base = faces_mtcnn.cache_key()
    assert base == faces_mtcnn.cache_key(faces_mtcnn.MtcnnOptions())
    others = {
        faces_mtcnn.cache_key(faces_mtcnn.MtcnnOptions(size=128)),
        faces_mtcnn.cache_key(faces_mtcnn.MtcnnOptions(scale=1.25)),
        faces_mtcnn.cache_key(faces_mtcnn.MtcnnOptions(min_face=40)),
        faces_mtcnn.cache_key(faces_mtcnn.MtcnnOptions(thresholds=(0.6, 0.7, 0.8))),
    }
    assert len(others) == 4 and base not in others
    version = faces_mtcnn.detector_version()
    assert version.startswith("facenet-pytorch 2.") and "weights" in version
    monkeypatch.setattr(faces_mtcnn, "detector_version", lambda: version + "-other")
    assert faces_mtcnn.cache_key() != base
    # the dataset fingerprint's crop key: haar keeps the flag's old text, mtcnn names its key
    monkeypatch.undo()
    assert faces.method_key(None) == "False" and faces.method_key("haar") == "True"
    assert faces.method_key("mtcnn") == f"mtcnn:{base}"


def test_face_method_names():
    assert faces.face_method(False) is None and faces.face_method("none") is None
    assert faces.face_method(True) == "haar" and faces.face_method("mtcnn") == "mtcnn"
    with pytest.raises(ValueError, match="haar, mtcnn"):
        faces.face_method("dlib")


@needs_mtcnn
def test_weights_are_pinned_and_missing_wheel_names_the_command(monkeypatch, tmp_path):
    faces_mtcnn._weight_files.cache_clear()
    monkeypatch.setitem(faces_mtcnn.WEIGHTS_SHA256, "rnet", "0" * 64)
    with pytest.raises(DataError, match="rnet.pt: SHA-256 .* is not the pinned"):
        faces_mtcnn.weight_files()
    monkeypatch.undo()
    faces_mtcnn._weight_files.cache_clear()

    def gone(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(faces_mtcnn.importlib.metadata, "files", gone)
    with pytest.raises(DataError, match="pip install --no-deps facenet-pytorch==2.6.0"):
        faces_mtcnn.weight_files()
    for label in ("real", "fake"):  # a load fails at once: never every image a "corrupt" skip
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((40, 40, 3), i, np.uint8)).save(tmp_path / label / f"{i}.png")
    with pytest.raises(DataError, match="facenet-pytorch"):
        load_folder(tmp_path, crop_faces="mtcnn")
    monkeypatch.undo()
    faces_mtcnn._weight_files.cache_clear()
    assert set(faces_mtcnn.weight_files()) == {"pnet", "rnet", "onet"}


@needs_mtcnn
def test_mtcnn_crops_are_cached_with_their_detection(tmp_path, astronaut, monkeypatch):
    src = tmp_path / "a.png"
    Image.fromarray(astronaut).save(src)
    out = faces.face_crop_file(src, "ab" * 20, 0.3, method="mtcnn")
    assert out is not None and faces_mtcnn.cache_key() in out.name
    assert np.asarray(Image.open(out)).shape == (256, 256, 3)
    info = faces.face_info(out)
    assert info["detector"] == "mtcnn" and 80 < max(info["box"][2:]) < 130

    def boom(*a, **k):
        raise AssertionError("detected again instead of reading the cache")

    monkeypatch.setattr(faces_mtcnn, "aligned_face", boom)
    assert faces.face_crop_file(src, "ab" * 20, 0.3, method="mtcnn") == out
    haar = faces.face_crop_file(src, "ab" * 20, 0.3, method="haar")
    assert haar is not None and haar != out and faces.face_info(haar)["detector"] == "haar"


@needs_mtcnn
def test_folder_with_mtcnn_and_haar_and_detection_rates(tmp_path, astronaut):
    _face_folder(tmp_path, astronaut, splits=True)
    ds = load_folder(tmp_path, crop_faces="mtcnn")
    assert ds.name.endswith("-faces-mtcnn") and ds.skip_counts() == {"no_face": 1}
    assert all(s.load().shape == (256, 256, 3) for s in ds.test)
    (miss,) = ds.skipped
    assert (miss["label"], miss["split"]) == ("fake", "test")
    rates = {(r["split"], r["class"]): r for r in faces.detection_rates(ds)}
    assert rates["test", "fake"] == {
        "split": "test", "class": "fake", "found": 2, "missed": 1, "rate": pytest.approx(2 / 3)
    }  # fmt: skip
    assert rates["train", "real"]["rate"] == 1.0 and rates["all", "all"]["found"] == 12
    assert rates["all", "fake"]["rate"] == pytest.approx(6 / 7)
    sides = faces.face_sides(ds.test)
    assert ((sides > 25) & (sides < 45)).all()  # her 110 px face, downscaled 512 -> 160
    haar = load_folder(tmp_path, crop_faces="haar")
    assert haar.name.endswith("-faces") and haar.fingerprint != ds.fingerprint
    crop = haar.train[0].load()
    assert crop.shape[0] == crop.shape[1] < 160  # Haar: a square crop of the face, its size
    assert load_folder(tmp_path, crop_faces=True).fingerprint == haar.fingerprint
    assert "test fake 2/3 (66.7%)" in faces.detection_summary(ds, "mtcnn")


def test_detection_rates_without_given_splits_have_no_per_split_rate(tmp_path):
    samples = {
        split: [Sample(f"{split}{i}", i % 2, tmp_path / f"{split}{i}.png") for i in range(4)]
        for split in ("train", "val", "test")
    }
    missed = [
        {"file": "x.png", "reason": "no_face", "detail": "", "label": "fake", "split": ""},
        {"file": "y.png", "reason": "no_face", "detail": "", "label": "fake", "split": ""},
        {"file": "z.png", "reason": "corrupt", "detail": ""},
    ]
    ds = Dataset("d", samples, "fp", "", missed)
    rows = {(r["split"], r["class"]): r for r in faces.detection_rates(ds)}
    assert rows["test", "fake"]["rate"] is None and rows["test", "fake"]["found"] == 2
    assert rows["all", "fake"]["rate"] == pytest.approx(6 / 8)
    assert rows["all", "real"]["rate"] == 1.0 and rows["all", "all"]["missed"] == 2
    assert "split made after detection" in faces.detection_summary(ds, "haar")


@needs_mtcnn
def test_datasets_check_compares_pipelines_into_a_csv(tmp_path, astronaut, capsys):
    from benchmark.cli import main

    root = tmp_path / "faces"
    _face_folder(root, astronaut, splits=False)
    out = tmp_path / "compare.csv"
    argv = ["datasets", "check", str(root), "--crop-faces", "haar,mtcnn", "--no-baseline"]
    assert main([*argv, "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== --crop-faces mtcnn ==" in text and "faces found per split and class" in text
    rows = list(csv.DictReader(out.open()))
    got = {(r["crop_faces"], r["measure"], r["split"], r["class"]): r["value"] for r in rows}
    assert float(got["mtcnn", "detection_rate", "all", "fake"]) == pytest.approx(6 / 7, abs=1e-4)
    assert got["mtcnn", "images", "all", "all"] == "13"
    assert float(got["mtcnn", "auc_size_px", "all", "all"]) == 0.5  # every crop is 256 px
    assert ("haar", "auc_face_side_source", "all", "all") in got
    assert 0 <= float(got["mtcnn", "auc_black_share", "all", "all"]) <= 1
