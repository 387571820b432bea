"""The social group: SIDBench's named conditions and AI-GenBench's seeded chain."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.conditions import grid as K
from benchmark.conditions import social as S
from benchmark.conditions.grid import Condition


def _image(seed: int = 0, h: int = 40, w: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 5, yy * 6, (xx + yy) * 3], -1).astype(float)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("name", S.ALL)
def test_severity_zero_is_identity_and_one_damages(name: str) -> None:
    x = _image()
    assert np.array_equal(S.SOCIAL[name](x, 0, np.random.default_rng(1)), x)
    out = S.SOCIAL[name](x, 1, np.random.default_rng(1))
    assert out.dtype == np.uint8 and out.ndim == 3
    with pytest.raises(ValueError):
        S.SOCIAL[name](x, 2, np.random.default_rng(1))


def test_sidbench_shapes_kept_and_jpeg_quality_ordered() -> None:
    x = _image()
    psnr = [_psnr(x, S.SOCIAL[f"sidbench_jpeg{q}"](x, 1, None)) for q in (95, 90, 50, 30)]
    assert psnr == sorted(psnr, reverse=True) and psnr[0] > psnr[-1] + 1
    import cv2

    sizes = [len(cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, q])[1]) for q in (95, 30)]
    assert sizes[0] > sizes[1]


def test_blur_sigma_ordered_and_combined() -> None:
    x = _image()
    b2, b4 = (S.SOCIAL[f"sidbench_blur{s}"](x, 1, None) for s in (2, 4))
    assert b2.shape == b4.shape == x.shape
    assert _psnr(x, b2) > _psnr(x, b4)
    assert (
        np.abs(np.diff(b4.astype(float), axis=1)).mean()
        < np.abs(np.diff(b2.astype(float), axis=1)).mean()
    )
    both = S.SOCIAL["sidbench_jpeg50_blur2"](x, 1, None)
    assert np.array_equal(both, S.jpeg(S.blur(x, 2), 50, "pil"))


def test_chain_deterministic_per_image_and_order_independent() -> None:
    cond = Condition("corruption", "aigenbench", 1)
    imgs = {f"id{i}": _image(i, 24 + i, 30) for i in range(12)}
    first = {k: K.apply(v, cond, K.image_rng(0, cond, k)) for k, v in imgs.items()}
    again = {k: K.apply(imgs[k], cond, K.image_rng(0, cond, k)) for k in reversed(list(imgs))}
    assert all(np.array_equal(first[k], again[k]) for k in imgs)
    other = {k: K.apply(v, cond, K.image_rng(1, cond, k)) for k, v in imgs.items()}
    assert any(first[k].shape != other[k].shape or not np.array_equal(first[k], other[k])
               for k in imgs)  # fmt: skip


def test_chain_probabilities_over_many_draws() -> None:
    n, rng = 4000, np.random.default_rng(7)
    plans = [S.aigenbench_plan(rng) for _ in range(n)]
    rates = {
        S.P_GREY: np.mean([p.grey for p in plans]),
        S.P_JPEG1: np.mean([p.jpegs[0] is not None for p in plans]),
        S.P_NOISE: np.mean([p.noise_std is not None for p in plans]),
        S.P_JPEG2: np.mean([p.jpegs[1] is not None for p in plans]),
        S.P_CROP: np.mean([p.crop is not None for p in plans]),
    }
    rates3 = np.mean([p.jpegs[2] is not None for p in plans])
    for p, r in [*rates.items(), (S.P_JPEG3, rates3)]:
        assert abs(r - p) < 4 * np.sqrt(p * (1 - p) / n), (p, r)  # 4 standard errors
    qs = [j[0] for p in plans for j in p.jpegs if j]
    assert min(qs) == 50 and max(qs) == 100 and 70 < np.mean(qs) < 80
    sides = [p.crop[2] for p in plans if p.crop]
    assert min(sides) >= 256 and max(sides) <= 512
    stds = [p.noise_std for p in plans if p.noise_std is not None]
    assert min(stds) >= 0.015 and max(stds) <= 0.075


def test_chain_applies_its_plan() -> None:
    x = _image(3, 64, 80)
    for seed in range(40):
        plan = S.aigenbench_plan(np.random.default_rng(seed))
        out = S.aigenbench_chain(x, np.random.default_rng(seed))
        assert out.shape == ((plan.crop[2],) * 2 + (3,) if plan.crop else x.shape)
        if plan.grey:
            assert (
                np.array_equal(out[..., 0], out[..., 1])
                or plan.noise_std is not None
                or any(plan.jpegs)
            )
        if not (plan.grey or plan.crop or plan.noise_std or any(plan.jpegs)):
            assert np.array_equal(out, x)


def test_group_opt_in_and_default_grid_unchanged() -> None:
    assert K.parse_corruptions("social") == list(S.ALL)
    assert not set(S.ALL) & set(K.parse_corruptions("all"))
    assert not set(S.ALL) & set(K.parse_corruptions("default"))
    default = K.build_conditions(K.parse_corruptions("default"), [1, 3, 5], [32, 64], True)
    assert len(default) == 1 + 7 * 3 + 2 * 2  # clean, 7 corruptions x 3 severities, 2 x 2 sizes
    social = K.build_conditions(K.parse_corruptions("jpeg,social"), [1, 3, 5], [], False)
    keys = [c.key for c in social]
    assert keys == ["clean", "jpeg@1", "jpeg@3", "jpeg@5", *(f"{n}@1" for n in S.ALL)]
    assert Condition.from_key("sidbench_jpeg50@1").corruption == "sidbench_jpeg50"
    with pytest.raises(ValueError):
        Condition("corruption", "sidbench_jpeg50", 3)
    assert K.render_dir(
        Condition.from_key("aigenbench@1"), seed=0, dataset_fingerprint="d"
    ).name.endswith(f"-s{S.VERSION}")


def test_render_social_through_the_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.core.samples import Sample

    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    samples = [Sample(f"m/{i}", i % 2, None, {}, _image(i, 20, 28)) for i in range(6)]
    for key in ("sidbench_jpeg30@1", "aigenbench@1"):
        cond = Condition.from_key(key)
        out = K.render(samples, cond, seed=3, dataset_fingerprint="mem")
        assert all(o.meta["condition"] == key for o in out)
        for s, o in zip(samples, out, strict=True):  # the PNG holds exactly the direct result
            assert np.array_equal(o.load(), K.apply(s.load(), cond, K.image_rng(3, cond, s.id)))
