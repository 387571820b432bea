"""Feature correctness of dct_frank (Frank et al. 2020) and cooccurrence (Nataraj et al. 2019)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.samples import Sample
from detectors.field.cooccurrence import build_cooccurrence_cnn, cooccurrence, cooccurrence_input
from detectors.field.dct_frank import EPS, DCTFrank, log_dct


def test_cooccurrence_of_a_3x3_image_by_hand():
    gray = np.array([[0, 0, 1], [1, 2, 2], [0, 1, 0]], dtype=np.uint8)
    img = np.stack([gray, gray, 255 - gray], axis=-1)
    c = cooccurrence(img, levels=256)
    assert c.shape == (3, 256, 256) and c.sum(axis=(1, 2)).tolist() == [6, 6, 6]
    # horizontal pairs: (0,0) (0,1) (1,2) (2,2) (0,1) (1,0)
    want = {(0, 0): 1, (0, 1): 2, (1, 2): 1, (2, 2): 1, (1, 0): 1}
    for (a, b), n in want.items():
        assert c[0, a, b] == n and c[1, a, b] == n and c[2, 255 - a, 255 - b] == n
    assert c[0, 1, 1] == 0 and c[0, 2, 1] == 0


def test_cooccurrence_quantises_levels():
    img = np.full((2, 3, 3), 255, dtype=np.uint8)
    c = cooccurrence(img, levels=64)
    assert c.shape == (3, 64, 64) and c[:, 63, 63].tolist() == [4, 4, 4] and c.sum() == 12


def test_cooccurrence_input_is_normalised_and_size_free():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    x = cooccurrence_input([small, np.zeros((40, 50, 3), np.uint8)], 64)
    assert x.shape == (2, 3, 64, 64) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 255.0 + 1e-3
    assert np.isclose(x[1, :, 0, 0], 255.0).all()  # every pair is (0, 0): log1p(n)/log1p(n)


def test_cooccurrence_cnn_shape():
    import torch

    net = build_cooccurrence_cnn(64)
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 2)


def test_dct_of_constant_image_is_dc_only():
    img = np.full((8, 8, 3), 10, dtype=np.uint8)
    f = log_dct([img], side=8).reshape(3, 8, 8)
    assert np.allclose(f[:, 0, 0], np.log(10 * 8 + EPS), atol=1e-5)  # ortho DC = mean * sqrt(HW)
    rest = f.reshape(3, -1)[:, 1:]
    assert np.all(rest < np.log(1e-6))


def test_dct_resizes_to_side():
    img = np.zeros((20, 30, 3), dtype=np.uint8)
    assert log_dct([img], side=16).shape == (1, 3 * 16 * 16)


def _samples(n, seed, offset=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % 2
        img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        if label:
            img[::2, ::2] = 255  # a periodic up-sampling-like trace
        out.append(Sample(id=f"s{offset + i}", label=label, pixels=img))
    return out


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path))


def test_dct_standardises_with_train_statistics_only(cache):
    train, val = _samples(20, 0), _samples(10, 1, offset=100)
    det = DCTFrank(side=16).fit(train, val)
    x = log_dct([s.load() for s in train], 16)
    np.testing.assert_allclose(det.scaler_.mean_, x.mean(axis=0), rtol=1e-5, atol=1e-5)
    assert det.C_ in det.val_log_loss_ and len(det.val_log_loss_) == len(det.C_grid)
    p = det.predict_proba(val)
    assert p.shape == (10, 2) and np.allclose(p.sum(axis=1), 1)
    p2 = DCTFrank(side=16).fit(train, val).predict_proba(val)
    np.testing.assert_array_equal(p, p2)  # deterministic
