"""Conditions: keys, CLI parsers, the condition grid, and cached, atomic rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.conditions import corruptions as C
from benchmark.conditions import grid as K
from benchmark.conditions.grid import Condition
from benchmark.core.samples import Sample, cache_dir, read_image

JPEG3 = Condition("corruption", "jpeg", 3)
REAL = dict(C.CORRUPTIONS)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache per test, so "second call is cached" means this test's first call."""
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str, fail_at: int | None = None) -> list:
    calls: list[int] = []
    real = REAL[name]

    def counted(image, severity, rng):
        calls.append(1)
        if fail_at is not None and len(calls) == fail_at:
            raise RuntimeError("interrupted")
        return real(image, severity, rng)

    monkeypatch.setitem(C.CORRUPTIONS, name, counted)
    return calls


def test_keys_rows_and_round_trip() -> None:
    conds = K.build_conditions(["jpeg", "fog"], [1, 3], [32, 64], resolution_agnostic=True)
    keys = [c.key for c in conds]
    assert keys == [
        "clean",
        "jpeg@1",
        "jpeg@3",
        "fog@1",
        "fog@3",
        "res32-resized",
        "res32-native",
        "res64-resized",
        "res64-native",
    ]
    assert all(Condition.from_key(c.key) == c for c in conds)
    assert JPEG3.as_row() == {
        "condition": "jpeg@3",
        "corruption": "jpeg",
        "severity": 3,
        "resolution": "",
        "mode": "",
    }
    assert conds[-1].as_row() == {
        "condition": "res64-native",
        "corruption": "",
        "severity": "",
        "resolution": 64,
        "mode": "native",
    }
    assert K.CLEAN.as_row()["severity"] == 0
    assert len(K.build_conditions(["jpeg"], [1], [32], resolution_agnostic=False)) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind="corruption", corruption="nope", severity=1),
        dict(kind="corruption", corruption="jpeg", severity=0),
        dict(kind="corruption", corruption="jpeg", severity=6),
        dict(kind="resolution", resolution=64, mode="squashed"),
        dict(kind="resolution", resolution=0, mode="native"),
        dict(kind="clean", severity=2),
        dict(kind="other"),
    ],
)
def test_invalid_conditions(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="invalid condition"):
        Condition(**kwargs)
    with pytest.raises(ValueError, match="bad condition key"):
        Condition.from_key("jpeg@")


def test_parsers_accept() -> None:
    assert K.parse_severities("1-5") == [1, 2, 3, 4, 5]
    assert K.parse_severities("1,3,5") == [1, 3, 5]
    assert K.parse_severities(" 5 , 1-2 ") == [1, 2, 5]
    assert K.parse_severities("3") == [3]
    assert K.parse_resolutions("128,32,64,32") == [32, 64, 128]
    assert K.parse_corruptions("all") == list(C.ALL)
    assert K.parse_corruptions("default") == list(C.DEFAULT_SUBSET)
    assert K.parse_corruptions("none") == []
    assert K.parse_corruptions("jpeg,fog,jpeg") == ["jpeg", "fog"]
    assert K.parse_corruptions("*noise") == C.list_corruptions("*noise")
    assert K.parse_corruptions("external") == ["fog", "snow", "frost", "spatter", "rain"]


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (K.parse_severities, "0", "1-5"),
        (K.parse_severities, "6", "1-5"),
        (K.parse_severities, "5-1", "1-5"),
        (K.parse_severities, "", "empty"),
        (K.parse_severities, "1,,2", "empty"),
        (K.parse_severities, "-1", "bad item"),
        (K.parse_resolutions, "0", "pixel sizes"),
        (K.parse_resolutions, "64px", "pixel sizes"),
        (K.parse_corruptions, "jpg", "did you mean jpeg"),
        (K.parse_corruptions, "zz*", "matches none"),
        (K.parse_corruptions, "jpeg,", "empty"),
    ],
)
def test_parsers_reject_with_clear_message(parser, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parser(text)


@settings(deadline=None, max_examples=150)
@given(text=st.one_of(st.text(), st.from_regex(r"[0-9,\- *a-z]{0,12}", fullmatch=True)))
def test_parsers_never_crash(text: str) -> None:
    for parser, check in (
        (K.parse_severities, lambda v: 1 <= v <= 5),
        (K.parse_resolutions, lambda v: v >= 1),
        (K.parse_corruptions, lambda v: v in C.CORRUPTIONS),
    ):
        try:
            out = parser(text)
        except ValueError:
            continue
        assert isinstance(out, list) and all(check(v) for v in out)


def test_clean_returns_samples_unchanged(tiny_dataset) -> None:
    test = tiny_dataset.test
    out = K.render(test, K.CLEAN, seed=0, dataset_fingerprint="fp")
    assert all(a is b for a, b in zip(out, test, strict=True))


def test_render_caches_and_matches_direct_application(
    tiny_dataset, monkeypatch, _own_cache: Path
) -> None:
    test = tiny_dataset.test
    calls = count_calls(monkeypatch, "jpeg")
    first = K.render(test, JPEG3, seed=5, dataset_fingerprint="fp")
    assert len(calls) == len(test)
    second = K.render(test, JPEG3, seed=5, dataset_fingerprint="fp")
    assert len(calls) == len(test), "second render re-rendered"
    assert [s.path for s in first] == [s.path for s in second]
    root = cache_dir() / "conditions" / "jpeg@3"
    assert root.is_relative_to(_own_cache) and first[0].path.parent.parent == root
    for src, out in zip(test, first, strict=True):
        assert (out.id, out.label, out.pixels) == (src.id, src.label, None)
        assert out.meta == {**src.meta, **JPEG3.as_row()}
        expected = K.apply(src.load(), JPEG3, K.image_rng(5, JPEG3, src.id))
        assert np.array_equal(read_image(out.path), expected)  # lossless PNG
    before = len(calls)
    K.render(test, JPEG3, seed=6, dataset_fingerprint="fp")
    K.render(test, JPEG3, seed=5, dataset_fingerprint="other")
    assert len(calls) == before + 2 * len(test)  # seed and dataset are part of the key


def test_render_is_order_independent(tiny_dataset, monkeypatch, tmp_path: Path) -> None:
    test, cond = tiny_dataset.test, Condition("corruption", "gaussian_noise", 2)
    forward = K.render(test, cond, seed=0, dataset_fingerprint="fp")
    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "other-cache"))
    backward = K.render(test[::-1], cond, seed=0, dataset_fingerprint="fp")
    by_id = {s.id: read_image(s.path) for s in backward}
    assert all(np.array_equal(read_image(s.path), by_id[s.id]) for s in forward)


def test_interrupted_render_leaves_nothing_then_recovers(tiny_dataset, monkeypatch) -> None:
    test = tiny_dataset.test
    count_calls(monkeypatch, "jpeg", fail_at=3)
    with pytest.raises(RuntimeError, match="interrupted"):
        K.render(test, JPEG3, seed=0, dataset_fingerprint="fp")
    out_dir = K.render_dir(JPEG3, seed=0, dataset_fingerprint="fp")
    assert not out_dir.exists()
    assert list(out_dir.parent.iterdir()) == []  # the temporary folder is gone too
    calls = count_calls(monkeypatch, "jpeg")  # never monkeypatch.undo(): it drops the cache env
    done = K.render(test, JPEG3, seed=0, dataset_fingerprint="fp")
    assert len(calls) == len(test) and all(s.path.is_file() for s in done)


def test_render_adds_only_missing_images(tiny_dataset, monkeypatch) -> None:
    test = tiny_dataset.test
    calls = count_calls(monkeypatch, "jpeg")
    K.render(test[:3], JPEG3, seed=0, dataset_fingerprint="fp")
    K.render(test, JPEG3, seed=0, dataset_fingerprint="fp")
    assert len(calls) == len(test)
    out_dir = K.render_dir(JPEG3, seed=0, dataset_fingerprint="fp")
    assert len(list(out_dir.glob("*.png"))) == len(test)
    assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(".tmp")]


def test_render_resolution_modes(tiny_dataset) -> None:
    test = tiny_dataset.test  # 32 px images
    native = K.render(
        test, Condition("resolution", None, 0, 16, "native"), seed=0, dataset_fingerprint="fp"
    )
    assert {read_image(s.path).shape for s in native} == {(16, 16, 3)}
    resized = Condition("resolution", None, 0, 16, "resized")
    to24 = K.render(test, resized, seed=0, dataset_fingerprint="fp", target_size=24)
    back = K.render(test, resized, seed=0, dataset_fingerprint="fp")
    assert {read_image(s.path).shape for s in to24} == {(24, 24, 3)}
    assert {read_image(s.path).shape for s in back} == {(32, 32, 3)}
    assert to24[0].path.parent != back[0].path.parent


def test_render_in_memory_samples() -> None:
    rng = np.random.default_rng(0)
    samples = [
        Sample(
            f"mem/{i}",
            i % 2,
            None,
            {"family": "x"},
            rng.integers(0, 256, (20, 28, 3), dtype=np.uint8),
        )
        for i in range(3)
    ]
    out = K.render(
        samples, Condition("corruption", "fog", 5), seed=1, dataset_fingerprint="in memory!"
    )
    assert [s.load().shape for s in out] == [(20, 28, 3)] * 3
    assert out[0].meta["family"] == "x" and out[0].meta["condition"] == "fog@5"
