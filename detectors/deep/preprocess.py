"""Input preparation for the deep detectors of ``detectors.deep.training``.

Holds what turns samples into network input: decoding a list of ``Sample``s into one ``uint8``
``(N, 3, S, S)`` tensor at the model's input size (torchvision v2 ``resize`` with antialiasing,
batched per image shape), the named per-channel normalisations (ImageNet's mean and std as
torchvision's pretrained weights use them, and [-1, 1]), Wang et al. 2020's (CNNDetection)
blur + JPEG training augmentation applied per image of a uint8 batch
(``benchmark.conditions.corruptions``), the seeded stratified validation holdout, the choice of
device, the CUDA-only speed-ups and seeded torch settings. ``training`` re-exports all of it.
Heavy imports (torch, torchvision) stay inside functions: ``detectors/`` is imported by
``python -m benchmark list``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from benchmark.core.samples import Sample

if TYPE_CHECKING:
    import torch

#: Per-channel (mean, std) of each named normalisation; ``None`` means plain [0, 1] scaling.
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]] | None] = {
    "[0,1]": None,
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "[-1,1]": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    import torch

    if device not in DEVICES and not str(device).startswith("cuda:"):
        raise ValueError(f"device must be one of {DEVICES} (or 'cuda:N'), got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} requested but torch sees no CUDA GPU")
    return torch.device(device)


def cuda_speedups(device: torch.device) -> dict[str, bool]:
    """Which CUDA-only speed-ups apply on ``device`` (all off on CPU)."""
    on = device.type == "cuda"
    return {"amp": on, "channels_last": on, "pin_memory": on}


@contextlib.contextmanager
def torch_settings(device: torch.device, seed: int, num_threads: int | None) -> Iterator[None]:
    """Seed torch's RNGs, optionally set the thread count, and restore both afterwards."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        try:
            if num_threads:
                torch.set_num_threads(int(num_threads))
            if device.type == "cpu":  # on CUDA this would need CUBLAS_WORKSPACE_CONFIG set
                torch.use_deterministic_algorithms(True, warn_only=True)
            yield
        finally:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_det)


#: How an image becomes a square network input (``load_images``'s ``policy``).
RESIZE_POLICIES = ("resize", "center_crop", "native")


def load_images(
    samples: list[Sample], size: int, policy: str = "resize", crop_pct: float | None = None,
    chunk: int = 64,
) -> torch.Tensor:  # fmt: skip
    """Decode ``samples`` into one ``(N, 3, size, size)`` uint8 tensor.

    ``policy="resize"`` (and ``"native"``, whose caller chose ``size`` as the images' own side)
    resizes each whole image to a square (the harness already renders test conditions to the
    detector's size); ``"center_crop"`` is the ImageNet evaluation transform: the shorter side
    to ``size / crop_pct``, then the central ``size`` square. Images of equal shape are resized
    together, ``chunk`` at a time (torchvision v2, antialiased).
    """
    import torch
    from torchvision.transforms.v2 import functional as F

    if policy not in RESIZE_POLICIES:
        raise ValueError(f"resize policy must be one of {RESIZE_POLICIES}, got {policy!r}")
    crop = policy == "center_crop"
    if crop and not (crop_pct and 0 < crop_pct <= 1):
        raise ValueError(f"center_crop needs crop_pct in (0, 1], got {crop_pct!r}")

    out = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    images = [s.load() for s in samples]
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, img in enumerate(images):
        by_shape.setdefault(img.shape, []).append(i)
    for shape, idx in by_shape.items():
        for start in range(0, len(idx), chunk):
            part = idx[start : start + chunk]
            x = torch.from_numpy(np.stack([images[i] for i in part])).permute(0, 3, 1, 2)
            if crop:
                x = F.resize(x, [int(size / float(crop_pct))], antialias=True)  # type: ignore[arg-type]
                x = F.center_crop(x, [size, size])
            elif shape[:2] != (size, size):
                x = F.resize(x, [size, size], antialias=True)
            out[part] = x
    return out


def to_input(x: torch.Tensor, normalisation: str, device: torch.device) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` → float32 on ``device``, scaled to [0, 1] then normalised."""
    import torch

    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; known: {list(NORMALISATIONS)}")
    x = x.to(device, non_blocking=True).float().div_(255.0)
    stats = NORMALISATIONS[normalisation]
    if stats is not None:
        mean = torch.tensor(stats[0], device=device).view(1, 3, 1, 1)
        std = torch.tensor(stats[1], device=device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def cnndetection_batch(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Wang et al. 2020 blur + JPEG (``benchmark.conditions.corruptions``) on each uint8 image
    of a batch."""
    import torch

    from benchmark.conditions.corruptions import cnndetection_augment

    arr = x.permute(0, 2, 3, 1).numpy()
    out = np.stack([cnndetection_augment(np.ascontiguousarray(a), rng) for a in arr])
    if out.shape != arr.shape or out.dtype != np.uint8:
        raise RuntimeError(
            f"cnndetection_augment turned {arr.shape} uint8 into {out.shape} {out.dtype}"
        )
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def stratified_holdout(labels: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out) of a seeded stratified split; held_out is empty if too small.

    Per class, ``max(1, round(frac * count))`` indices are held out, so both parts always hold
    both classes (sklearn's ``train_test_split`` can round a minority class away).
    """
    labels = np.asarray(labels).astype(int)
    idx = np.arange(len(labels))
    counts = np.bincount(labels, minlength=2)
    if counts.min() < 2:
        return idx, idx[:0]
    rng = np.random.default_rng(seed)
    held = []
    for label in (0, 1):
        members = rng.permutation(idx[labels == label])
        held.extend(members[: max(1, round(frac * len(members)))].tolist())
    held_arr = np.sort(np.array(held, dtype=idx.dtype))
    return np.setdiff1d(idx, held_arr), held_arr
