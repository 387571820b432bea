"""LightXception and MidwayXception (Govi, Poppi, Marinelli, "Deep Learning for DeepFake
Creation and Detection"), built by editing timm's ``legacy_xception`` (Chollet 2017).

* **LightXception**: "four of the eight blocks of the Middle flow have been removed". The
  middle flow is ``block4`` … ``block11`` (728 channels in and out, identity shortcut); the last
  four (``block8`` … ``block11``) become ``nn.Identity``, so the pretrained weights of every
  remaining layer still apply.
* **MidwayXception**: every separable convolution's depthwise step uses ``groups =
  in_channels / 2`` instead of ``in_channels`` (midway between Xception's depthwise separable
  module and the simplified Inception module: two input channels per spatial filter, more
  parameters), and the middle-flow blocks add a 1x1 convolution (+ BatchNorm) in parallel
  instead of the identity shortcut. These new layers start from random initialisation (their
  shapes have no ImageNet counterpart); every other layer keeps its pretrained weights.

Both functions edit the model in place, after its weights were loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

MIDDLE_FLOW = tuple(f"block{i}" for i in range(4, 12))
REMOVED_BY_LIGHT = MIDDLE_FLOW[4:]


def make_light_xception(model: nn.Module) -> nn.Module:
    """Replace the last four of the eight middle-flow blocks with identities."""
    from torch import nn

    for name in REMOVED_BY_LIGHT:
        setattr(model, name, nn.Identity())
    return model


def make_midway_xception(model: nn.Module) -> nn.Module:
    """Depthwise convolutions with groups = in_channels / 2; 1x1 shortcuts in the middle flow."""
    from torch import nn

    for module in list(model.modules()):
        conv = getattr(module, "conv1", None)
        if type(module).__name__ == "SeparableConv2d" and isinstance(conv, nn.Conv2d):
            c = conv.in_channels
            module.conv1 = nn.Conv2d(
                c, c, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                groups=max(1, c // 2), bias=False,
            )  # fmt: skip
    for name in MIDDLE_FLOW:
        block = getattr(model, name)
        if block.skip is None:
            c = block.rep[-1].num_features
            block.skip = nn.Conv2d(c, c, 1, bias=False)
            block.skipbn = nn.BatchNorm2d(c)
    return model
