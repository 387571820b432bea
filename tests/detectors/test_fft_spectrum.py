"""The FFT spectrum keeps every radial bin at any size (issue #13).

A 512-px image has 256 one-pixel radial bins; sampling 64 of them with ``np.interp`` never
reads some high-frequency bins at all. A periodic artefact placed exactly on such a bin is
invisible to the old sampling (``binning="interp"``) and plain to the default averaging.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmark.core.samples import Sample
from benchmark.plugins import create_detector
from detectors.classical.fft_spectrum import _radii, azimuthal_spectra

SIZE, N_POINTS = 512, 64


def _skipped_bin(n_bins: int, n_points: int) -> int:
    """Highest radial bin that ``np.interp`` onto ``n_points`` frequencies gives zero weight."""
    grid, native = np.linspace(0, 1, n_points), np.linspace(0, 1, n_bins)
    unseen = [r for r in range(n_bins) if not np.interp(grid, native, np.eye(n_bins)[r]).any()]
    assert unseen, "every bin is read: nothing to test at this size"
    return max(unseen)


def _noise_image(rng: np.random.Generator, artefact_bin: int | None) -> np.ndarray:
    """Smooth random texture; with ``artefact_bin``, its spectrum is boosted 30x on that ring.

    The boost is a sum of sinusoids of one spatial frequency in every direction: a periodic
    pattern like the checkerboard of a transposed convolution, at a high frequency.
    """
    import cv2

    img = cv2.resize(
        rng.normal(128, 40, (SIZE // 4, SIZE // 4)), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC
    )
    img = img + rng.normal(0, 8, img.shape)
    if artefact_bin is not None:
        spec = np.fft.fftshift(np.fft.fft2(img))
        radii, _ = _radii(SIZE, SIZE)
        spec.reshape(-1)[radii == artefact_bin] *= 30.0
        img = np.real(np.fft.ifft2(np.fft.ifftshift(spec)))
    gray = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def test_high_frequency_artefact_seen_only_when_every_bin_counts() -> None:
    radial = _skipped_bin(SIZE // 2, N_POINTS)
    assert radial > 0.75 * SIZE // 2  # a high frequency, where up-sampling peaks sit
    clean_rng, art_rng = np.random.default_rng(1), np.random.default_rng(1)
    clean, marked = _noise_image(clean_rng, None), _noise_image(art_rng, radial)
    for binning, should_see in (("interp", False), ("mean", True)):
        a, b = azimuthal_spectra([clean, marked], N_POINTS, binning=binning)
        moved = np.abs(b - a).max()
        assert (moved > 3.0) == should_see, (binning, moved)  # dB on the 20·log scale


@pytest.fixture(scope="module")
def artefact_set() -> list[Sample]:
    """48 images of 512 px, every other one with the artefact on a bin 32 points skip."""
    radial = _skipped_bin(SIZE // 2, 32)
    rng = np.random.default_rng(2)
    return [
        Sample(f"s{i}", i % 2, None, {}, _noise_image(rng, radial if i % 2 else None))
        for i in range(48)
    ]


def test_detector_catches_the_artefact(artefact_set: list[Sample]) -> None:
    from sklearn.metrics import roc_auc_score

    auc = {}
    for binning in ("interp", "mean"):
        det = create_detector("fft_spectrum", binning=binning, n_points=32, extent="circle")
        det.fit(artefact_set[:32])
        test = artefact_set[32:]
        auc[binning] = roc_auc_score([s.label for s in test], det.predict_proba(test)[:, 1])
    # 16 test images and 32 standardised features: the averaged spectrum ranks most of them
    # right, the sampled one is at chance
    assert auc["mean"] >= 0.8 and auc["interp"] <= 0.7, auc
    default = create_detector("fft_spectrum")  # keeps every bin, up to the corners
    assert default.binning == "mean" and default.extent == "corners"


@given(
    side=st.integers(8, 96),
    n_points=st.sampled_from([4, 16, 32, 64]),
    seed=st.integers(0, 99),
    extent=st.sampled_from(["circle", "corners"]),
)
def test_mean_binning_is_the_pixel_average_of_each_band(
    side: int, n_points: int, seed: int, extent: str
):
    """Each output point equals the mean log-magnitude of the pixels in its radius band."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    got = azimuthal_spectra([img], n_points, extent=extent)[0]
    assert got.shape == (n_points,) and np.isfinite(got).all()
    radii, n_bins = _radii(side, side, extent)
    if n_bins <= n_points:  # fewer bins than points: interpolation, as before
        interp = azimuthal_spectra([img], n_points, binning="interp", extent=extent)[0]
        np.testing.assert_allclose(got, interp)
        return
    gray = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    logmag = 20 * np.log(np.abs(np.fft.fftshift(np.fft.fft2(gray))) + 1e-8).ravel()
    band = np.where(radii < n_bins, radii * n_points // n_bins, -1)
    want = [logmag[band == j].mean() for j in range(n_points)]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_bad_binning_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="binning must be"):
        azimuthal_spectra([np.zeros((16, 16, 3), np.uint8)], 8, binning="nearest")


def test_bad_extent_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="extent must be"):
        azimuthal_spectra([np.zeros((16, 16, 3), np.uint8)], 8, extent="square")


@pytest.mark.parametrize("binning", ["mean", "interp"])
def test_diagonal_checkerboard_seen_only_when_the_corners_count(binning: str) -> None:
    """A stride-2 up-sampling's checkerboard, (-1)^(x+y), is one frequency: Nyquist in both
    axes, a corner of the shifted spectrum, outside the full circle."""
    rng = np.random.default_rng(3)
    side = 64
    base = rng.normal(128, 30, (side, side))
    y, x = np.indices((side, side))
    marked = base + 6.0 * (-1.0) ** (x + y)
    imgs = [np.repeat(a[..., None], 3, axis=2) for a in (base, marked)]  # float: no rounding
    moved = {}
    for extent in ("circle", "corners"):
        a, b = azimuthal_spectra(imgs, 16, binning=binning, extent=extent)
        moved[extent] = np.abs(b - a).max()
    assert moved["circle"] < 1e-6 < 1.0 < moved["corners"], moved  # dB on the 20·log scale
