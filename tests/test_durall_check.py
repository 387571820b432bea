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
    assert out["dataset"] == "upsampling-64px-eps0.02-0.06-q90"
    for key in ("durall2020_reference", "durall2020_reference_circle",
                "fft_spectrum_interp_before", "fft_spectrum_mean_after",
                "fft_spectrum_mean_corners", "fft_spectrum_tuned"):  # fmt: skip
        assert 0.0 <= out[key] <= 1.0, key


def _photos(folder, n=12, side=40):
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(
            folder / f"p{i:02d}.png"
        )
    return sorted(folder.glob("*.png"))


def test_a_zero_gain_makes_fakes_that_are_the_reals_processed_alike(tmp_path):
    files = _photos(tmp_path)
    plain = durall_check.upsampling_dataset(files, size=32, eps=(0.0, 0.0), quality=95)
    marked = durall_check.upsampling_dataset(files, size=32, eps=(0.05, 0.05), quality=95)
    by_id = {s.id: s for split in ("train", "val", "test") for s in marked.splits[split]}
    fakes = reals = 0
    for split in ("train", "val", "test"):
        for s in plain.splits[split]:
            same = np.array_equal(s.pixels, by_id[s.id].pixels)
            assert same == (s.label == 0), s.id  # only the fakes carry the checkerboard
            fakes, reals = fakes + s.label, reals + 1 - s.label
    assert fakes and reals
    assert plain.fingerprint != marked.fingerprint


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"eps": (0.1, 0.05)}, "eps"), ({"eps": (-0.1, 0.05)}, "eps"), ({"quality": 0}, "quality")],
)
def test_upsampling_set_refuses_bad_options(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        durall_check.upsampling_dataset(_photos(tmp_path, 2), size=32, **kwargs)


def test_cli_names_a_malformed_eps(tmp_path):
    _photos(tmp_path)
    with pytest.raises(SystemExit, match="--eps"):
        durall_check.main(["--upsampling", str(tmp_path), "--eps", "0.01"])


def test_reference_loses_a_diagonal_checkerboard_when_kept_to_the_circle():
    """(-1)^(x+y) lives at the spectrum's corner: the full reference sees it, the circle not."""
    from benchmark.core.samples import Sample

    rng = np.random.default_rng(4)
    y, x = np.indices((64, 64))
    board = 20.0 * (-1.0) ** (x + y)
    samples = []
    for i in range(60):
        img = rng.normal(128, 30, (64, 64)) + (board if i % 2 else 0.0)
        pixels = np.repeat(np.clip(np.rint(img), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        samples.append(Sample(f"s{i}", i % 2, None, {}, pixels))
    train, test = samples[:40], samples[40:]
    aucs = durall_check.durall_reference_aucs(train, test)
    assert aucs["full"] >= 0.9
    assert aucs["circle"] <= 0.7
