"""Image retrieval on ResNet-18 embeddings (He et al. 2016; Govi, Poppi, Marinelli §4).

The deep feature of Govi, Poppi, Marinelli's image retrieval ("Deep Learning for DeepFake
Creation and Detection", §4): the 512-d global-average-pooled penultimate activation of the
torchvision ResNet-18 ImageNet model (He et al. 2016; ImageNet normalisation), with weights
resolved by ``benchmark.toolkit.weights`` (offline: an explicit file, the torch hub cache, or
random init). The k-nearest-neighbour vote, ``retrieve`` and ``retrieval_metrics`` are the
shared ones of ``detectors.classical.retrieval.RetrievalDetector``; both similarities, cosine
and Euclidean, are registered.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from benchmark.core.samples import Sample
from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import pin_params, register_detector
from benchmark.toolkit.features import cached_features
from detectors.classical.retrieval import RetrievalDetector

_RESNET = "He et al. 2016 ResNet-18 (ImageNet); Govi, Poppi, Marinelli §4 (image retrieval)"


class ResNetRetrieval(RetrievalDetector):
    """ResNet-18 global-pooled 512-d embedding + k-NN vote over the training pool.

    ``input_size`` (default 224, torchvision's ImageNet size) is the side images are resized to.
    Weights: ``weights_path``, else the torch hub cache, else an error — or random init with
    ``allow_random_init=True`` (``pretrained_`` records which).
    """

    mean_std = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # the weights' normalisation
    embed_name = "resnet18_embed"  # feature-cache entry name

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"retrieval", "torch_module", "pretrained_weights"}
    )
    #: Tried by ``run --tune N`` on validation; ``k`` is already chosen there from ``k_grid``.
    search_space: ClassVar[dict[str, tuple]] = {"standardize": (False, True)}

    def __init__(
        self,
        metric: str = "cos",
        input_size: int = 224,
        weights_path: str | None = None,
        allow_random_init: bool = False,
        k: int | None = None,
        k_grid: tuple[int, ...] = (1, 3, 5, 9, 15, 25, 41),
        standardize: bool = False,
        batch_size: int = 64,
        device: str = "auto",
        use_cache: bool = True,
        seed: int = 0,
    ):
        self.metric = metric
        self.input_size = input_size
        self.weights_path = weights_path
        self.allow_random_init = allow_random_init
        self.k = k
        self.k_grid = k_grid
        self.standardize = standardize
        self.batch_size = batch_size
        self.device = device
        self.use_cache = use_cache
        self.seed = seed

    def _build_net(self):
        import torch
        from torchvision.models import ResNet18_Weights, resnet18

        from benchmark.toolkit.weights import resolve_torchvision_weights

        state, source = resolve_torchvision_weights(
            ResNet18_Weights.IMAGENET1K_V1, self.weights_path, self.allow_random_init
        )
        with torch.random.fork_rng(devices=[]):  # seeded random init, global RNG untouched
            torch.manual_seed(self.seed)
            net = resnet18(weights=None)
        if state is not None:
            net.load_state_dict(state)
        net.fc = torch.nn.Identity()  # penultimate layer: the 512-d global-average pool
        from detectors.deep.preprocess import resolve_device

        return net.eval().to(resolve_device(self.device)), source

    def weights_source_spec(self) -> tuple[str, str]:
        """``(kind, id)`` of the pretrained weights (``benchmark.toolkit.weights.locate``)."""
        return "torchvision", "ResNet18_Weights.IMAGENET1K_V1"

    def _prepare(self, train: list[Sample]) -> None:
        self.net_, self.weights_source_ = self._build_net()
        self.pretrained_ = self.weights_source_ != "random-init"
        self.input_size_ = int(self.input_size)
        self.checksum_ = self._checksum()

    def _checksum(self) -> float:
        return float(sum(p.double().sum().item() for p in self.net_.parameters()))

    def _embed(self, samples: list[Sample]) -> np.ndarray:
        source = self.weights_source_
        if source != "random-init":  # the file's identity, so a replaced file invalidates
            from pathlib import Path

            st = Path(source).stat()
            source = f"{Path(source).resolve()}:{st.st_size}:{st.st_mtime_ns}"
        key = {"input_size": self.input_size, "weights": source, "seed": self.seed}
        return cached_features(
            samples, self._embed_now, key, n_jobs=1, name=self.embed_name, use_cache=self.use_cache
        )  # torch threads itself

    def _embed_now(self, samples: list[Sample]) -> np.ndarray:
        import cv2
        import torch
        from torchvision.transforms.v2 import functional as F

        mean, std = list(self.mean_std[0]), list(self.mean_std[1])
        dev = next(self.net_.parameters()).device
        out = []
        for a in range(0, len(samples), self.batch_size):
            imgs = []
            for s in samples[a : a + self.batch_size]:
                img = s.load()
                interp = (
                    cv2.INTER_AREA if min(img.shape[:2]) >= self.input_size else cv2.INTER_LINEAR
                )
                imgs.append(
                    cv2.resize(img, (self.input_size, self.input_size), interpolation=interp)
                )
            x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0)
            with torch.inference_mode():
                out.append(self.net_(F.normalize(x.to(dev), mean, std)).float().cpu().numpy())
        return np.concatenate(out)

    def torch_module(self):
        """The embedding network (for the harness's timing and FLOP count)."""
        return self.net_

    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.net_.parameters())) + super().n_parameters()

    def cost_info(self) -> dict[str, object]:
        return {
            "feature": f"ResNet-18 512-d embedding at {self.input_size}px",
            "search": f"brute-force {self.metric} k-NN",
        }

    # the network is rebuilt from its source on load, not stored in every run folder
    def _save_fitted(self, directory) -> None:
        import joblib

        state = {k: v for k, v in vars(self).items() if k.endswith("_") and k != "net_"}
        joblib.dump(state, directory / "fitted.joblib")

    def _load_fitted(self, directory) -> None:
        super()._load_fitted(directory)
        self.net_, source = self._build_net()
        if source != self.weights_source_ or not np.isclose(self._checksum(), self.checksum_):
            raise ValueError(
                f"{directory}: saved with weights {self.weights_source_}, which "
                f"now resolve to different weights ({source})"
            )


@register_detector(  # min_side: resizes to 224 px; below 16 px it would embed interpolation
    family="deep", paper=_RESNET, input_size=224, normalisation="imagenet", min_side=DEEP_MIN_SIDE
)
def resnet_retrieval_cos(**kw):
    """ResNet-18 embedding, cosine k-NN vote (Govi, Poppi, Marinelli §4)."""
    return ResNetRetrieval(**pin_params(kw, metric="cos"))


@register_detector(  # min_side: resizes to 224 px; below 16 px it would embed interpolation
    family="deep", paper=_RESNET, input_size=224, normalisation="imagenet", min_side=DEEP_MIN_SIDE
)
def resnet_retrieval_l2(**kw):
    """ResNet-18 embedding, Euclidean k-NN vote (Govi, Poppi, Marinelli §4)."""
    return ResNetRetrieval(**pin_params(kw, metric="l2"))
