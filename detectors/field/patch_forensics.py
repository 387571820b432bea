"""Patch forensics (Chai et al. 2020): a truncated classifier that scores every patch.

Chai, Bau, Lim and Isola, "What makes fake images detectable? Understanding properties that
generalize", ECCV 2020. A randomly initialised classifier is cut after an early block so that
each output position sees only a small receptive field (a patch); a 1x1 convolution
(``convout``) gives two logits per position. In training every patch carries its image's label
and the loss is the cross-entropy averaged over all patches; an image's score is the mean of its
patches' softmax ("after softmax" averaging in the authors' ``test.py``). Backbones, all the
authors' truncations: ``xception_block2`` (their main model: Xception's entry, a 3x3 stride-2
conv and a 3x3 conv with BatchNorm + ReLU, then blocks 1-2 as timm's ``legacy_xception``
blocks, the Cadene layout the authors used; 256 channels, a 37x37 map at 299 px),
``xception_block1``, ``xception_block3`` and ``resnet18_layer1`` (ResNet-18's stem and layer1,
torchvision's ``BasicBlock``; 64 channels, a 16x16 map at 128 px, about a third of
``xception_block2``'s CPU cost). ``init="xavier"`` is the authors' initialisation
(Xavier-normal with gain 0.02 for conv weights, zero biases, BatchNorm weights from
N(1, 0.02)); ``"torch"`` keeps PyTorch's defaults. With gain 0.02 the activations before each
BatchNorm have a variance near 1e-5 while its running variance starts at 1 and decays by 0.9 a
step: after a short fit the eval-mode activations are tens of times too small at every
BatchNorm and every image scores 0.5 (seen on the default data: validation loss ln 2).

In training mode the network returns the patch map ``(N, 2, H, W)``, which the shared loop trains
with the image label at every position (``detectors.deep.minibatch.train_step``); in eval mode
it returns ``log(mean over patches of softmax)``, ``(N, 2)``, whose softmax is the mean patch
probability: validation, prediction, timing and Grad-CAM see an ordinary two-logit classifier.
``patch_logits(x)`` gives the map. Keys: ``net.`` + the authors' names (``conv1`` ...
``block2``, ``convout``; their released checkpoints call fake class 0, ours is class 1).

Recipe (``run --recipe paper``), from the authors' options and training scripts:
``xception_block2``, their init, Adam lr 1e-3 (beta1 0.9), batch 32, 299 px, ``[-1,1]``
inputs, a constant learning rate, up to 1000 epochs with patience 20. Different here: the shared
loop's patience counts epochs without a lower validation *loss* (of the averaged image
prediction), theirs without a higher validation patch accuracy; their data (aligned faces, real
images passed through the generator's preprocessing) is not ours; no paper number was
reproduced. CPU defaults: ``resnet18_layer1``, PyTorch's init, 128 px, 2 epochs, 480 training
images, the light condition grid.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import register_detector
from detectors.deep.training import TorchDetector

if TYPE_CHECKING:
    from torch import nn

BACKBONES = ("xception_block1", "xception_block2", "xception_block3", "resnet18_layer1")
XCEPTION_CHANNELS = (64, 128, 256, 728)  # after conv2, block1, block2, block3
INITS = ("xavier", "torch")


def build_patch_trunk(
    backbone: str = "xception_block2", num_classes: int = 2, init: str = "xavier"
) -> nn.Module:
    """The truncated network with its 1x1 ``convout``: images → ``(N, num_classes, H, W)``.

    ``init``: ``"xavier"`` (the authors' ``init_weights``) or ``"torch"`` (PyTorch's defaults).
    """
    from collections import OrderedDict

    from torch import nn

    if backbone not in BACKBONES:
        raise ValueError(f"patch_forensics: backbone must be one of {BACKBONES}, got {backbone!r}")
    if init not in INITS:
        raise ValueError(f"patch_forensics: init must be one of {INITS}, got {init!r}")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if backbone.startswith("xception"):
        from timm.models.xception import Block

        layers["conv1"] = nn.Conv2d(3, 32, 3, stride=2, bias=False)
        layers["bn1"], layers["relu1"] = nn.BatchNorm2d(32), nn.ReLU(inplace=True)
        layers["conv2"] = nn.Conv2d(32, 64, 3, bias=False)
        layers["bn2"], layers["relu2"] = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        depth = int(backbone.removeprefix("xception_block"))
        for i in range(1, depth + 1):
            c_in, c_out = XCEPTION_CHANNELS[i - 1], XCEPTION_CHANNELS[i]
            layers[f"block{i}"] = Block(c_in, c_out, 2, 2, start_with_relu=i > 1, grow_first=True)
        channels = XCEPTION_CHANNELS[depth]
    else:
        from torchvision.models.resnet import BasicBlock

        layers["conv1"] = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        layers["bn1"], layers["relu"] = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        layers["maxpool"] = nn.MaxPool2d(3, stride=2, padding=1)
        layers["layer1"] = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        channels = 64
    layers["convout"] = nn.Conv2d(channels, num_classes, 1)
    trunk = nn.Sequential(layers)
    if init == "xavier":
        init_weights(trunk)
    return trunk


def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """The authors' ``xavier`` initialisation (``netutils.init_weights``), in place."""
    from torch import nn

    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def patch_classifier(trunk: nn.Module) -> nn.Module:
    """Wrap a patch trunk: the patch map in training mode, ``(N, 2)`` image logits in eval."""
    import torch
    from torch import nn

    class PatchClassifier(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.net = inner

        def patch_logits(self, x: torch.Tensor) -> torch.Tensor:
            """Two logits per patch, ``(N, 2, H, W)``."""
            return self.net(x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.net(x)
            if self.training:
                return z
            # log of the mean patch softmax: its softmax is the mean patch probability
            logp = torch.log_softmax(z.float(), dim=1).flatten(2)
            return torch.logsumexp(logp, dim=2) - math.log(logp.shape[2])

    return PatchClassifier(trunk)


class PatchForensics(TorchDetector):
    """Patch-level classifier trained from scratch; ``backbone`` is one of ``BACKBONES``,
    ``init`` one of ``INITS``, the other parameters are as in ``TorchDetector``."""

    normalisation = "[-1,1]"

    def __init__(
        self, backbone: str = "resnet18_layer1", init: str = "torch", input_size: int = 128,
        epochs: int = 2, batch_size: int = 32, lr: float = 1e-3, patience: int | None = 3,
        device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None, scheduler: str = "none",
        class_weights: tuple[float, float] | None = None, accum_steps: int = 1,
        max_train_images: int | None = 480, memory_cap_gb: float = 2.0, num_workers: int = 2,
        resume: bool = True, condition_grid: str = "light",
    ) -> None:  # fmt: skip
        self.backbone = backbone
        self.init = init
        super().__init__(
            input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
            device=device, train_aug=train_aug, seed=seed, num_threads=num_threads,
            scheduler=scheduler, class_weights=class_weights, accum_steps=accum_steps,
            max_train_images=max_train_images, memory_cap_gb=memory_cap_gb,
            num_workers=num_workers, resume=resume, condition_grid=condition_grid,
        )  # fmt: skip

    def _build_model(self) -> nn.Module:
        return patch_classifier(build_patch_trunk(str(self.backbone), init=str(self.init)))


@register_detector(
    family="deep",
    paper="Chai et al. 2020, What makes fake images detectable? Understanding properties that "
    "generalize, ECCV",
    input_size=128,
    normalisation="[-1,1]",
    min_side=DEEP_MIN_SIDE,
    recipe={
        "backbone": "xception_block2",
        "init": "xavier",
        "input_size": 299,
        "lr": 1e-3,
        "batch_size": 32,
        "epochs": 1000,
        "patience": 20,
        "max_train_images": None,
        "condition_grid": "full",
    },
)
def patch_forensics(**kw: object) -> PatchForensics:
    """Truncated CNN scoring every patch, trained from scratch (Chai et al. 2020)."""
    return PatchForensics(**kw)  # type: ignore[arg-type]
