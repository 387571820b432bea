"""Shared fixtures: isolated cache, offline hubs, a tiny on-disk dataset, hypothesis profiles."""

from __future__ import annotations

import os

import benchmark  # noqa: F401 - first: caps numpy/OpenCV/torch at AVX2 on AVX-512 CPUs

# Before huggingface_hub/torch are imported: a missing hub file costs ~50 s of retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("FAKEBENCH_NO_PROGRESS", "1")
# Figures cost ~2 s per table set; tests/report/test_figures.py and tests/explain/test_saliency.py
# turn them back on.
os.environ.setdefault("FAKEBENCH_NO_FIGURES", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=30)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets caches under tmp, never ~/.cache or the repo; torch uses few threads."""
    root = tmp_path_factory.getbasetemp() / "fakebench-cache"
    monkeypatch.setenv("FAKEBENCH_CACHE", str(root))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))


def _tiny_image(rng: np.random.Generator, size: int, fake: bool) -> np.ndarray:
    """Smooth 'real' texture; 'fake' = half-resolution nearest upsample (a periodic artefact)."""
    import cv2

    base = rng.integers(0, 256, (size // 4, size // 4, 3), dtype=np.uint8)
    img = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
    if fake:
        small = cv2.resize(img, (size // 2, size // 2), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)
    return img


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory):
    """24 train / 8 val / 8 test PNG images of 32 px, balanced, with a 'family' per fake."""
    from PIL import Image

    from benchmark.core.samples import Dataset, Sample

    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    splits: dict[str, list[Sample]] = {}
    for split, n in (("train", 24), ("val", 8), ("test", 8)):
        samples = []
        for i in range(n):
            label = i % 2
            path = root / split / f"{i:03d}_{label}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(_tiny_image(rng, 32, bool(label))).save(path)
            family = "real" if label == 0 else ("upsample_a" if i % 4 == 1 else "upsample_b")
            samples.append(Sample(f"{split}/{i:03d}", label, path, {"family": family}))
        splits[split] = samples
    return Dataset("tiny", splits, "tiny0000fingerprint")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
