"""One contract, every registered detector (new ones are covered the day they register).

Every check over the registry lives here, one parametrised case per detector, so a failing
detector shows by name: its metadata, its citation, its minimum size, its recipe and
``condition_grid``, its declared capabilities, its search space, and the protocol itself
(fit, predict, determinism, save/reload, parameter count) on a tiny fit.

``name`` is module-scoped: pytest runs every case of one detector together, so the tiny fit
(``fitted``) is made once per detector, shared by the checks that need it, and released before
the next detector is fitted.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from benchmark.core.references import cited_in
from benchmark.engine.config import RunSpec
from benchmark.engine.fitting import build_detector
from benchmark.engine.plan import CONDITION_GRIDS
from benchmark.engine.tuning import search_space
from benchmark.plugins import create_detector, list_detectors, load_detector
from benchmark.protocol import (
    CAPABILITIES,
    FAMILIES,
    DetectorMeta,
    NotApplicableError,
    NotFittedError,
    detector_min_side,
)
from benchmark.registry import DETECTORS
from tests.core.test_references import INTERNAL

TINY = RunSpec(detectors=(), quick=True, allow_random_init=True, device="cpu")
each_detector = pytest.mark.parametrize("name", list_detectors(), scope="module")


def _fit(name, dataset):
    det = build_detector(name, TINY)
    try:
        assert det.fit(dataset.train, dataset.val) is det
    except NotApplicableError:
        pytest.skip(f"{name} is not applicable to in-memory data")
    return det


@pytest.fixture(scope="module", autouse=True)
def _small_clip():
    """UnivFD's CLIP ViT-L/14 (304M parameters, random here) built from ViT-S-32's config: the
    contract is the detector's, not CLIP's; tests/detectors/test_released.py loads the real
    layout's head."""
    pytest.importorskip("open_clip")
    from detectors.released.specs import UnivFD

    saved = UnivFD.clip_model, UnivFD.clip_pretrained
    UnivFD.clip_model, UnivFD.clip_pretrained = "ViT-S-32", None
    yield
    UnivFD.clip_model, UnivFD.clip_pretrained = saved


@pytest.fixture(scope="module")
def fitted(name, tiny_dataset):
    """``name`` fitted once on the tiny dataset (quick: 1 epoch, 32-px inputs, CPU)."""
    return _fit(name, tiny_dataset)


# --- metadata ---------------------------------------------------------------------------------


@each_detector
def test_metadata_schema(name):
    meta = DETECTORS.get(name).meta
    assert isinstance(meta, DetectorMeta) and meta.name == name
    assert meta.family in FAMILIES and meta.paper and meta.normalisation
    assert meta.input_size is None or (isinstance(meta.input_size, int) and meta.input_size > 0)
    assert isinstance(meta.min_side, int) and meta.min_side >= 1  # shortest usable side, px
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.name = "x"  # type: ignore[misc]


@each_detector
def test_cites_a_known_reference(name):
    paper = DETECTORS.get(name).meta.paper
    assert not INTERNAL.search(paper), f"{name}: {paper!r}"
    if not paper.startswith("none"):  # baselines of our own cite nothing
        assert cited_in(paper), f"{name}: {paper!r} cites no entry of REFERENCES"


@each_detector
def test_declares_a_justified_minimum(name):
    meta = DETECTORS.get(name).meta
    assert isinstance(meta.min_side, int) and meta.min_side >= 1, name
    # the metadata states the minimum at the default parameters
    assert detector_min_side(create_detector(name)) == meta.min_side, name


# --- declared parameters: recipe, condition grid, search space ---------------------------------


@each_detector
def test_recipe_names_real_parameters(name):
    recipe = dict(DETECTORS.get(name).meta.recipe)
    params = create_detector(name).get_params()
    assert set(recipe) <= set(params), f"{name}: recipe keys {sorted(set(recipe) - set(params))}"
    built = create_detector(name, **recipe).get_params()  # the recipe builds the detector
    assert {k: built[k] for k in recipe} == recipe


@each_detector
def test_condition_grid_is_a_known_grid(name):
    params = create_detector(name).get_params()
    recipe = DETECTORS.get(name).meta.recipe
    if "condition_grid" in params:
        assert params["condition_grid"] in CONDITION_GRIDS, params["condition_grid"]
    if "condition_grid" in recipe:
        assert recipe["condition_grid"] in CONDITION_GRIDS, recipe["condition_grid"]


@each_detector
def test_search_space_names_real_parameters(name):
    det = create_detector(name)
    space = search_space(det)  # raises on a key that is not a parameter
    if det.meta.family == "classical":  # every classical detector has something to tune
        assert space, f"{name}: classical detector without a search_space"


# --- capabilities -------------------------------------------------------------------------------


def _hook_capability(method: str) -> str:
    """The capability a class with ``method`` must declare: the only one needing it, or the one
    named after it (``torch_module``; ``saliency`` claims more than having the method)."""
    caps = [cap for cap, m in CAPABILITIES.items() if m == method]
    return caps[0] if len(caps) == 1 else method


@each_detector
def test_declared_capabilities_exist_and_hooks_are_declared(name):
    det = create_detector(name)
    declared = set(det.capabilities)
    assert isinstance(type(det).capabilities, frozenset), type(det).capabilities
    assert declared <= set(CAPABILITIES), f"{name}: unknown {sorted(declared - set(CAPABILITIES))}"
    for cap in declared:  # a declared hook is a method of the class
        method = CAPABILITIES[cap]
        assert callable(getattr(det, method, None)), f"{name} declares {cap!r} without {method}()"
    for method in set(CAPABILITIES.values()):  # a hook method is never left undeclared
        if callable(getattr(det, method, None)):
            cap = _hook_capability(method)
            assert cap in declared, f"{name} has {method}() but does not declare {cap!r}"


# --- the protocol, on a tiny fit ---------------------------------------------------------------


@each_detector
def test_contract(name, fitted, tiny_dataset, tmp_path):
    det = build_detector(name, TINY)
    assert "seed" in det.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        det.predict_proba(tiny_dataset.test)
    det = fitted
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


@each_detector
def test_states_its_parameter_count_after_a_fit(name, fitted):
    n = fitted.n_parameters()  # every built-in detector states it (a plugin may not: NaN)
    assert math.isfinite(float(n)) and n >= 0, f"{name}: n_parameters() = {n!r}"
