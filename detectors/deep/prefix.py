"""A backbone cut in two: a frozen prefix whose output is cached, and a tail that trains.

With ``freeze="last_n"`` only the last ``n`` blocks, the layers after them and the head train,
so everything before them computes the same activations for an image in every epoch and at
every prediction. For the EfficientNet-Lite backbones (timm's ``EfficientNet``: ``conv_stem →
bn1 → blocks → conv_head → bn2 → global_pool → dropout → classifier``) that prefix is where
almost all the compute is (the high-resolution early stages: about 90% of a Lite forward pass
at 224 px), so ``finetune.BackboneDetector`` computes the prefix once per image and condition,
caches its output (``benchmark.toolkit.features``) and trains or runs only the tail on it.
``freeze="head"`` reuses the same cached prefix and the pretrained tail to get its pooled
features, so a backbone's frozen and last-``n`` variants share one pass over the images.

Written here, not taken from a library: timm's ``forward_intermediates`` returns the feature
maps but has no "resume from block k", and the tail must reuse the model's own modules (so
the trained weights end up in the model that is saved, timed and explained).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

#: Architectures (``BackboneSpec.builder``) whose forward pass this module can cut.
SPLITTABLE = ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2")


def can_split(builder: str) -> bool:
    """Whether a model built by ``builder`` can be cut into a cached prefix and a tail."""
    return builder in SPLITTABLE


def split(model: nn.Module, n_tail: int) -> tuple[nn.Module, nn.Module]:
    """``(prefix, tail)`` of a timm EfficientNet: ``tail(prefix(x)) == model(x)``.

    ``prefix`` is the stem and every stage but the last ``n_tail``; ``tail`` the last
    ``n_tail`` stages, ``conv_head``, ``bn2``, pooling, dropout and the classifier. Both hold
    the model's own modules (no copies).
    """
    from torch import nn

    stages = list(model.blocks.children())  # type: ignore[union-attr]
    if not 1 <= n_tail <= len(stages):
        raise ValueError(f"n_tail must be in 1..{len(stages)}, got {n_tail}")
    prefix = nn.Sequential(model.conv_stem, model.bn1, *stages[: len(stages) - n_tail])
    return prefix, _tail(model, stages[len(stages) - n_tail :])


def _tail(model: Any, stages: list[Any]) -> nn.Module:
    """The last ``stages`` of a timm EfficientNet and its head, run as ``forward_head`` runs
    them (the class is defined here: ``detectors/`` must import without torch)."""
    from torch import nn
    from torch.nn import functional as F

    class Tail(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stages = nn.Sequential(*stages)
            self.conv_head, self.bn2 = model.conv_head, model.bn2
            self.global_pool, self.classifier = model.global_pool, model.classifier
            self.drop_rate = float(model.drop_rate)

        def pooled(self, h: Any) -> Any:
            """The pooled features (the classifier's input) of prefix output ``h``."""
            return self.global_pool(self.bn2(self.conv_head(self.stages(h))))

        def forward(self, h: Any) -> Any:
            x = self.pooled(h)
            if self.drop_rate > 0:
                x = F.dropout(x, p=self.drop_rate, training=self.training)
            return self.classifier(x)

    return Tail()
