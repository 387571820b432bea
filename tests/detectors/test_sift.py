"""SIFT bag of words: empty-keypoint images still score, the codebook never sees val/test."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.samples import Sample
from benchmark.plugins import create_detector
from detectors.classical.sift_bovw import dense_sift, keypoint_stats, root_sift

SIZE = 48


def _image(rng: np.random.Generator, fake: bool) -> np.ndarray:
    import cv2

    base = rng.integers(0, 256, (SIZE // 4, SIZE // 4, 3), dtype=np.uint8)
    img = cv2.resize(base, (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img.astype(int) + rng.integers(-25, 26, img.shape), 0, 255).astype(np.uint8)
    if fake:  # half-resolution nearest up-sampling: blockier, fewer fine keypoints
        small = cv2.resize(img, (SIZE // 2, SIZE // 2), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
    return img


def _split(n: int, seed: int, prefix: str) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [Sample(f"{prefix}{i}", i % 2, None, {}, _image(rng, bool(i % 2))) for i in range(n)]


def _flat(n: int, start: int = 0) -> list[Sample]:
    return [
        Sample(f"flat{i}", i % 2, None, {}, np.full((SIZE, SIZE, 3), 128, np.uint8))
        for i in range(start, start + n)
    ]


FAST = {
    "n_jobs": 1,
    "working_size": 64,
    "codebook_size": 8,
    "C_grid": (0.3, 3.0),
    "gamma_factors": (1.0,),
    "n_estimators_grid": (10, 30),
}


def test_flat_images_have_no_keypoints_but_get_vectors_and_scores() -> None:
    flat = _flat(2)
    stats = keypoint_stats(flat, 64, 0.0)
    assert stats.shape[0] == 2 and np.all(stats == 0)  # SIFT finds nothing on a flat image
    desc = dense_sift(flat, 64, 8, 8.0)
    assert desc.shape == (2, 64, 128) and np.all(root_sift(desc) == 0)
    for name in ("sift_svm", "sift_rf"):
        det = create_detector(name, **FAST).fit(_split(16, 0, "t") + _flat(4), _split(8, 1, "v"))
        proba = det.predict_proba(_flat(3, 10) + _split(3, 2, "q"))
        assert proba.shape == (6, 2) and np.all(np.isfinite(proba))


def test_codebook_fitted_on_train_only(monkeypatch) -> None:
    from sklearn.cluster import MiniBatchKMeans

    seen: list[np.ndarray] = []
    fit = MiniBatchKMeans.fit

    def spy(self, x, *args, **kwargs):
        seen.append(np.asarray(x).copy())
        return fit(self, x, *args, **kwargs)

    monkeypatch.setattr(MiniBatchKMeans, "fit", spy)
    train, val, test = _split(12, 0, "t"), _split(8, 1, "v"), _split(8, 2, "q")
    det = create_detector("sift_svm", **FAST).fit(train, val)
    assert len(seen) == 1
    train_rows = {r.tobytes() for r in root_sift(dense_sift(train, 64, 8, 8.0)).reshape(-1, 128)}
    assert all(r.tobytes() in train_rows for r in seen[0]), "codebook saw non-training descriptors"
    codebook = det.codebook_.cluster_centers_.copy()
    det.predict_proba(test + val)
    np.testing.assert_array_equal(det.codebook_.cluster_centers_, codebook)
    other = create_detector("sift_svm", **FAST).fit(train, _split(8, 3, "w"))
    np.testing.assert_array_equal(other.codebook_.cluster_centers_, codebook)  # val-independent


@pytest.mark.parametrize(
    ("name", "kw"), [("sift_svm", {}), ("sift_rf", {}), ("sift_svm", {"encoding": "vlad"})]
)
def test_learns_and_is_deterministic(name, kw) -> None:
    from sklearn.metrics import roc_auc_score

    params = FAST | kw
    train, val, test = _split(24, 0, "t"), _split(12, 1, "v"), _split(16, 2, "q")
    a = create_detector(name, **params).fit(train, val)
    pa = a.predict_proba(test)[:, 1]
    pb = create_detector(name, **params).fit(train, val).predict_proba(test)[:, 1]
    np.testing.assert_allclose(pa, pb)
    if not kw:  # vlad (an option, not registered: it scored worse) only has to be deterministic
        assert roc_auc_score([s.label for s in test], pa) > 0.7
    assert a.n_parameters() > a.codebook_.cluster_centers_.size  # classifier counted too
    assert a.selected_["val_auc"] == a.selected_["val_auc"]


def test_svm_probabilities_keep_the_order_of_its_decision_function() -> None:
    """Platt scaling on validation: never an inverted sigmoid (it was, with CV on train)."""
    from sklearn.metrics import roc_auc_score

    train, val = _split(24, 0, "t"), _split(12, 1, "v")
    det = create_detector("sift_svm", **FAST).fit(train, val)
    decision = det.model_.calibrated_classifiers_[0].estimator.decision_function(det._features(val))
    proba = det.predict_proba(val)[:, 1]
    assert np.all(np.diff(proba[np.argsort(decision, kind="stable")]) >= 0)
    y = [s.label for s in val]
    assert roc_auc_score(y, proba) == pytest.approx(det.selected_["val_auc"])


def test_bad_options_fail_clearly() -> None:
    from detectors.classical.sift_bovw import SiftBoVW

    with pytest.raises(ValueError, match="classifier"):
        SiftBoVW(classifier="knn", n_jobs=1).fit(_split(8, 0, "t"))


def test_codebook_sample_is_drawn_without_holding_every_descriptor(monkeypatch) -> None:
    """The sample is the seeded uniform draw over all training descriptors (what holding them
    all and indexing gave), whatever the chunking or the number of worker processes."""
    from benchmark.toolkit import features
    from detectors.classical import sift_features

    train = _split(10, 0, "t")
    det = create_detector("sift_svm", **FAST | {"max_codebook_descriptors": 300})
    flat = root_sift(dense_sift(train, 64, 8, 8.0)).reshape(-1, 128)
    take = np.random.default_rng(0).choice(len(flat), 300, replace=False)
    expected = flat[np.sort(take)]
    sizes: list[int] = []
    picked = sift_features.picked_descriptors

    def spy(items, *args, **kwargs):
        sizes.append(len(items))
        return picked(items, *args, **kwargs)

    monkeypatch.setattr(sift_features, "picked_descriptors", spy)
    monkeypatch.setattr("detectors.classical.sift_bovw.picked_descriptors", spy)
    monkeypatch.setattr(features, "CHUNK_SIZE", 3)
    for n_jobs in (1, 2):
        got = det.set_params(n_jobs=n_jobs, use_cache=False)._codebook_sample(train)
        np.testing.assert_array_equal(got, expected)
    assert sizes and max(sizes) <= 3  # serial run: the spy saw every chunk


def test_features_do_not_depend_on_chunks_or_encode_batches(monkeypatch) -> None:
    from benchmark.toolkit import features
    from detectors.classical import sift_features

    train, val, test = _split(12, 0, "t"), _split(8, 1, "v"), _split(7, 2, "q")
    for kw in ({}, {"encoding": "vlad"}):
        det = create_detector("sift_svm", **FAST | kw | {"use_cache": False}).fit(train, val)
        whole = det._features(test)
        monkeypatch.setattr(features, "CHUNK_SIZE", 3)
        monkeypatch.setattr(sift_features, "ENCODE_BATCH", 2)
        np.testing.assert_allclose(det._features(test), whole, rtol=0, atol=1e-12)
        monkeypatch.undo()
        # the pooled vector of one image is the old whole-set computation's
        flat = root_sift(dense_sift(test, 64, 8, 8.0)).reshape(-1, 128)
        words = det.codebook_.predict(flat).reshape(len(test), -1)
        if not kw:
            hist = np.stack([np.bincount(w, minlength=det.codebook_.n_clusters) for w in words])
            hist = np.sqrt(hist) / np.linalg.norm(np.sqrt(hist), axis=1, keepdims=True)
            np.testing.assert_allclose(whole[:, : hist.shape[1]], hist, atol=1e-12)


def test_encoded_features_are_cached_per_codebook() -> None:
    train, val, test = _split(12, 0, "t"), _split(8, 1, "v"), _split(6, 2, "q")
    a = create_detector("sift_svm", **FAST).fit(train, val)
    b = create_detector("sift_rf", **FAST).fit(train, val)  # same seed: same codebook, reused
    np.testing.assert_array_equal(a._features(test), b._features(test))
    c = create_detector("sift_svm", **FAST | {"seed": 1}).fit(train, val)
    assert not np.array_equal(a.codebook_.cluster_centers_, c.codebook_.cluster_centers_)
    assert not np.array_equal(a._features(test), c._features(test))


def test_svm_caps_train_on_a_stratified_subsample_and_change_nothing_below_them() -> None:
    """The RBF SVM's cost grows with n² or worse: above its caps it trains on a seeded,
    class-stratified subsample (the grid on the smaller); at or below them, on every image."""
    from detectors.classical.sift_bovw import _stratified_subset

    y = np.array([0] * 30 + [1] * 10)
    idx = _stratified_subset(y, 8, seed=0)
    assert len(idx) == 8 and np.bincount(y[idx]).tolist() == [6, 2]
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(_stratified_subset(y, 40, 0), np.arange(40))
    assert np.array_equal(_stratified_subset(y, None, 0), np.arange(40))
    train, val, test = _split(24, 0, "t"), _split(12, 1, "v"), _split(8, 2, "q")
    uncapped = create_detector("sift_svm", **FAST, svm_max_images=None, svm_grid_images=None)
    at_cap = create_detector("sift_svm", **FAST, svm_max_images=24, svm_grid_images=24)
    capped = create_detector("sift_svm", **FAST, svm_max_images=12, svm_grid_images=8)
    p = [d.fit(train, val).predict_proba(test)[:, 1] for d in (uncapped, at_cap, capped)]
    assert np.array_equal(p[0], p[1])
    assert not np.array_equal(p[0], p[2])
    assert capped.model_.calibrated_classifiers_[0].estimator[-1].support_vectors_.shape[0] <= 12
