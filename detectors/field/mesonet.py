"""Meso-4 (Afchar et al. 2018), trained from scratch.

Afchar, Nozick, Yamagishi and Echizen, "MesoNet: a Compact Facial Video Forgery Detection
Network", WIFS 2018. Four conv blocks (3x3 then three 5x5; 8, 8, 16, 16 channels; ReLU,
BatchNorm, max-pool 2, 2, 2, 4), dropout 0.5, Dense(16) + LeakyReLU(0.1), dropout 0.5 and one
sigmoid output, on 256 px faces: 27,977 trainable parameters, as the paper states (the test
checks it). Layout follows the authors' Keras code (biased convs, one BatchNorm per conv).

MesoInception-4 (``detectors.field.mesoinception``) reuses this file's blocks and head. Not
done: DeepfakeBench's layout (its ``meso4`` shares BatchNorms and has bias-free convs and a 2-way
head), so its ``meso4_best.pth`` does not load into this net.
Keys here: ``conv1..4``, ``bn1..4``, ``fc1``, ``fc2`` (under ``net.`` of the one-logit wrapper).
CPU defaults: 128 px (fc1 sees 16·4·4), 3 epochs; recipe: 256 px, Adam lr 1e-3, batch 75.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import register_detector
from detectors.deep.training import TorchDetector

if TYPE_CHECKING:
    from torch import nn


def check_side(name: str, input_size: int) -> None:
    """Raise unless ``input_size`` is a multiple of 32 (the MesoNets pool by 2·2·2·4 = 32)."""
    if input_size < 32 or input_size % 32:
        raise ValueError(f"{name}: input_size must be a multiple of 32, got {input_size}")


def add_conv_block(layers: dict[str, nn.Module], i: int, c_in: int, c_out: int, k: int,
                   pool: int) -> None:  # fmt: skip
    """Append ``conv{i}`` (k x k, same padding, biased), ``relu{i}``, ``bn{i}``, ``pool{i}``."""
    from torch import nn

    layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    layers[f"relu{i}"] = nn.ReLU()
    layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
    layers[f"pool{i}"] = nn.MaxPool2d(pool)


def add_head(layers: dict[str, nn.Module], input_size: int, num_classes: int) -> None:
    """Append the MesoNet head on 16 maps of ``input_size / 32``: dropout 0.5, Dense(16) +
    LeakyReLU(0.1), dropout 0.5, Dense(``num_classes``)."""
    from torch import nn

    side = input_size // 32
    layers["flatten"] = nn.Flatten(1)
    layers["dropout1"] = nn.Dropout(0.5)
    layers["fc1"] = nn.Linear(16 * side * side, 16)
    layers["leakyrelu"] = nn.LeakyReLU(0.1)
    layers["dropout2"] = nn.Dropout(0.5)
    layers["fc2"] = nn.Linear(16, num_classes)


def build_meso4(input_size: int = 256, num_classes: int = 1) -> nn.Module:
    """Meso-4 for square ``input_size`` inputs (a multiple of 32)."""
    from collections import OrderedDict

    from torch import nn

    check_side("meso4", input_size)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    spec = ((3, 8, 3, 2), (8, 8, 5, 2), (8, 16, 5, 2), (16, 16, 5, 4))
    for i, (c_in, c_out, k, pool) in enumerate(spec, start=1):
        add_conv_block(layers, i, c_in, c_out, k, pool)
    add_head(layers, input_size, num_classes)
    return nn.Sequential(layers)


class Meso4(TorchDetector):
    """Meso-4 trained from scratch; parameters as in ``TorchDetector``."""

    normalisation = "[0,1]"

    def __init__(
        self, input_size: int = 128, epochs: int = 3, batch_size: int = 32, lr: float = 1e-3,
        patience: int | None = 3, device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None, scheduler: str = "none",
        class_weights: tuple[float, float] | None = None, accum_steps: int = 1,
        max_train_images: int | None = None, memory_cap_gb: float = 2.0, num_workers: int = 2,
        resume: bool = True, condition_grid: str = "full",
    ) -> None:  # fmt: skip
        super().__init__(
            input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
            device=device, train_aug=train_aug, seed=seed, num_threads=num_threads,
            scheduler=scheduler, class_weights=class_weights, accum_steps=accum_steps,
            max_train_images=max_train_images, memory_cap_gb=memory_cap_gb,
            num_workers=num_workers, resume=resume, condition_grid=condition_grid,
        )  # fmt: skip

    def _build_model(self) -> nn.Module:
        from detectors.field.heads import two_logit

        return two_logit(build_meso4(int(self.input_size)))


#: Registration shared by Meso-4 and MesoInception-4: one paper, one input, one recipe.
MESONET_META = {
    "family": "deep",
    "paper": "Afchar et al. 2018, MesoNet: a Compact Facial Video Forgery Detection Network, WIFS",
    "input_size": 128,
    "normalisation": "[0,1]",
    "min_side": DEEP_MIN_SIDE,
    "recipe": {"input_size": 256, "lr": 1e-3, "batch_size": 75, "epochs": 15},
}


@register_detector(**MESONET_META)
def meso4(**kw: object) -> Meso4:
    """Meso-4 trained from scratch (Afchar et al. 2018)."""
    return Meso4(**kw)  # type: ignore[arg-type]
