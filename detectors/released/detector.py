"""Released checkpoints as detectors: scored zero-shot, or fine-tuned from the checkpoint.

Each ``specs.ReleasedSpec`` gives two detectors (registered in ``detectors.released.zoo``):

* :class:`ZeroShot` (``<spec>``): ``fit`` loads the released checkpoint (strict and
  sha256-verified, ``loading.load_into``) and trains nothing; given a validation split it keeps
  the Youden threshold there (``threshold_``; the harness tunes its own on the same split). It
  declares ``zero_shot``: ``fit([], None)`` is all it needs (``predict`` without a run folder).
* :class:`FineTune` (``<spec>_ft``): starts from the checkpoint and trains on the train split
  through the shared loop (``detectors.deep.training.TorchDetector``: Adam, cross-entropy, early
  stopping on validation). Where the file fills only part of the model (``spec.target``:
  UnivFD's linear layer on frozen CLIP features) that part alone trains, on features computed
  once, as UnivFD itself was trained (Ojha, Li, Lee 2023).

The network is the spec's, inside ``ReleasedNet``: the spec's normalisation first (inputs are
[0, 1]), and the output as two logits: ``[0, z]`` for a one-logit head (softmax gives
``[1 - σ(z), σ(z)]``: p = sigmoid(z), and two-logit cross-entropy is binary cross-entropy on
z) or as published for a two-logit head (p = softmax index 1). Inputs follow the spec's
policy and size (``resize``, ``center_crop`` with its ``crop_pct``, ``native``).

Weights: ``weights_source_spec()`` is ``("released", spec)``, so an absent or unpinned file is
a "not applicable" row at planning, naming the file and ``weights fetch``. With
``allow_random_init`` (``run --allow-random-init``) the architecture runs without its file:
an ablation, recorded ``pretrained = False``. A fitted zero-shot detector stores no weights,
only the file's sha256, and reloads that file (refused if it changed); a fine-tuned one
stores what it trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.core.samples import Sample, as_samples
from benchmark.toolkit.weights import RANDOM_INIT, released_path
from detectors.deep.training import (
    TRAIN_AUGS,
    TorchDetector,
    TrainResult,
    cnndetection_batch,
    load_images,
    resolve_device,
    to_input,
    torch_settings,
    train_model,
    write_history_csv,
)
from detectors.released.loading import CheckpointError, load_into
from detectors.released.specs import POLICIES, ReleasedSpec, get_spec

if TYPE_CHECKING:
    from torch import nn


def released_net(net: nn.Module, spec: ReleasedSpec) -> nn.Module:
    """``net`` behind the spec's normalisation, with a two-logit output (see the module)."""
    import torch
    from torch import nn

    class ReleasedNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            mean, std = (torch.tensor(v, dtype=torch.float32).view(1, 3, 1, 1)
                         for v in spec.mean_std)  # fmt: skip
            self.register_buffer("mean", mean, persistent=False)
            self.register_buffer("std", std, persistent=False)
            self.one_logit = spec.head == "sigmoid1"

        def logits(self, z: torch.Tensor) -> torch.Tensor:
            if not self.one_logit:
                return z
            z = z.reshape(len(z), 1)
            return torch.cat([torch.zeros_like(z), z], dim=1)

        def features(self, x: torch.Tensor) -> torch.Tensor:  # the input of ``spec.target``
            return self.net.features((x - self.mean) / self.std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.logits(self.net((x - self.mean) / self.std))

    return ReleasedNet()


def _head(model: nn.Module, target: str) -> nn.Module:
    """``model``'s ``target`` submodule with ``model``'s two-logit output (shared weights)."""
    from torch import nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.target = model.net.get_submodule(target)

        def forward(self, f: Any) -> Any:
            return model.logits(self.target(f))

    return Head()


class _Released(TorchDetector):
    """What both kinds share: the spec, its input policy, the network, persistence."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"torch_module", "pretrained_weights"})
    normalisation: ClassVar[str] = "[0,1]"  # the spec's mean and std act inside ReleasedNet
    fit_version: ClassVar[int | None] = 1
    MODE: ClassVar[str] = ""
    spec: str
    mode: str
    resize: str
    weights_path: str | None
    allow_random_init: bool

    @property
    def spec_(self) -> ReleasedSpec:
        return get_spec(self.spec)

    def weights_source_spec(self) -> tuple[str, str]:
        """``("released", spec)``: ``benchmark.toolkit.weights.locate`` finds its file."""
        return "released", self.spec

    def _validate(self) -> None:
        if self.mode != self.MODE:
            raise ValueError(f"{self._name}: mode must be {self.MODE!r}, got {self.mode!r}")
        if self.resize not in POLICIES:
            raise ValueError(f"{self._name}: resize must be one of {POLICIES}")
        get_spec(self.spec)

    def _images(self, samples: list[Sample], size: int) -> Any:
        crop = self.spec_.crop_pct if self.resize == "center_crop" else None
        return load_images(samples, size, policy=self.resize, crop_pct=crop)

    def _fit_size(self, train: list[Sample]) -> int:
        if self.resize != "native":
            return int(self.input_size)
        sides = {s.load().shape[:2] for s in train[:64]}
        if len(sides) != 1 or len(set(next(iter(sides)))) != 1:
            raise ValueError(f"{self._name}: resize='native' trains on square images of one "
                             f"size, got {sorted(sides)[:4]}")  # fmt: skip
        return int(next(iter(sides))[0])

    def _network(self, load: bool) -> nn.Module:
        """The spec's network in ``ReleasedNet``; ``load``: filled from the checkpoint, unless
        the file is absent and ``allow_random_init``. Call it seeded (``torch_settings``)."""
        spec = self.spec_
        net = spec.builder(int(self.input_size), allow_random_init=bool(self.allow_random_init))
        path = Path(self.weights_path) if self.weights_path else released_path(spec.name)
        self.checkpoint_, self.checkpoint_sha256_ = RANDOM_INIT, ""
        if load and (path.is_file() or self.weights_path or not self.allow_random_init):
            try:
                self.checkpoint_sha256_, self.checkpoint_ = load_into(spec, net, path), str(path)
            except CheckpointError as exc:  # e.g. a Meso head sized for another input
                if int(self.input_size) == spec.input_size:
                    raise
                raise CheckpointError(f"{exc} (the file is for input_size={spec.input_size}, "
                                      f"this detector has {self.input_size})") from exc  # fmt: skip
        self.backbone_source_ = str(getattr(net, "clip_source", ""))
        self.pretrained_ = self.checkpoint_ != RANDOM_INIT and self.backbone_source_ != RANDOM_INIT
        return released_net(net, spec)

    def _trained_part(self, model: nn.Module) -> nn.Module | None:
        """What a fit changed, saved with it (``None``: nothing, the file is the model)."""
        return None

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        if self.resize != "native":
            return super()._predict_fake(samples)
        import torch

        net = self.torch_module()
        dev = next(net.parameters()).device
        images = [s.load() for s in samples]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):  # each image at its own size, same shapes batched
            groups.setdefault(image.shape, []).append(i)
        out = np.zeros(len(samples))
        with torch_settings(dev, self.seed, self.num_threads), torch.inference_mode():
            for idx in groups.values():
                for b in range(0, len(idx), int(self.batch_size)):
                    part = idx[b : b + int(self.batch_size)]
                    x = torch.from_numpy(np.stack([images[i] for i in part])).permute(0, 3, 1, 2)
                    logits = net(to_input(x, self.normalisation, dev)).float()
                    out[part] = torch.softmax(logits, dim=1)[:, 1].cpu().numpy()
        return out

    # -- persistence: the file's identity, and what the fit trained ------------------------
    def _save_fitted(self, directory: Path) -> None:
        import torch

        part = self._trained_part(self.torch_module())
        if part is not None:
            torch.save(part.state_dict(), directory / "model.pt")
        info = {"spec": self.spec, "mode": self.mode, "checkpoint": self.checkpoint_,
                "sha256": self.checkpoint_sha256_, "backbone": self.backbone_source_,
                "pretrained": self.pretrained_, "input_size": self.input_size_,
                "threshold": getattr(self, "threshold_", None), "history": self.history_,
                "best_epoch": self.best_epoch_, "train_seconds": self.train_seconds_}  # fmt: skip
        (directory / "released.json").write_text(json.dumps(info, indent=2))
        write_history_csv(self.history_, directory / "epochs.csv")

    def _load_fitted(self, directory: Path) -> None:
        import torch

        info = json.loads((directory / "released.json").read_text())
        if info["spec"] != self.spec or int(info["input_size"]) != int(self.input_size):
            raise ValueError(f"{directory}: a fit of {info['spec']} at {info['input_size']} px, "
                             f"not {self.spec} at {self.input_size} px")  # fmt: skip
        dev = resolve_device(self.device)
        zero_shot = self.MODE == "zero_shot" and info["checkpoint"] != RANDOM_INIT
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._network(load=zero_shot)
        if self.checkpoint_sha256_ != (info["sha256"] if zero_shot else ""):
            raise ValueError(f"{self.checkpoint_}: sha256 {self.checkpoint_sha256_} is not the "
                             f"{info['sha256']} this fit scored with; fit again")  # fmt: skip
        if self.backbone_source_ != info["backbone"]:
            raise ValueError(f"{directory}: fitted on backbone {info['backbone']!r}, now "
                             f"{self.backbone_source_!r}")  # fmt: skip
        part = self._trained_part(model)
        if part is not None:
            part.load_state_dict(torch.load(directory / "model.pt", map_location="cpu",
                                            weights_only=True))  # fmt: skip
        self.checkpoint_, self.checkpoint_sha256_ = info["checkpoint"], info["sha256"]
        self.pretrained_ = info["pretrained"]
        if info["threshold"] is not None:
            self.threshold_ = float(info["threshold"])
        result = TrainResult(info["history"], int(info["best_epoch"]), info["train_seconds"])
        self._set_fitted(model.to(dev), result, int(info["input_size"]), dev)


class ZeroShot(_Released):
    """A released checkpoint scored as published: ``fit`` loads it and trains nothing.

    Args:
        spec: a key of ``specs.SPECS``.
        mode: ``"zero_shot"`` (fixed: recorded with every row).
        input_size, resize: the input side and policy (``resize``/``center_crop``/``native``);
            the spec's by default.
        weights_path: the checkpoint file, instead of ``weights list``'s path (checked against
            the spec's sha256 or its own pin ``<file>.sha256``).
        allow_random_init: an absent file builds the architecture untrained (an ablation).
        batch_size, device, seed, num_threads, condition_grid: as in ``TorchDetector``.
    """

    capabilities: ClassVar[frozenset[str]] = _Released.capabilities | {"zero_shot"}
    search_space: ClassVar[dict[str, list[Any]]] = {}
    MODE: ClassVar[str] = "zero_shot"

    def __init__(
        self, spec: str = "cnndetection_blur_jpg_prob05", mode: str = "zero_shot",
        input_size: int = 224, resize: str = "center_crop", weights_path: str | None = None,
        allow_random_init: bool = False, batch_size: int = 32, device: str = "auto",
        seed: int = 0, num_threads: int | None = None, condition_grid: str = "full",
    ) -> None:  # fmt: skip
        super().__init__(input_size=input_size, batch_size=batch_size, device=device, seed=seed,
                         num_threads=num_threads, condition_grid=condition_grid)  # fmt: skip
        self.spec = spec
        self.mode = mode
        self.resize = resize
        self.weights_path = weights_path
        self.allow_random_init = allow_random_init

    def fit(self, train: Any = (), val: Any = None) -> ZeroShot:
        """Load the checkpoint (``train`` is not used); with ``val``, keep its Youden
        threshold in ``threshold_`` (0.5 without)."""
        from benchmark.core.metrics import tune_threshold

        self.load_pretrained()
        val = as_samples(val) if val is not None else []
        self.threshold_ = 0.5
        if len({s.label for s in val} & {0, 1}) == 2:
            scores = self.predict_proba(val)[:, 1]
            self.threshold_ = float(tune_threshold([s.label for s in val], scores, "youden"))
        return self

    def load_pretrained(self) -> ZeroShot:
        """Build the network and load the released checkpoint: ready to predict."""
        self._validate()
        dev = resolve_device(self.device)
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._network(load=True)
        self._set_fitted(model.to(dev), TrainResult(), int(self.input_size), dev)
        self.fitted_ = True
        return self


class FineTune(_Released):
    """A released checkpoint fine-tuned on the train split (the shared loop).

    Args:
        spec, input_size, resize, weights_path, allow_random_init: as in :class:`ZeroShot`.
        mode: ``"finetune"`` (fixed: recorded with every row).
        epochs, batch_size, lr, patience, device, train_aug, seed, num_threads, scheduler,
            class_weights, accum_steps, max_train_images, memory_cap_gb, num_workers, resume,
            condition_grid: the shared loop's options, as in ``TorchDetector``.
    """

    MODE: ClassVar[str] = "finetune"

    def __init__(
        self, spec: str = "cnndetection_blur_jpg_prob05", mode: str = "finetune",
        input_size: int = 224, resize: str = "center_crop", weights_path: str | None = None,
        allow_random_init: bool = False, epochs: int = 2, batch_size: int = 32,
        lr: float = 1e-4, patience: int | None = 3, device: str = "auto",
        train_aug: str = "none", seed: int = 0, num_threads: int | None = None,
        scheduler: str = "none", class_weights: tuple[float, float] | None = None,
        accum_steps: int = 1, max_train_images: int | None = 256, memory_cap_gb: float = 2.0,
        num_workers: int = 2, resume: bool = True, condition_grid: str = "light",
    ) -> None:  # fmt: skip
        super().__init__(
            input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience,
            device=device, train_aug=train_aug, seed=seed, num_threads=num_threads,
            scheduler=scheduler, class_weights=class_weights, accum_steps=accum_steps,
            max_train_images=max_train_images, memory_cap_gb=memory_cap_gb,
            num_workers=num_workers, resume=resume, condition_grid=condition_grid,
        )  # fmt: skip
        self.spec = spec
        self.mode = mode
        self.resize = resize
        self.weights_path = weights_path
        self.allow_random_init = allow_random_init

    def _build_model(self) -> nn.Module:
        model = self._network(load=True)
        target = self.spec_.target
        if target:  # only what the file holds trains
            model.requires_grad_(False)
            model.net.get_submodule(target).requires_grad_(True)
        return model

    def _build_model_for_load(self) -> nn.Module:
        return self._network(load=False)

    def _trained_part(self, model: nn.Module) -> nn.Module | None:
        target = self.spec_.target
        return model.net.get_submodule(target) if target else model

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        self._validate()
        target = self.spec_.target
        if not target:
            return super()._fit(train, val)
        if self.train_aug not in TRAIN_AUGS:
            raise ValueError(f"{self._name}: train_aug must be in {TRAIN_AUGS}")
        dev = resolve_device(self.device)
        train, val = self._train_subset(list(train)), list(val or [])
        size = self._fit_size(train)
        ty = np.array([s.label for s in train], dtype=np.int64)
        vy = np.array([s.label for s in val], dtype=np.int64) if val else None
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._build_model().to(dev).eval()
            aug = self.train_aug == "cnndetection"
            tx = self._frozen_features(model, train, size, aug)
            vx = self._frozen_features(model, val, size) if val else None
            result = train_model(
                _head(model, target), tx, ty, vx, vy, epochs=int(self.epochs),
                lr=float(self.lr), batch_size=int(self.batch_size), patience=self.patience,
                device=dev, seed=self.seed, desc=self._name, class_weights=self.class_weights,
                scheduler=self.scheduler, accum_steps=int(self.accum_steps), hflip=False,
                resume=bool(self.resume), ckpt_dir=self._ckpt_dir(train, val),
                prepare=lambda x: x.to(dev, non_blocking=True),
            )  # fmt: skip
        self._set_fitted(model.eval(), result, size, dev)

    def _frozen_features(self, model: nn.Module, samples: list[Sample], size: int,
                         augment: bool = False) -> Any:  # fmt: skip
        """The frozen part's output (``spec.target``'s input) for ``samples``, on the CPU;
        ``augment``: Wang et al. 2020's blur + JPEG, drawn once per image."""
        import torch

        dev = next(model.parameters()).device
        rng, out = np.random.default_rng(self.seed), []
        with torch.inference_mode():
            for b in range(0, len(samples), 64):
                x = self._images(samples[b : b + 64], size)
                x = cnndetection_batch(x, rng) if augment else x
                out.append(model.features(to_input(x, self.normalisation, dev)).float().cpu())
        return torch.cat(out).clone()  # a normal tensor: inference tensors cannot train
