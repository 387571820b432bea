"""Conformance with ImageNet-C: each of its 19 corruptions does the reference's damage.

Reference figures: mean absolute difference (grey levels, 0-255) between a corrupted image and
the original, averaged over four photos shipped with scikit-image (astronaut, coffee, chelsea,
rocket; centre square, area-resized to 224 px as ``photos()`` below) and over random draws,
at severities 1-5. Measured once with the reference implementation,
``imagecorruptions.corrupt(photo, severity, name)`` (Michaelis et al. 2019, the packaging of
Hendrycks & Dietterich 2019's ``make_imagenet_c.py``), in a throwaway venv:

    python3 -m venv /tmp/icref && /tmp/icref/bin/pip install imagecorruptions==1.1.2
    # imagecorruptions 1.1.2, numpy 2.4.6, scipy 1.17.1, scikit-image 0.26.0, Pillow 13.0.0,
    # opencv-python 5.0.0.93, Python 3.11.7; np.random.seed(0); two shims for APIs removed
    # since 1.1.2, arithmetic untouched: np.float_ = np.float64, and skimage.filters.gaussian
    # wrapped to turn multichannel=True into channel_axis=-1.
    # draws per photo: 1 for the deterministic ones, 2 for noise, 5 glass_blur, 10 elastic,
    # 40 motion_blur, 100 snow, 200 fog, 500 spatter and frost.

The reference package is not a dependency of the project or of these tests (frost reads its
photographs only, from an install without dependencies: ``benchmark.frost``). Our figures must
lie within 5% of the reference's; deterministic corruptions within 1 grey level too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata

import numpy as np
import pytest

from benchmark.conditions import blur, frost
from benchmark.conditions import corruptions as C
from benchmark.conditions.grid import parse_corruptions

REFERENCE: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (15.437, 22.691, 32.797, 44.791, 59.638),
    "shot_noise": (14.781, 22.59, 31.847, 47.209, 59.009),
    "impulse_noise": (3.835, 7.634, 11.485, 21.583, 34.414),
    "defocus_blur": (6.625, 8.131, 10.857, 12.965, 14.953),
    "glass_blur": (7.86, 7.972, 12.786, 12.366, 13.976),
    "motion_blur": (8.826, 12.303, 15.851, 19.043, 20.86),
    "zoom_blur": (13.515, 16.025, 17.439, 19.088, 20.451),
    "snow": (40.826, 67.462, 67.138, 81.847, 97.122),
    "frost": (61.117, 75.054, 82.399, 78.693, 82.656),
    "fog": (41.167, 45.863, 49.301, 49.677, 52.291),
    "brightness": (17.259, 33.81, 48.022, 59.509, 68.135),
    "contrast": (24.707, 28.844, 32.96, 37.084, 39.149),
    "elastic_transform": (7.129, 8.662, 10.445, 11.585, 13.109),
    "pixelate": (3.968, 4.574, 5.734, 7.072, 7.944),
    "jpeg": (5.651, 6.439, 7.025, 8.296, 10.194),  # ImageNet-C's jpeg_compression
    "speckle_noise": (11.435, 15.045, 25.414, 31.745, 40.143),
    "gaussian_blur": (4.152, 7.391, 9.874, 11.919, 15.171),
    "spatter": (0.845, 4.581, 7.831, 7.164, 11.616),
    "saturate": (25.736, 33.168, 19.899, 30.126, 35.748),
}
DETERMINISTIC = {
    "defocus_blur",
    "zoom_blur",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg",
    "gaussian_blur",
    "saturate",
}
# Images per severity here (cycling through the photos; 4 = each once): enough for a standard
# error near 1-2% where one draw varies a lot (frost picks one of five photographs; spatter at
# severity 1 wets a few spots, about 35% relative spread per image), few enough for seconds.
IMAGES: dict[str, tuple[int, ...]] = {
    "frost": (160,) * 5,
    "spatter": (240, 64, 24, 24, 16),
    "fog": (80,) * 5,
    "snow": (12,) * 5,
    "motion_blur": (12,) * 5,
    "elastic_transform": (8,) * 5,
}
# sha256 of the reference's uint8 outputs (severities 1-5 x the four photos, stacked): ours
# must be bit-identical, as both call the same PIL / libjpeg operations.
BIT_IDENTICAL = {
    "pixelate": "3ab4d70e23e28c4abf4783c7fec0d96017b630c0ce41132cc05188310acfe3a1",
    "jpeg": "759f0ae78e43660ff13f4d5089df7bb924ec356484cfaed918374804e65de92b",
}


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    import cv2
    from skimage import data

    def square(img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        s = min(h, w)
        y, x = (h - s) // 2, (w - s) // 2
        return cv2.resize(img[y : y + s, x : x + s], (224, 224), interpolation=cv2.INTER_AREA)

    return np.stack(
        [square(getattr(data, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    )


def damage(name: str, severity: int, photos: np.ndarray) -> float:
    """Mean absolute damage over ``IMAGES`` draws, the photos in turn."""
    rng = np.random.default_rng(severity)
    n = IMAGES.get(name, (len(photos),) * 5)[severity - 1]
    out = [C.corrupt(photos[i % len(photos)], name, severity, rng) for i in range(n)]
    return float(
        np.mean(
            [
                np.abs(o - photos[i % len(photos)].astype(np.float64)).mean()
                for i, o in enumerate(out)
            ]
        )
    )


def test_groups_are_imagenet_c() -> None:
    assert set(REFERENCE) == set(C.IMAGENET_C_15) | set(C.IMAGENET_C_EXTRA)
    assert len(C.IMAGENET_C_15) == 15 and len(C.IMAGENET_C_EXTRA) == 4
    assert parse_corruptions("imagenet-c") == list(C.IMAGENET_C_15)
    assert parse_corruptions("imagenet-c-extra") == [
        "speckle_noise",
        "gaussian_blur",
        "spatter",
        "saturate",
    ]
    assert parse_corruptions("imagenet-c,imagenet-c-extra") == list(REFERENCE)
    for name in REFERENCE:
        assert C.TABLES[name].source.startswith("ImageNet-C") or name == "elastic_transform"
    assert "saturation" not in REFERENCE and C.TABLES["saturation"].source.startswith("Deeper")


@pytest.mark.parametrize("name", list(REFERENCE))
def test_damage_matches_reference(name: str, photos: np.ndarray) -> None:
    ours = np.array([damage(name, s, photos) for s in range(1, 6)])
    ref = np.array(REFERENCE[name])
    ratio = ours / ref
    assert np.all(np.abs(ratio - 1) <= 0.05), (name, np.round(ours, 3), np.round(ratio, 3))
    if name in DETERMINISTIC:
        assert np.all(np.abs(ours - ref) <= 1.0), (name, np.round(ours - ref, 3))


@pytest.mark.parametrize("name", sorted(BIT_IDENTICAL))
def test_bit_identical_to_reference(name: str, photos: np.ndarray) -> None:
    out = np.stack([np.stack([C.corrupt(p, name, s, 0) for p in photos]) for s in range(1, 6)])
    assert hashlib.sha256(out.tobytes()).hexdigest() == BIT_IDENTICAL[name]


@pytest.mark.parametrize(("shape", "delta"), [((9, 11), 1), ((20, 17), 2), ((15, 30), 4)])
def test_glass_shuffle_is_the_reference_loop(shape: tuple[int, int], delta: int) -> None:
    """The vectorised shuffle equals ImageNet-C's per-pixel loop run with the same offsets; the
    loop's ``x[h, w], x[h2, w2] = x[h2, w2], x[h, w]`` on numpy rows is a copy, not a swap."""
    h, w = shape
    sources = blur._shuffle_sources(shape, delta, np.random.default_rng(7))
    offsets = np.random.default_rng(7).integers(
        -delta, delta, size=(2, h - 2 * delta, w - 2 * delta)
    )
    x = np.arange(h * w).reshape(h, w, 1).repeat(3, axis=2)  # rows of 3, as RGB pixels
    for i in range(h - delta, delta, -1):  # the reference's loop, verbatim but for the offsets
        for j in range(w - delta, delta, -1):
            dy, dx = offsets[:, i - delta - 1, j - delta - 1]
            x[i, j], x[i + dy, j + dx] = x[i + dy, j + dx], x[i, j]
    assert np.array_equal(sources, x[:, :, 0].ravel())


def test_frost_without_the_photographs_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "files", missing)
    frost.frost_photographs.cache_clear()
    frost._enlarged.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="pip install --no-deps imagecorruptions==1.1.2"):
            C.corrupt(np.zeros((32, 32, 3), np.uint8), "frost", 1, 0)
    finally:
        frost.frost_photographs.cache_clear()


def test_frost_photographs() -> None:
    photos_ = frost.frost_photographs()
    assert [p.shape for p in photos_] == [
        (600, 900, 3),
        (315, 560, 3),
        (315, 560, 3),
        (350, 527, 3),
        (495, 660, 3),
    ]
    assert all(p.dtype == np.uint8 for p in photos_)
