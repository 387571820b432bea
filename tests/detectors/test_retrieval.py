"""Retrieval detectors: near-duplicates retrieve their originals, metrics match sklearn."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.samples import Sample
from benchmark.plugins import create_detector

NAMES = [
    "harris_retrieval_cos",
    "harris_retrieval_l2",
    "resnet_retrieval_cos",
    "resnet_retrieval_l2",
]


def _kw(name: str) -> dict:
    if name.startswith("resnet"):
        return {"allow_random_init": True, "input_size": 32, "device": "cpu"}
    return {"n_jobs": 1, "working_size": 64, "grid": 4}


def _originals(n: int = 12, size: int = 40) -> list[Sample]:
    import cv2

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):  # distinct smooth random scenes
        base = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
        img = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
        out.append(Sample(f"orig{i}", i % 2, None, {}, img))
    return out


def _near_duplicates(originals: list[Sample]) -> list[Sample]:
    rng = np.random.default_rng(1)
    out = []
    for i, s in enumerate(originals):
        noisy = s.pixels.astype(int) + rng.integers(-2, 3, s.pixels.shape)
        out.append(Sample(f"dup{i}", s.label, None, {}, np.clip(noisy, 0, 255).astype(np.uint8)))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_near_duplicates_retrieve_their_originals(name) -> None:
    originals = _originals()
    queries = _near_duplicates(originals)
    det = create_detector(name, **_kw(name)).fit(originals, queries)
    got = det.retrieve(queries, k=3)
    assert got.ids.shape == got.labels.shape == got.distances.shape == (len(queries), 3)
    assert list(got.ids[:, 0]) == [s.id for s in originals]
    assert np.all(np.diff(got.distances, axis=1) >= 0)
    metrics = det.retrieval_metrics(queries, k=3)
    assert metrics["precision_at_1"] == 1.0 and set(metrics) == {
        "precision_at_1",
        "precision_at_3",
        "map",
    }
    assert det.k_ in det.k_grid
    proba = det.predict_proba(queries)
    assert proba.shape == (len(queries), 2) and np.all((proba >= 0) & (proba <= 1))
    if det.k_ == 1:  # 1-NN vote on exact-ish copies gives the labels back
        np.testing.assert_allclose(proba[:, 1], [s.label for s in queries])


def test_map_matches_sklearn() -> None:
    from sklearn.metrics import average_precision_score

    originals = _originals(16)
    rng = np.random.default_rng(3)
    queries = [
        Sample(f"q{i}", int(rng.integers(0, 2)), None, {}, s.pixels[::-1].copy())
        for i, s in enumerate(originals[:6])
    ]
    det = create_detector("harris_retrieval_l2", **_kw("harris")).fit(originals)
    dist = det._distances(det._vectors(queries))
    expected = np.mean(
        [
            average_precision_score(det.index_labels_ == q.label, -d)
            for q, d in zip(queries, dist, strict=True)
        ]
    )
    assert det.retrieval_metrics(queries)["map"] == pytest.approx(expected)


def test_unlabelled_queries_are_rejected() -> None:
    det = create_detector("harris_retrieval_cos", **_kw("harris")).fit(_originals())
    with pytest.raises(ValueError, match="labelled"):
        det.retrieval_metrics([s.pixels for s in _originals(2)])
    assert det.retrieve([s.pixels for s in _originals(2)], k=2).ids.shape == (2, 2)


def test_resnet_save_reload_rebuilds_net(tmp_path) -> None:
    from benchmark.plugins import load_detector

    originals = _originals()
    det = create_detector("resnet_retrieval_cos", **_kw("resnet")).fit(originals)
    assert det.pretrained_ is False and det.input_size == 32
    det.save(tmp_path / "d")
    assert not any(p.suffix in (".pt", ".pth") for p in (tmp_path / "d").iterdir())
    again = load_detector(tmp_path / "d")
    np.testing.assert_allclose(again.predict_proba(originals), det.predict_proba(originals))


@pytest.mark.parametrize("metric", ["cos", "l2"])
def test_queries_in_blocks_give_what_all_at_once_gives(monkeypatch, metric) -> None:
    """Queries meet the pool a block at a time (memory flat in the number of queries)."""
    from detectors.classical import retrieval

    train, val, test = _originals(14), _near_duplicates(_originals(10)), _originals(9)
    got = {}
    for block in (10_000, 3):
        monkeypatch.setattr(retrieval, "QUERY_BLOCK", block)
        det = create_detector(f"harris_retrieval_{metric}", **_kw("harris")).fit(train, val)
        near = det.retrieve(test, k=4)
        got[block] = (det.k_, det.val_auc_, det.predict_proba(test), near.indices,
                      near.distances, det.retrieval_metrics(test, k=4))  # fmt: skip
    (k_a, auc_a, p_a, i_a, d_a, m_a), (k_b, auc_b, p_b, i_b, d_b, m_b) = got.values()
    assert (k_a, auc_a) == (k_b, auc_b)  # (a matrix product's last bits depend on its shape)
    np.testing.assert_allclose(p_a, p_b, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(i_a, i_b)
    np.testing.assert_allclose(d_a, d_b, rtol=0, atol=1e-6)
    assert m_a == pytest.approx(m_b, abs=1e-12)
    assert det.predict_proba([]).shape == (0, 2) and det.retrieve([], k=2).ids.shape == (0, 2)
