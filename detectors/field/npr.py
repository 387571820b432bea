"""NPR: neighbouring-pixel residuals + a truncated ResNet-50, trained from scratch.

Tan, Liu, Zhao, Wei, Gu, Liu and Wei, "Rethinking the Up-Sampling Operations in CNN-based
Generative Network for Generalizable Deepfake Detection", CVPR 2024. Up-sampling layers leave
correlations between neighbouring pixels; the network sees ``x - up(down(x))`` (nearest, factor
2), scaled by 2/3 as in the official ``networks/resnet.py``, through a ResNet-50 whose first
conv is 3x3 stride 2 (then max-pool 3x3 stride 2), cut after ``layer2`` (512 channels), global
average pooling and ``fc1: Linear(512, 1)``.

State-dict keys match the official code: ``conv1``, ``bn1``, ``layer1.{0..2}``,
``layer2.{0..3}`` (torchvision ``Bottleneck``: ``conv1..3``, ``bn1..3``, ``downsample.0/1``),
``fc1`` — under the prefix ``net.`` of the one-logit wrapper (``detectors.field.heads``).

Recipe (``run --recipe paper``): Adam, lr 2e-4, batch 32, 224 px crops; the epoch count in the
recipe (10) is from memory of the official training script and not re-checked. CPU defaults: 128
px, 2 epochs, 480 training images, the light condition grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import register_detector
from detectors.deep.training import TorchDetector

if TYPE_CHECKING:
    from torch import nn


def build_npr(num_classes: int = 1) -> nn.Module:
    """The official NPR ResNet (1 logit by default), randomly initialised."""
    import torch
    from torch import nn
    from torchvision.models.resnet import Bottleneck

    class NPRResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, 3)
            self.layer2 = self._make_layer(128, 4, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc1 = nn.Linear(512, num_classes)

        def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
            down = None
            if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
                down = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes * 4),
                )
            layers = [Bottleneck(self.inplanes, planes, stride, down)]
            self.inplanes = planes * 4
            layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = nn.functional.interpolate
            low = f(f(x, scale_factor=0.5, mode="nearest"), size=x.shape[-2:], mode="nearest")
            x = self.maxpool(self.relu(self.bn1(self.conv1((x - low) * 2.0 / 3.0))))
            x = self.avgpool(self.layer2(self.layer1(x)))
            return self.fc1(torch.flatten(x, 1))

    return NPRResNet()


class NPR(TorchDetector):
    """NPR (Tan et al. 2024) trained from scratch; parameters as in ``TorchDetector``."""

    normalisation = "imagenet"

    def __init__(
        self, input_size: int = 128, epochs: int = 2, batch_size: int = 32, lr: float = 2e-4,
        patience: int | None = 3, device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None, scheduler: str = "none",
        class_weights: tuple[float, float] | None = None, accum_steps: int = 1,
        max_train_images: int | None = 480, memory_cap_gb: float = 2.0, num_workers: int = 2,
        resume: bool = True, condition_grid: str = "light",
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

        return two_logit(build_npr())


@register_detector(
    family="deep",
    paper="Tan et al. 2024, Rethinking the Up-Sampling Operations ... (NPR), CVPR",
    input_size=128,
    normalisation="imagenet",
    min_side=DEEP_MIN_SIDE,
    recipe={"input_size": 224, "epochs": 10, "lr": 2e-4, "batch_size": 32,
            "max_train_images": None, "condition_grid": "full"},
)
def npr(**kw: object) -> NPR:
    """Neighbouring-pixel residual ResNet trained from scratch (Tan et al. 2024)."""
    return NPR(**kw)  # type: ignore[arg-type]
