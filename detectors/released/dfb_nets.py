"""DeepfakeBench's networks with its exact parameter names, so its released checkpoints load
strictly.

Yan, Zhang, Yuan, Lyu and Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection",
NeurIPS 2023 Datasets and Benchmarks (release v1.0.1, ``<name>_best.pth``). A DeepfakeBench
detector holds its network as ``backbone``, so a checkpoint's keys read ``backbone.<key>``
(``module.backbone.<key>`` when saved from ``DataParallel``); the specs strip both prefixes
where present and the modules here carry the ``<key>``s. Every head has two logits (fake =
softmax index 1); inputs are 256 px faces normalised with mean = std = 0.5.

* ``meso4`` (Afchar et al. 2018): bias-free ``conv1..4`` (3x3, then 5x5; 8, 8, 16, 16
  channels), each followed by ReLU then a BatchNorm that DeepfakeBench *shares*: ``bn1`` (8
  channels) after conv1 and conv2, ``bn2`` (16) after conv3 and conv4; max-pool 2, 2, 2, 4;
  dropout 0.5, ``fc1`` (16·8·8 → 16 at 256 px), LeakyReLU(0.1), dropout 0.5, ``fc2`` (16 → 2).
* ``meso4Inception`` (same paper): two inception layers, ``Incption{n}_conv1``,
  ``_conv2_1/_conv2_2``, ``_conv3_1/_conv3_2``, ``_conv4_1/_conv4_2`` (1x1, then 3x3 with
  dilation 1, 2, 3; branch widths 1/4/4/2 then 2/4/4/2) concatenated into ``Incption{n}_bn``
  (11, 12 channels) and max-pooled, no activation; then ``conv1`` and ``conv2`` (5x5, 16
  channels) both followed by ReLU and the one shared ``bn1``, max-pool 2 and 4, the Meso head.
* ``efficientnetb4`` (Tan & Le 2019): ``efficientnet`` is the ``efficientnet_pytorch``
  EfficientNet-B4 (``_conv_stem``, ``_bn0``, ``_blocks.N...``, ``_conv_head``, ``_bn1``;
  TF-"same" padding computed for its 380 px default) whose ``_fc`` DeepfakeBench replaces by
  an identity and whose stem by a *plain* 3x3 stride-2 conv (no padding); ``last_layer`` (1792
  → 2) after global average pooling.
* ``resnet34`` (the CNN-Aug row: Wang et al. 2020's detector on ResNet-34): ``resnet`` is
  torchvision ResNet-34's children up to ``layer4`` as a ``Sequential`` (``resnet.0`` = conv1,
  ``resnet.1`` = bn1, ``resnet.4..7`` = layer1..4), then average pooling and ``fc`` (512 → 2).
* ``xception`` (Chollet 2017): timm's ``legacy_xception`` has DeepfakeBench's (Cadene's) key
  names but for the head, ``fc`` where DeepfakeBench says ``last_linear`` (a spec rename).

Dropout here is ``nn.functional.dropout`` where DeepfakeBench applies ``Dropout2d`` to flat
features (the same thing on ``(N, C)``; identical in evaluation). Builders take the input side
(the Meso heads' ``fc1`` follows it: 16·(side/32)²) and ``allow_random_init`` (unused: these
networks hold every weight in their checkpoint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

#: Meso-Inception layers: input channels and the widths of the four branches.
INCEPTION = {1: (3, (1, 4, 4, 2)), 2: (11, (2, 4, 4, 2))}


def _meso_side(input_size: int) -> int:
    if input_size < 32 or input_size % 32:
        raise ValueError(f"Meso networks need a multiple of 32 px, got {input_size}")
    return input_size // 32


def _meso_head(net: Any, x: Any) -> Any:
    """Flatten, dropout, ``fc1``, LeakyReLU(0.1), dropout, ``fc2`` (DeepfakeBench's order)."""
    from torch.nn import functional as F

    x = F.dropout(x.flatten(1), 0.5, net.training)
    x = F.dropout(F.leaky_relu(net.fc1(x), 0.1), 0.5, net.training)
    return net.fc2(x)


def meso4(input_size: int = 256, allow_random_init: bool = False) -> nn.Module:
    """DeepfakeBench's Meso-4 (shared BatchNorms, bias-free convs, two logits)."""
    from torch import nn
    from torch.nn import functional as F

    side = _meso_side(int(input_size))

    class Meso4(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.conv2 = nn.Conv2d(8, 8, 5, padding=2, bias=False)
            self.conv3 = nn.Conv2d(8, 16, 5, padding=2, bias=False)
            self.conv4 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
            self.bn1, self.bn2 = nn.BatchNorm2d(8), nn.BatchNorm2d(16)
            self.fc1, self.fc2 = nn.Linear(16 * side * side, 16), nn.Linear(16, 2)

        def forward(self, x: Any) -> Any:
            stages = ((self.conv1, self.bn1, 2), (self.conv2, self.bn1, 2),
                      (self.conv3, self.bn2, 2), (self.conv4, self.bn2, 4))  # fmt: skip
            for conv, bn, pool in stages:
                x = F.max_pool2d(bn(F.relu(conv(x))), pool)
            return _meso_head(self, x)

    return Meso4()


def meso4_inception(input_size: int = 256, allow_random_init: bool = False) -> nn.Module:
    """DeepfakeBench's MesoInception-4 (its ``Incption*`` names, one shared ``bn1``)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    side = _meso_side(int(input_size))

    def conv(c_in: int, c_out: int, k: int, dilation: int = 1) -> nn.Conv2d:
        return nn.Conv2d(c_in, c_out, k, padding=dilation * (k // 2), dilation=dilation,
                         bias=False)  # fmt: skip

    class MesoInception4(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for n, (c_in, (a, b, c, d)) in INCEPTION.items():
                parts = {
                    "conv1": conv(c_in, a, 1),
                    "conv2_1": conv(c_in, b, 1),
                    "conv2_2": conv(b, b, 3),
                    "conv3_1": conv(c_in, c, 1),
                    "conv3_2": conv(c, c, 3, 2),
                    "conv4_1": conv(c_in, d, 1),
                    "conv4_2": conv(d, d, 3, 3),
                    "bn": nn.BatchNorm2d(a + b + c + d),
                }
                for part, module in parts.items():
                    self.add_module(f"Incption{n}_{part}", module)
            self.conv1, self.conv2 = conv(12, 16, 5), conv(16, 16, 5)
            self.bn1 = nn.BatchNorm2d(16)
            self.fc1, self.fc2 = nn.Linear(16 * side * side, 16), nn.Linear(16, 2)

        def _inception(self, n: int, x: Any) -> Any:
            def part(name: str) -> Any:
                return getattr(self, f"Incption{n}_{name}")

            y = torch.cat([part("conv1")(x)] + [part(f"conv{b}_2")(part(f"conv{b}_1")(x))
                                                for b in (2, 3, 4)], dim=1)  # fmt: skip
            return F.max_pool2d(part("bn")(y), 2)

        def forward(self, x: Any) -> Any:
            x = self._inception(2, self._inception(1, x))
            x = F.max_pool2d(self.bn1(F.relu(self.conv1(x))), 2)
            x = F.max_pool2d(self.bn1(F.relu(self.conv2(x))), 4)
            return _meso_head(self, x)

    return MesoInception4()


def efficientnet_b4(input_size: int = 256, allow_random_init: bool = False) -> nn.Module:
    """DeepfakeBench's EfficientNet-B4 (``efficientnet_pytorch`` layout, plain-conv stem)."""
    import torch
    from torch import nn

    try:
        from efficientnet_pytorch import EfficientNet
    except ImportError as exc:  # the package DeepfakeBench builds B4 with
        raise ImportError(
            "DeepfakeBench's EfficientNet-B4 needs the efficientnet_pytorch package "
            "(pip install efficientnet_pytorch==0.7.1)"
        ) from exc

    class EfficientNetB4(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.efficientnet = EfficientNet.from_name("efficientnet-b4")
            self.efficientnet._conv_stem = nn.Conv2d(3, 48, 3, stride=2, bias=False)
            self.efficientnet._fc = nn.Identity()
            self.last_layer = nn.Linear(1792, 2)

        def forward(self, x: Any) -> Any:
            x = self.efficientnet.extract_features(x)
            return self.last_layer(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return EfficientNetB4()


def resnet34(input_size: int = 256, allow_random_init: bool = False) -> nn.Module:
    """DeepfakeBench's ResNet-34 (CNN-Aug): torchvision's layers as ``resnet.<i>``, ``fc``."""
    import torch
    from torch import nn
    from torchvision.models import resnet34 as tv_resnet34

    class ResNet34(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.resnet = nn.Sequential(*list(tv_resnet34(weights=None).children())[:-2])
            self.fc = nn.Linear(512, 2)

        def forward(self, x: Any) -> Any:
            x = nn.functional.adaptive_avg_pool2d(self.resnet(x), 1)
            return self.fc(torch.flatten(x, 1))

    return ResNet34()


def xception(input_size: int = 256, allow_random_init: bool = False) -> nn.Module:
    """DeepfakeBench's Xception as timm's ``legacy_xception`` with two logits."""
    import timm

    return timm.create_model("legacy_xception", pretrained=False, num_classes=2)
