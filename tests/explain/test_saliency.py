"""Grad-CAM and gradient saliency grids for a fitted CNN detector (tiny scratch_cnn)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_grad_cam", reason="grad-cam not installed (see pyproject extra)")

from benchmark.explain import saliency
from benchmark.explain.run_figures import write_run_figures
from benchmark.plugins import create_detector

TINY = {"input_size": 32, "epochs": 1, "batch_size": 8, "device": "cpu", "num_threads": 1}


@pytest.fixture(scope="module")
def fitted(tiny_dataset):
    return create_detector("scratch_cnn", **TINY).fit(tiny_dataset.train, tiny_dataset.val)


def test_pick_examples_is_seeded_and_labelled(tiny_dataset):
    test = tiny_dataset.test
    scores = np.linspace(0, 1, len(test))
    picks = saliency.pick_examples(test, scores, 0.5, per_kind=2)
    assert picks == saliency.pick_examples(test, scores, 0.5, per_kind=2)
    for kind, sample, score in picks:
        wrong = (score >= 0.5) != bool(sample.label)
        assert (kind == "wrong") == wrong
        assert kind != "correct real" or sample.label == 0


def test_maps_shapes_and_ranges(fitted, tiny_dataset):
    images, cams, sals = saliency.maps(fitted, tiny_dataset.test[:3])
    assert images.shape == (3, 32, 32, 3) and cams.shape == sals.shape == (3, 32, 32)
    for m in (images, cams, sals):
        assert np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1 + 1e-6
    assert (sals.reshape(3, -1).max(1) > 0.99).all()  # scaled per image


def test_grid_png_and_run_hook(fitted, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKEBENCH_NO_FIGURES", "0")
    picks = saliency.pick_examples(tiny_dataset.test, np.full(8, 0.6), 0.5, per_kind=2)
    path = saliency.saliency_grid(fitted, picks, tmp_path / "g.png", "tiny")
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
    # the end-of-run hook finds the fitted detector in the work folder
    work = tmp_path / "work"
    fitted.save(work / "detectors" / "scratch_cnn")
    (work / "detectors" / "scratch_cnn" / "fit.json").write_text(json.dumps({"threshold": 0.5}))
    paths = write_run_figures(tiny_dataset, work / "detectors", tmp_path / "tables")
    assert {"figure_saliency_scratch_cnn", "figure_spectra", "figure_training_curves"} <= set(paths)


def test_detector_without_torch_module_is_refused(tiny_dataset):
    det = create_detector("fft_spectrum").fit(tiny_dataset.train, tiny_dataset.val)
    with pytest.raises(saliency.SaliencyUnavailable, match="torch_module"):
        saliency.maps(det, tiny_dataset.test[:2])
