"""MesoInception-4 (Afchar et al. 2018), trained from scratch.

Afchar, Nozick, Yamagishi and Echizen, "MesoNet: a Compact Facial Video Forgery Detection
Network", WIFS 2018. Meso-4 (``detectors.field.mesonet``) with its first two convolutions
replaced by Inception modules of four parallel branches, concatenated along the channels: a
1x1 convolution; 1x1 then 3x3; 1x1 then 3x3 with dilation 2; 1x1 then 3x3 with dilation 3
(every convolution biased, "same" padding, ReLU). The authors' Keras code gives the branches
(1, 4, 4, 2) channels in the first module (11 out) and (2, 4, 4, 2) in the second (12 out); each
module is followed by BatchNorm and max-pool 2. Then Meso-4's last two blocks (5x5 convolutions
with 16 channels, ReLU, BatchNorm, max-pool 2 then 4) and its head (dropout 0.5, Dense(16) +
LeakyReLU(0.1), dropout 0.5, one sigmoid output). On 256 px faces that is 28,615 trainable
parameters, as the paper states (the test checks it).

Keys: ``inception1``/``inception2`` (branches ``a``, ``b``, ``c``, ``d``, each an
``nn.Sequential`` of conv, ReLU[, conv, ReLU]), ``bn1``, ``bn2``, ``conv3``, ``conv4``, ``bn3``,
``bn4``, ``fc1``, ``fc2`` (under ``net.`` of the one-logit wrapper). The authors trained with a
mean-squared error on the sigmoid; the shared loop uses cross-entropy (the same optimum, better
gradients). CPU defaults: 128 px, 3 epochs; recipe: 256 px, Adam lr 1e-3, batch 75.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.registry import register_detector
from detectors.field.mesonet import MESONET_META, Meso4, add_conv_block, add_head, check_side

if TYPE_CHECKING:
    from torch import nn

#: Channels of the branches (a, b, c, d) of the two Inception modules (the authors' Keras code).
INCEPTION_CHANNELS = ((1, 4, 4, 2), (2, 4, 4, 2))


def inception_layer(c_in: int, a: int, b: int, c: int, d: int) -> nn.Module:
    """The MesoInception module: four branches (1x1; 1x1→3x3; 1x1→3x3 dilation 2; 1x1→3x3
    dilation 3), each ending in ReLU, concatenated to ``a + b + c + d`` channels."""
    import torch
    from torch import nn

    def branch(width: int, dilation: int | None) -> nn.Sequential:
        layers: list[nn.Module] = [nn.Conv2d(c_in, width, 1), nn.ReLU()]
        if dilation is not None:
            layers += [nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation), nn.ReLU()]
        return nn.Sequential(*layers)

    class InceptionLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = branch(a, None), branch(b, 1)
            self.c, self.d = branch(c, 2), branch(d, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.a(x), self.b(x), self.c(x), self.d(x)], dim=1)

    return InceptionLayer()


def build_mesoinception4(input_size: int = 256, num_classes: int = 1) -> nn.Module:
    """MesoInception-4 for square ``input_size`` inputs (a multiple of 32)."""
    from collections import OrderedDict

    from torch import nn

    check_side("mesoinception4", input_size)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = 3
    for i, widths in enumerate(INCEPTION_CHANNELS, start=1):
        layers[f"inception{i}"] = inception_layer(c_in, *widths)
        c_in = sum(widths)
        layers[f"bn{i}"] = nn.BatchNorm2d(c_in)
        layers[f"pool{i}"] = nn.MaxPool2d(2)
    add_conv_block(layers, 3, c_in, 16, 5, 2)
    add_conv_block(layers, 4, 16, 16, 5, 4)
    add_head(layers, input_size, num_classes)
    return nn.Sequential(layers)


class MesoInception4(Meso4):
    """MesoInception-4 trained from scratch; Meso-4's parameters and CPU defaults."""

    def _build_model(self) -> nn.Module:
        from detectors.field.heads import two_logit

        return two_logit(build_mesoinception4(int(self.input_size)))


@register_detector(**MESONET_META)
def mesoinception4(**kw: object) -> MesoInception4:
    """MesoInception-4 trained from scratch (Afchar et al. 2018)."""
    return MesoInception4(**kw)  # type: ignore[arg-type]
