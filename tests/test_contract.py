"""One contract, every registered detector (new ones are covered the day they register)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmark import harness
from benchmark.protocol import (
    FAMILIES,
    DetectorMeta,
    NotApplicableError,
    NotFittedError,
    load_detector,
)
from benchmark.registry import DETECTORS, list_detectors

TINY = harness.RunConfig(detectors=(), quick=True, allow_random_init=True, device="cpu")
ALL = list_detectors()


def _fit(name, dataset):
    det = harness.build_detector(name, TINY)
    try:
        assert det.fit(dataset.train, dataset.val) is det
    except NotApplicableError:
        pytest.skip(f"{name} is not applicable to in-memory data")
    return det


@pytest.mark.parametrize("name", ALL)
def test_metadata_schema(name):
    meta = DETECTORS.get(name).meta
    assert isinstance(meta, DetectorMeta) and meta.name == name
    assert meta.family in FAMILIES and meta.paper and meta.normalisation
    assert meta.input_size is None or (isinstance(meta.input_size, int) and meta.input_size > 0)
    assert isinstance(meta.min_side, int) and meta.min_side >= 1  # shortest usable side, px
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("name", ALL)
def test_contract(name, tiny_dataset, tmp_path):
    det = harness.build_detector(name, TINY)
    assert "seed" in det.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        det.predict_proba(tiny_dataset.test)
    det = _fit(name, tiny_dataset)
    proba = det.predict_proba(tiny_dataset.test)
    assert proba.shape == (len(tiny_dataset.test), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # raw arrays work too, and an empty batch gives an empty result
    if not det.meta.needs_files:
        arrays = [s.load() for s in tiny_dataset.test[:3]]
        assert det.predict_proba(arrays).shape == (3, 2)
    assert det.predict_proba([]).shape == (0, 2)
    # same seed => same scores
    again = _fit(name, tiny_dataset).predict_proba(tiny_dataset.test)
    np.testing.assert_allclose(again, proba, atol=1e-6)
    # saved and reloaded => same scores
    det.save(tmp_path / name)
    reloaded = load_detector(tmp_path / name)
    np.testing.assert_allclose(reloaded.predict_proba(tiny_dataset.test), proba, atol=1e-6)
