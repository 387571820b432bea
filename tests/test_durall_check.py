"""benchmark.durall_check: the independent Durall et al. 2020 re-implementation and its CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from benchmark import durall_check


def test_features_average_every_radial_bin():
    img = np.full((16, 16, 3), 128, np.uint8)
    feats = durall_check.durall_features([img, img])
    # radii 0 .. floor(hypot(7.5, 7.5)) = 10: one column per integer radius, none sampled away
    assert feats.shape == (2, 11)
    assert np.array_equal(feats[0], feats[1])


def test_features_refuse_mixed_sizes():
    with pytest.raises(ValueError, match="one image size"):
        durall_check.durall_features([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8)])


def test_cli_on_a_generated_upsampling_set(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
            tmp_path / f"p{i:02d}.png"
        )
    assert durall_check.main(["--upsampling", str(tmp_path), "--size", "64", "--tune", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dataset"] == "upsampling-64px"
    for key in ("durall2020_reference", "fft_spectrum_interp_before", "fft_spectrum_mean_after",
                "fft_spectrum_tuned"):  # fmt: skip
        assert 0.0 <= out[key] <= 1.0, key
