"""Properties of the corruption functions: shape, dtype, identity, determinism, monotone damage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.conditions import corruptions as C

# What the issue asks for, by the names used here.
REQUIRED = {
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "gaussian_blur",
    "defocus_blur",
    "motion_blur",
    "jpeg",
    "pixelate",
    "brightness",
    "contrast",
    "saturation",
    "fog",
    "snow",
    "rain",
    "block_wise",
    "color_noise",
}
TOLERANCE_DB = 0.25  # fog and snow are random layers: allow this much PSNR wobble
# ImageNet-C's own tables do not grow monotonically here (reference mean absolute damage at
# 224 px, tests/conditions/test_imagenet_c.py): saturate desaturates at 1-2 and over-saturates
# at 3-5, glass blur's rounds and offsets trade off (12.8 at severity 3, 12.4 at 4), frost's
# image weight falls as its frost weight rises (80.1 at 3, 79.2 at 4). Their damage is checked
# there instead.
NOT_MONOTONE = {"saturate", "glass_blur", "frost"}


def random_image(seed: int, h: int, w: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def astronaut64() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)


def test_registry_tables_and_default_subset() -> None:
    assert set(C.CORRUPTIONS) == set(C.TABLES) == set(C.ALL)
    assert set(C.ALL) >= REQUIRED
    for name, table in C.TABLES.items():
        assert len(table.levels) == 5, name
        assert table.family in C.FAMILIES and table.source, name
    assert set(C.DEFAULT_SUBSET) <= set(C.ALL)
    assert {C.TABLES[n].family for n in C.DEFAULT_SUBSET} == set(C.FAMILIES)
    assert C.list_corruptions("*blur") == [
        "gaussian_blur",
        "defocus_blur",
        "motion_blur",
        "glass_blur",
        "zoom_blur",
        "df_gaussian_blur",
    ]
    assert C.list_corruptions() == list(C.ALL)
    assert len(C.parameter_table()) == len(C.ALL)


@settings(deadline=None, max_examples=60)
@given(
    name=st.sampled_from(C.ALL),
    h=st.integers(16, 48),
    w=st.integers(16, 48),
    severity=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_shape_dtype_determinism_purity(
    name: str, h: int, w: int, severity: int, seed: int
) -> None:
    img = random_image(seed, h, w)
    before = img.copy()
    out = C.corrupt(img, name, severity, seed)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(img, before), "input modified"
    assert np.array_equal(out, C.corrupt(img, name, severity, np.random.default_rng(seed)))


@pytest.mark.parametrize("name", C.ALL)
def test_severity_zero_is_identity(name: str) -> None:
    img = random_image(1, 24, 31)
    out = C.CORRUPTIONS[name](img, 0, np.random.default_rng(0))
    assert np.array_equal(out, img) and out is not img


@pytest.mark.parametrize("name", sorted(set(C.ALL) - NOT_MONOTONE))
def test_damage_grows_with_severity(name: str, astronaut64: np.ndarray) -> None:
    for seed in (0, 1):
        scores = [psnr(astronaut64, C.corrupt(astronaut64, name, s, seed)) for s in range(1, 6)]
        for lo, hi in zip(scores, scores[1:], strict=False):
            assert hi <= lo + TOLERANCE_DB, (name, seed, np.round(scores, 2))
        assert scores[-1] < scores[0] - 1.0, (name, np.round(scores, 2))


@pytest.mark.parametrize("name", C.ALL)
@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (5, 200, 3), (1024, 7, 3)])
def test_tiny_and_odd_shapes(name: str, shape: tuple[int, int, int]) -> None:
    img = random_image(2, *shape[:2])
    assert C.corrupt(img, name, 5, 0).shape == shape


def test_tables_are_applied() -> None:
    grey = np.full((64, 64, 3), 128, np.uint8)
    noisy = C.corrupt(grey, "gaussian_noise", 1, 0).astype(float)
    assert abs(noisy.std() - 0.08 * 255) < 1.0  # ImageNet-C sigma .08
    img = random_image(3, 32, 32)
    f = img / 255.0
    mean = f.mean(axis=(0, 1), keepdims=True)
    expected = np.rint(np.clip((f - mean) * 0.05 + mean, 0, 1) * 255)
    assert np.abs(C.corrupt(img, "contrast", 5, 0) - expected).max() <= 1
    assert np.array_equal(
        C.corrupt(img, "saturation", 5, 0)[..., 0], C.corrupt(img, "saturation", 5, 0)[..., 2]
    )  # greyscale at 0
    seeds_differ = C.corrupt(img, "gaussian_noise", 3, 0) != C.corrupt(img, "gaussian_noise", 3, 1)
    assert seeds_differ.any()


def test_bad_input_is_a_clear_value_error() -> None:
    img = random_image(0, 8, 8)
    with pytest.raises(ValueError, match="did you mean gaussian_blur"):
        C.corrupt(img, "gausian_blur", 1, 0)
    with pytest.raises(ValueError, match="severity"):
        C.corrupt(img, "jpeg", 6, 0)
    with pytest.raises(ValueError, match="severity"):
        C.corrupt(img, "jpeg", True, 0)
    with pytest.raises(ValueError, match="RGB uint8"):
        C.corrupt(img.astype(np.float32), "jpeg", 1, 0)
    with pytest.raises(ValueError, match="RGB uint8"):
        C.corrupt(img[:, :, 0], "jpeg", 1, 0)


@settings(deadline=None, max_examples=40)
@given(
    h=st.integers(16, 96),
    w=st.integers(16, 96),
    px=st.integers(4, 128),
    back_to=st.one_of(st.none(), st.integers(8, 64)),
)
def test_degrade_resolution_shapes(h: int, w: int, px: int, back_to: int | None) -> None:
    img = random_image(h * w, h, w)
    out = C.degrade_resolution(img, px, back_to)
    assert out.dtype == np.uint8 and out.shape[2] == 3
    side = back_to if back_to is not None else min(px, max(h, w))
    assert max(out.shape[:2]) == side
    assert abs(out.shape[0] / out.shape[1] - h / w) <= (h / w) * 2 / min(out.shape[:2]) + 1e-9
    if back_to is None and px >= max(h, w):
        assert np.array_equal(out, img)


def test_degrade_resolution_rejects_zero() -> None:
    with pytest.raises(ValueError, match="px=0"):
        C.degrade_resolution(random_image(0, 8, 8), 0)


def test_cnndetection_augment() -> None:
    img = random_image(4, 40, 40)
    outs = [C.cnndetection_augment(img, np.random.default_rng(s)) for s in range(40)]
    assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
    unchanged = sum(np.array_equal(o, img) for o in outs)
    assert 2 <= unchanged <= 20  # both steps skipped with probability 0.25
    again = C.cnndetection_augment(img, np.random.default_rng(7))
    assert np.array_equal(again, outs[7])
