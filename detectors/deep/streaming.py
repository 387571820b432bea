"""Training images that stream from disk instead of being preloaded (for large datasets).

``TorchDetector`` preloads the train split as one uint8 tensor when it is small: an epoch then
costs only the network. At 224 px a 140k-image face set would need 21 GB, so above a memory cap
(``needs_streaming``) the images are decoded per item by ``SampleImages``, a map-style dataset
that ``torch.utils.data.DataLoader`` batches with worker processes. It is a plain class with
``__len__``/``__getitem__`` (all a ``DataLoader`` needs), so importing this module stays free
of torch, and it pickles into workers as a list of samples plus a size. ``seed_worker`` seeds
each worker's torch, numpy and Python generators from (seed, epoch, stream, worker id), so a
dataset that draws random numbers sees the same ones in a resumed epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.core.samples import Sample

if TYPE_CHECKING:
    import torch

GB = 1024**3
#: ``seed_worker`` streams: the training epoch's loader and the validation pass's.
TRAIN_STREAM, VAL_STREAM = 0, 1


def decoded_bytes(n_images: int, size: int) -> int:
    """Bytes of ``n_images`` decoded uint8 RGB images of ``size``×``size``."""
    return int(n_images) * 3 * int(size) * int(size)


def needs_streaming(n_images: int, size: int, memory_cap_gb: float) -> bool:
    """True when preloading ``n_images`` at ``size`` px would exceed ``memory_cap_gb``."""
    if memory_cap_gb <= 0:
        raise ValueError(f"memory_cap_gb must be > 0, got {memory_cap_gb}")
    return decoded_bytes(n_images, size) > memory_cap_gb * GB


def seed_worker(worker_id: int, seed: int, epoch: int, stream: int) -> None:
    """``DataLoader`` ``worker_init_fn`` (bound with ``functools.partial``): seed the worker's
    torch, numpy and Python generators from ``(seed, epoch, stream, worker_id)`` alone."""
    import random

    import numpy as np
    import torch

    seq = np.random.SeedSequence([int(seed), int(epoch), int(stream), int(worker_id)])
    for_torch, for_numpy, for_python = seq.spawn(3)
    torch.manual_seed(int(for_torch.generate_state(1, np.uint64)[0]))
    np.random.seed(for_numpy.generate_state(4))
    random.seed(int(for_python.generate_state(1, np.uint64)[0]))


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
