"""Congiu et al. 2025's custom CNN trained from scratch (§5, their Table 1), as a detector.

Architecture, exactly as Congiu et al. 2025 §5.2 and its forward function (§5.2.5)::

    [Conv2d 3x3 pad 1 → BatchNorm2d → ReLU → MaxPool2d 2x2]  x3, channels 32, 64, 128
    → Flatten → Linear(128·(S/8)², 512) → ReLU → Dropout(0.5) → Linear(512, 2)

Table 1 is laid out one column off in the report (its third row reads "Conv2d(in=128,
out=256)"), but its output shapes ``(128, 28, 28)``, its flatten size 100 352 = 128·28·28 and
the code of §5.2.1–5.2.4 agree on 32/64/128 channels, which is what is built here. Layer names
follow the report (``conv1``, ``bn1``, ``pool1``, ..., ``fc1``, ``fc2``) so its state_dict keys
match. At the report's 224 px input the net has 51 475 458 parameters, 99.8% of them in fc1.

Training follows §4.4 (Adam, learning rate 1e-4, cross-entropy, batch 32) through the shared
loop (``detectors.deep.loop``, through ``TorchDetector``: early stopping on validation loss,
best epoch restored).
Pixels are scaled to [0, 1] with no mean/std normalisation (the report gives none; BatchNorm
after the first convolution absorbs it).

Deviations, chosen to fit ``run --all`` in about 15 minutes on a 2-core CPU: the default input
is 128 px (the default dataset's native size, which also keeps the up-sampling traces a resize
would blur) instead of 224, so fc1 has 128·16·16 = 32 768 inputs (16.9 M parameters in all),
and training stops after at most 10 epochs (patience 3) instead of 15. Both are parameters:
``--set scratch_cnn.input_size=224 --set scratch_cnn.epochs=15`` restores the report's setting
(``run --recipe paper`` applies the registered recipe: those two and no plateau scheduler).
On the default dataset (720 train / 240 val images of 128 px) an epoch takes about 21 s on two
idle CPU cores (about 3.5 min for 10 epochs; 224 px would cost about 3× more) and predicting 240
images about 2.5 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import register_detector
from detectors.deep.training import TorchDetector

if TYPE_CHECKING:
    from torch import nn

CHANNELS = (32, 64, 128)
HIDDEN = 512
DROPOUT = 0.5
DEFAULT_INPUT_SIZE = 128
DEFAULT_EPOCHS = 10


def build_scratch_cnn(input_size: int = 224, num_classes: int = 2) -> nn.Module:
    """Congiu et al. 2025's custom CNN for square ``input_size`` inputs (fc1's width follows)."""
    from collections import OrderedDict

    from torch import nn

    if input_size < 8:
        raise ValueError(
            f"scratch_cnn: input_size must be >= 8 (three 2x2 poolings), got {input_size}"
        )
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in, side = 3, int(input_size)
    for i, c_out in enumerate(CHANNELS, start=1):
        layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
        layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
        layers[f"relu{i}"] = nn.ReLU()
        layers[f"pool{i}"] = nn.MaxPool2d(kernel_size=2, stride=2)
        c_in, side = c_out, side // 2
    layers["flatten"] = nn.Flatten(start_dim=1)
    layers["fc1"] = nn.Linear(c_in * side * side, HIDDEN)
    layers["relu_fc1"] = nn.ReLU()
    layers["dropout"] = nn.Dropout(DROPOUT)
    layers["fc2"] = nn.Linear(HIDDEN, num_classes)
    return nn.Sequential(layers)


class ScratchCNN(TorchDetector):
    """Congiu et al. 2025's custom CNN, trained from random initialisation on the train split.

    Args:
        input_size: square input side (paper: 224; default 128, see the module docstring).
        epochs: maximum epochs (paper: 15); early stopping usually ends sooner.
        batch_size: mini-batch size (paper: 32).
        lr: Adam learning rate (paper: 1e-4).
        patience: epochs without a lower validation loss before stopping.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        train_aug: ``"none"`` or ``"cnndetection"`` (blur + JPEG, Wang et al. 2020).
        seed: seeds initialisation, shuffling, flips and dropout.
        num_threads: torch CPU threads during fit/predict (``None``: leave torch's setting).
        scheduler, class_weights, accum_steps, max_train_images, memory_cap_gb, num_workers,
            resume, condition_grid: the shared loop's options, as in ``TorchDetector``.
    """

    normalisation = "[0,1]"
    search_space: ClassVar[dict[str, tuple]] = {"lr": (3e-5, 1e-4, 3e-4)}  # run --tune N

    def __init__(
        self,
        input_size: int = DEFAULT_INPUT_SIZE,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = 32,
        lr: float = 1e-4,
        patience: int | None = 3,
        device: str = "auto",
        train_aug: str = "none",
        seed: int = 0,
        num_threads: int | None = None,
        scheduler: str = "plateau",
        class_weights: tuple[float, float] | None = None,
        accum_steps: int = 1,
        max_train_images: int | None = None,
        memory_cap_gb: float = 2.0,
        num_workers: int = 2,
        resume: bool = True,
        condition_grid: str = "full",
    ) -> None:
        super().__init__(
            input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
            device=device, train_aug=train_aug, seed=seed, num_threads=num_threads,
            scheduler=scheduler, class_weights=class_weights, accum_steps=accum_steps,
            max_train_images=max_train_images, memory_cap_gb=memory_cap_gb,
            num_workers=num_workers, resume=resume, condition_grid=condition_grid,
        )  # fmt: skip

    def _build_model(self) -> nn.Module:
        return build_scratch_cnn(int(self.input_size))


@register_detector(
    family="deep",
    paper="Congiu et al. 2025, Deep Learning and Applications, Module I §5 (custom CNN, Table 1)",
    input_size=DEFAULT_INPUT_SIZE,
    normalisation="[0,1]",
    min_side=DEEP_MIN_SIDE,  # resizes to its input; below 16 px it would learn interpolation
    recipe={"input_size": 224, "epochs": 15, "scheduler": "none"},
)
def scratch_cnn(**kw: object) -> ScratchCNN:
    """Custom 3-block CNN trained from scratch (Congiu et al. 2025 §5, Table 1)."""
    return ScratchCNN(**kw)  # type: ignore[arg-type]
