"""Training images that stream from disk instead of being preloaded (for large datasets).

``TorchDetector`` preloads the train split as one uint8 tensor when it is small: an epoch then
costs only the network. At 224 px a 140k-image face set would need 21 GB, so above a memory cap
(``needs_streaming``) the images are decoded per item by ``SampleImages``, a map-style dataset
that ``torch.utils.data.DataLoader`` batches with worker processes. It is a plain class with
``__len__``/``__getitem__`` (all a ``DataLoader`` needs), so importing this module stays free
of torch, and it pickles into workers as a list of samples plus a size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.core.samples import Sample

if TYPE_CHECKING:
    import torch

GB = 1024**3


def decoded_bytes(n_images: int, size: int) -> int:
    """Bytes of ``n_images`` decoded uint8 RGB images of ``size``×``size``."""
    return int(n_images) * 3 * int(size) * int(size)


def needs_streaming(n_images: int, size: int, memory_cap_gb: float) -> bool:
    """True when preloading ``n_images`` at ``size`` px would exceed ``memory_cap_gb``."""
    if memory_cap_gb <= 0:
        raise ValueError(f"memory_cap_gb must be > 0, got {memory_cap_gb}")
    return decoded_bytes(n_images, size) > memory_cap_gb * GB


class SampleImages:
    """Map-style dataset: item ``i`` is ``(uint8 (3, size, size) tensor, label)`` of sample i."""

    def __init__(self, samples: list[Sample], size: int) -> None:
        self.samples = list(samples)
        self.size = int(size)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from detectors.deep.preprocess import load_images

        return load_images([self.samples[i]], self.size)[0], int(self.samples[i].label)
