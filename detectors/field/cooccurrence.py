"""Co-occurrence matrices + CNN of Nataraj et al. 2019 ("Detecting GAN generated Fake Images
using Co-occurrence Matrices", Electronic Imaging 2019), trained from scratch.

Method: for every colour channel, the ``levels x levels`` co-occurrence matrix of horizontally
adjacent pixel values (offset (0, 1): the pair ``(x[i, j], x[i, j + 1])``) is counted over the
image at its own size; the three matrices are stacked into a ``3 x levels x levels`` tensor
and classified by the paper's small CNN::

    [Conv 3x3 → ReLU → Conv 5x5 → ReLU → MaxPool 3x3 (stride 2)]  x3, channels 32, 64, 128
    → Flatten → Linear 256 → ReLU → Linear 256 → ReLU → Linear 2

(the paper ends on one sigmoid unit; two logits and a softmax are the same model in the
harness's contract). Counts span orders of magnitude and grow with the image's area, so the
network sees ``log1p(count) / log1p(pairs)``, in [0, 1] whatever the image size. ``to_input``
(``detectors.deep.preprocess``) divides every batch by 255, which is for uint8 pixels: the
tensor handed to it is that value times 255, in float32 (a float tensor, so the training
loop's random horizontal flip, meant for images, is not applied: flipping an image transposes
its horizontal co-occurrence matrix, it does not mirror it). Grad-CAM and pixel saliency do
not apply to such an input, so only ``torch_module`` (timing) is declared.

Deviations for a 2-core CPU (the default dataset fits in about a minute): pixel values are
quantised to ``input_size=64`` levels (``value * levels // 256``, 64 is the smallest side
the three blocks accept), so the tensor is 3x64x64 instead of 3x256x256 (16x fewer
activations), and training stops after at most 8 epochs (patience 3) on the light condition
grid. ``run --recipe paper`` restores 256 levels (``input_size=256``), 50 epochs and the full
grid. The paper's batch size and learning rate could not be checked against its text here;
the shared loop's (Adam, 1e-4, batch 32) are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.core.samples import MIN_SIDE, Sample
from benchmark.registry import register_detector
from detectors.deep.training import TorchDetector

if TYPE_CHECKING:
    from torch import nn

CHANNELS = (32, 64, 128)
HIDDEN = 256
DEFAULT_LEVELS = 64
DEFAULT_EPOCHS = 8


def cooccurrence(img: np.ndarray, levels: int = 256) -> np.ndarray:
    """``(3, levels, levels)`` int64 counts of horizontal pairs ``(x[i, j], x[i, j+1])``.

    Entry ``[c, a, b]`` counts the pixels of channel ``c`` whose value is ``a`` (after
    quantising ``v -> v * levels // 256``) and whose right neighbour's is ``b``. Hand-written
    (one ``np.bincount`` of ``a * levels + b`` per channel) because no library offers it for
    full 8-bit RGB images at this speed: ``skimage.feature.graycomatrix`` loops per offset and
    angle in Cython, one channel at a time, and returns a 4-D array for angles we do not use.
    """
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.dtype != np.uint8:
        raise ValueError(f"cooccurrence: expects uint8 pixels, got {img.dtype}")
    q = img[..., :3].astype(np.int64) * int(levels) // 256
    pairs = q[:, :-1] * int(levels) + q[:, 1:]  # (H, W-1, 3): a * levels + b
    out = np.empty((3, levels, levels), dtype=np.int64)
    for c in range(3):
        out[c] = np.bincount(pairs[..., c].ravel(), minlength=levels * levels).reshape(
            levels, levels
        )
    return out


def cooccurrence_input(images: list[np.ndarray], levels: int) -> np.ndarray:
    """``(N, 3, levels, levels)`` float32 ``255 · log1p(count) / log1p(pairs)`` (see module)."""
    out = np.empty((len(images), 3, levels, levels), dtype=np.float32)
    for i, img in enumerate(images):
        counts = cooccurrence(img, levels)
        n_pairs = max(1, img.shape[0] * (img.shape[1] - 1))
        out[i] = 255.0 * np.log1p(counts) / np.log1p(n_pairs)
    return out


def build_cooccurrence_cnn(levels: int = 256, num_classes: int = 2) -> nn.Module:
    """Nataraj et al. 2019's CNN for ``3 x levels x levels`` co-occurrence tensors."""
    from collections import OrderedDict

    import torch
    from torch import nn

    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = 3
    for i, c_out in enumerate(CHANNELS, start=1):
        layers[f"conv{i}a"] = nn.Conv2d(c_in, c_out, kernel_size=3)
        layers[f"relu{i}a"] = nn.ReLU()
        layers[f"conv{i}b"] = nn.Conv2d(c_out, c_out, kernel_size=5)
        layers[f"relu{i}b"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(kernel_size=3, stride=2)
        c_in = c_out
    features = nn.Sequential(layers)
    with torch.no_grad():
        n_flat = features(torch.zeros(1, 3, levels, levels)).numel()
    return nn.Sequential(
        OrderedDict(
            features=features,
            flatten=nn.Flatten(start_dim=1),
            fc1=nn.Linear(n_flat, HIDDEN),
            relu_fc1=nn.ReLU(),
            fc2=nn.Linear(HIDDEN, HIDDEN),
            relu_fc2=nn.ReLU(),
            fc3=nn.Linear(HIDDEN, num_classes),
        )
    )


class CooccurrenceCNN(TorchDetector):
    """Co-occurrence tensors classified by Nataraj et al. 2019's CNN, trained from scratch.

    Args:
        input_size: quantisation levels per channel, i.e. the side of the co-occurrence
            tensor the network takes (paper: 256; default 64, see the module docstring). It
            is the network's input side, so the harness's timing feeds it the right shape;
            images themselves are never resized (the co-occurrence of the image at its own
            size is counted, normalised by its number of pairs).
        The others: as ``TorchDetector``.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"torch_module"})
    normalisation: ClassVar[str] = "[0,1]"
    fit_version = 1

    def __init__(
        self, input_size: int = DEFAULT_LEVELS, epochs: int = DEFAULT_EPOCHS,
        batch_size: int = 32, lr: float = 1e-4, patience: int | None = 3, device: str = "auto",
        train_aug: str = "none", seed: int = 0, num_threads: int | None = None,
        scheduler: str = "plateau", class_weights: tuple[float, float] | None = None,
        accum_steps: int = 1, max_train_images: int | None = None, memory_cap_gb: float = 8.0,
        num_workers: int = 2, resume: bool = True, condition_grid: str = "light",
    ) -> None:  # fmt: skip
        super().__init__(
            input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr,
            patience=patience, device=device, train_aug=train_aug, seed=seed,
            num_threads=num_threads, scheduler=scheduler, class_weights=class_weights,
            accum_steps=accum_steps, max_train_images=max_train_images,
            memory_cap_gb=memory_cap_gb, num_workers=num_workers, resume=resume,
            condition_grid=condition_grid,
        )  # fmt: skip

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        if self.train_aug != "none":  # pixel augmentations do not apply to co-occurrences
            raise ValueError(f"cooccurrence: train_aug must be 'none', got {self.train_aug!r}")
        if int(self.input_size) < 64 or 256 % int(self.input_size):
            raise ValueError(
                "cooccurrence: input_size (levels) must divide 256 and be >= 64 "
                f"(three conv blocks), got {self.input_size}"
            )
        super()._fit(train, val)

    def _images(self, samples: list[Sample], size: int) -> Any:
        """Co-occurrence tensors (float32, ``255 · log1p(count) / log1p(pairs)``), not pixels."""
        import torch

        return torch.from_numpy(cooccurrence_input([s.load() for s in samples], int(size)))

    def _build_model(self) -> nn.Module:
        return build_cooccurrence_cnn(int(self.input_size))

    def min_image_side(self) -> int:
        return MIN_SIDE


@register_detector(
    family="deep",
    paper="Nataraj et al. 2019, Detecting GAN generated Fake Images using Co-occurrence Matrices",
    input_size=None,
    normalisation="log1p co-occurrence counts / log1p(pairs), [0,1]",
    min_side=MIN_SIDE,
    recipe={"input_size": 256, "epochs": 50, "condition_grid": "full"},
    name="cooccurrence",
)
def cooccurrence_cnn(**kw: object) -> CooccurrenceCNN:
    """Horizontal co-occurrence matrices + small CNN (Nataraj et al. 2019)."""
    return CooccurrenceCNN(**kw)  # type: ignore[arg-type]
