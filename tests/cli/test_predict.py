"""``predict``: files and nested folders, wildcards, the CSV, fitted and zero-shot detectors,
and its errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from benchmark import registry
from benchmark.cli import main
from benchmark.cli.predict import COLUMNS, ZERO_SHOT
from benchmark.protocol import CAPABILITIES, BaseDetector

FITTED = ("fft_spectrum", "metadata_baseline")


@pytest.fixture(scope="module")
def work(tmp_path_factory, tiny_dataset):
    """A work folder holding fft_spectrum and metadata_baseline, fitted as `run` fits them."""
    from benchmark.engine.config import RunSpec
    from benchmark.engine.fitting import fit_detector
    from benchmark.engine.folders import WorkFolder

    folder = WorkFolder.of(tmp_path_factory.mktemp("runs"), tiny_dataset, 0, "none")
    spec = RunSpec(detectors=FITTED, timing=False)
    for name in FITTED:
        fit_detector(name, spec, tiny_dataset, folder, lambda _line: None)
    return folder.root


@pytest.fixture(scope="module")
def images(tmp_path_factory, tiny_dataset):
    """A nested folder: two PNGs from the tiny test split, a JPEG, an 8x12 px image, and what
    predict must leave out (hidden files and folders, a text file)."""
    root = tmp_path_factory.mktemp("images")
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".hidden").mkdir()
    pixels = [np.asarray(Image.open(s.path)) for s in tiny_dataset.test[:3]]
    Image.fromarray(pixels[0]).save(root / "b" / "deep" / "one.png")
    Image.fromarray(pixels[1]).save(root / "a" / "two.PNG")
    Image.fromarray(pixels[2]).save(root / "b" / "three.jpg", quality=90)
    Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(root / "b" / "small.png")
    Image.fromarray(pixels[0]).save(root / ".hidden" / "skip.png")
    Image.fromarray(pixels[0]).save(root / ".skip.png")
    (root / "notes.txt").write_text("not an image")
    return root


EXPECTED = ["a/two.PNG", "b/deep/one.png", "b/small.png", "b/three.jpg"]  # sorted, nothing hidden


def _read_csv(path):
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def test_folder_wildcards_and_csv(work, images, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is no png")
    out = tmp_path / "pred" / "p.csv"
    argv = ["predict", "--run", str(work), "-d", "fft_*,meta*", str(images), str(broken)]
    assert main([*argv, "--out", str(out)]) == 1  # some rows are not scored
    captured = capsys.readouterr()
    assert f"{broken}: not_an_image" in captured.err
    header, rows = _read_csv(out)
    assert header == COLUMNS
    # fft_* also matches fft_spectrum_svm, which is not fitted here: left out, not an error
    assert [r["detector"] for r in rows] == list(FITTED) * 5
    paths = [str(images / p) for p in EXPECTED] + [str(broken)]
    assert [r["path"] for r in rows[::2]] == paths
    for name in FITTED:
        info = json.loads((work / "detectors" / name / "fit.json").read_text())
        mine = [r for r in rows if r["detector"] == name]
        assert {(r["threshold"], r["threshold_source"]) for r in mine} == {
            (f"{info['threshold']:.10g}", "validation")
        }
        for r in mine:
            if r["p_fake"]:
                want = "fake" if float(r["p_fake"]) >= info["threshold"] else "real"
                assert r["verdict"] == want
    by = {(r["path"], r["detector"]): r for r in rows}
    small = str(images / "b" / "small.png")
    assert by[small, "fft_spectrum"]["p_fake"] == ""
    assert by[small, "fft_spectrum"]["verdict"] == (
        "not scored: shorter side 8 px is below fft_spectrum's minimum of 32 px"
    )
    assert by[small, "metadata_baseline"]["p_fake"] != ""  # its minimum is 1 px
    for name in FITTED:
        assert by[str(broken), name]["verdict"].startswith("not scored: not_an_image")
    # the scores are the fitted detector's own
    from benchmark.plugins import load_detector

    one = str(images / "b" / "deep" / "one.png")
    det = load_detector(work / "detectors" / "fft_spectrum")
    assert float(by[one, "fft_spectrum"]["p_fake"]) == pytest.approx(
        det.predict_proba([one])[0, 1], abs=1e-9
    )
    # stdout: the thresholds' source, then one line per row
    printed = captured.out
    assert "tuned on validation" in printed and "fft_spectrum_svm" not in printed
    assert sum(one in line for line in printed.splitlines()) == 2
    # deterministic: a second run writes the same bytes
    first = out.read_bytes()
    assert main([*argv, "--out", str(out)]) == 1
    assert out.read_bytes() == first


def test_old_positional_form_and_all_scored(work, images, capsys):
    one = images / "b" / "deep" / "one.png"
    assert main(["predict", str(work), "-d", "fft_spectrum", str(one)]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if str(one) in line]
    assert "fft_spectrum" in line and ("FAKE" in line or "real" in line)


class _ZeroShot(BaseDetector):
    """A stand-in for a released checkpoint: ``fit([], None)`` 'loads' it."""

    capabilities = frozenset({ZERO_SHOT})
    calls: list = []

    def __init__(self, weights: str = "ok", seed: int = 0):
        self.weights = weights
        self.seed = seed

    def fit(self, train, val=None):
        self.calls.append((list(train), val))
        if self.weights == "missing":
            raise FileNotFoundError(
                "zz_zero_missing: weights file /cache/zz.pth not found: "
                "`python -m benchmark weights fetch zz_zero_missing`"
            )
        self.scale_ = 1.0 / 255
        self.fitted_ = True
        return self

    def _predict_fake(self, samples):
        return [float(s.load().mean()) * self.scale_ for s in samples]

    def n_parameters(self):
        return 0


@pytest.fixture
def zero_shot(monkeypatch):
    """Two zero-shot detectors (one whose weights are missing), registered for the test."""
    if ZERO_SHOT not in CAPABILITIES:  # until protocol.py declares it
        monkeypatch.setitem(CAPABILITIES, ZERO_SHOT, "fit")
    from benchmark.plugins import load_plugins

    load_plugins()
    kw = dict(family="baseline", paper="test", input_size=None, normalisation="none")
    registry.register_detector(**kw, name="zz_zero_ok", min_side=16)(lambda **o: _ZeroShot(**o))
    registry.register_detector(**kw, name="zz_zero_missing")(
        lambda **o: _ZeroShot(**({"weights": "missing"} | o))
    )
    _ZeroShot.calls.clear()
    yield
    registry.DETECTORS.remove("zz_zero_ok")
    registry.DETECTORS.remove("zz_zero_missing")


def test_zero_shot_needs_no_run_folder(zero_shot, images, tmp_path, capsys):
    out = tmp_path / "z.csv"
    assert main(["predict", "-d", "zz_zero_o*", str(images), "--out", str(out)]) == 1
    assert _ZeroShot.calls == [([], None)]
    printed = capsys.readouterr().out
    assert "zz_zero_ok: threshold 0.500" in printed and "zero-shot" in printed
    _, rows = _read_csv(out)
    assert [r["path"] for r in rows] == [str(images / p) for p in EXPECTED]
    assert {(r["detector"], r["threshold"], r["threshold_source"]) for r in rows} == {
        ("zz_zero_ok", "0.5", "default 0.5")
    }
    by = {r["path"]: r for r in rows}
    assert by[str(images / "b" / "small.png")]["verdict"].endswith("minimum of 16 px")
    one = images / "b" / "deep" / "one.png"
    p = float(np.asarray(Image.open(one).convert("RGB")).mean()) / 255
    assert float(by[str(one)]["p_fake"]) == pytest.approx(p)
    assert by[str(one)]["verdict"] == ("fake" if p >= 0.5 else "real")


def test_zero_shot_beside_fitted_and_missing_weights(zero_shot, work, images, tmp_path, capsys):
    one = images / "b" / "deep" / "one.png"
    out = tmp_path / "z.csv"
    argv = ["predict", "--run", str(work), "-d", "fft_spectrum,zz_zero_*", str(one)]
    assert main([*argv, "--out", str(out)]) == 2  # a detector could not be loaded
    err = capsys.readouterr().err
    assert "zz_zero_missing: weights file /cache/zz.pth not found" in err
    assert "weights fetch zz_zero_missing" in err
    _, rows = _read_csv(out)  # the others' rows are kept
    assert [(r["detector"], r["threshold_source"]) for r in rows] == [
        ("fft_spectrum", "validation"),
        ("zz_zero_ok", "default 0.5"),
    ]


def test_missing_path_and_empty_folder(work, tmp_path, capsys):
    (tmp_path / "empty" / ".hidden.png").parent.mkdir()
    (tmp_path / "empty" / ".hidden.png").write_bytes(b"x")
    nowhere = tmp_path / "nowhere.png"
    assert main(["predict", "--run", str(work), "-d", "fft_spectrum", str(nowhere)]) == 2
    assert f"{nowhere}: no such image file or folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    assert main(["predict", "--run", str(work), "-d", "fft_spectrum", str(empty)]) == 2
    assert f"{empty}: no image in this folder" in capsys.readouterr().err


def test_unknown_and_unusable_detectors(work, images, capsys):
    one = str(images / "a" / "two.PNG")
    assert main(["predict", "--run", str(work), "-d", "fft_spectrm", one]) == 2
    assert "unknown detector 'fft_spectrm'; did you mean 'fft_spectrum'" in capsys.readouterr().err
    # registered but neither fitted here nor zero-shot
    assert main(["predict", "--run", str(work), "-d", "sift_*", one]) == 2
    err = capsys.readouterr().err
    assert "'sift_*' matches sift_rf, sift_svm: no fitted detector among them" in err
    assert "fitted in" in err and "fft_spectrum, metadata_baseline" in err
    # no run folder: a detector that is not zero-shot needs one
    assert main(["predict", "-d", "fft_spectrum", one]) == 2
    err = capsys.readouterr().err
    assert "no fitted detector 'fft_spectrum' and it is not zero-shot" in err and "--run" in err
