"""Shared supervised training for the deep detectors: the ``TorchDetector`` base class.

Every deep detector trains through one loop (``detectors.deep.loop.train_model``), which follows
Congiu et al. 2025 §4.4 (Adam, learning rate 1e-4, cross-entropy, batch 32, up to 15 epochs) and
adds what the report leaves out and a fair comparison needs: early stopping on the *validation*
loss with a patience, the best epoch's weights kept in a checkpoint (``torch.save(state_dict)``)
and reloaded with ``torch.load(..., weights_only=True)``, a progress line per epoch (through
``benchmark.core.events.emit``) and seeded determinism (``torch.manual_seed``, a private
``torch.Generator`` for shuffling, deterministic algorithms on CPU). The test split is never
seen here: model selection uses validation only (10% of train, stratified, when none is given).

Images are preloaded once per fit as one ``uint8`` tensor at the model's input size
(torchvision v2 ``resize`` with antialiasing, batched per image shape), so an epoch costs only
the network; above ``memory_cap_gb`` they stream from disk instead
(``detectors.deep.streaming``). Training-time augmentation is a random horizontal flip and,
with ``train_aug="cnndetection"``, Wang et al. 2020's blur + JPEG
(``benchmark.conditions.corruptions``) applied to those uint8 images (i.e. at the input
resolution) afresh every epoch. That input preparation (decoding, normalisation,
augmentation, validation holdout, device choice) lives in ``detectors.deep.preprocess``; it and
the loop's public names are re-exported here.

Heavy imports (torch, torchvision) stay inside functions: ``detectors/`` is imported by
``python -m benchmark list``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.core.samples import Sample
from benchmark.protocol import BaseDetector, NotFittedError
from detectors.deep.loop import (  # noqa: F401 - re-exported: the public API
    LOG_FIELDS,
    Augment,
    TrainResult,
    cuda_speedups,
    torch_settings,
    train_model,
    write_history_csv,
)
from detectors.deep.preprocess import (  # noqa: F401 - re-exported: the public API
    DEVICES,
    NORMALISATIONS,
    cnndetection_batch,
    load_images,
    resolve_device,
    stratified_holdout,
    to_input,
)
from detectors.deep.streaming import SampleImages, needs_streaming  # noqa: F401

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger(__name__)

TRAIN_AUGS = ("none", "cnndetection")


class TorchDetector(BaseDetector):
    """A detector that trains a torch network end to end with ``train_model``.

    Subclasses implement ``_build_model() -> nn.Module`` (two logits: real, fake) and set
    ``normalisation`` (a key of ``NORMALISATIONS``). A subclass with other defaults or more
    parameters defines an ``__init__`` that lists every parameter, its own and these, as an
    explicit keyword with its default (scikit-learn's rule: ``get_params`` reads that
    signature) and passes these on to ``TorchDetector.__init__``. Fitted state: ``net_``,
    ``history_``, ``best_epoch_``, ``train_seconds_``, ``input_size_``, ``device_``,
    ``streamed_``, ``oom_halvings_``.

    Args:
        input_size: square input side.
        epochs: maximum epochs; early stopping usually ends sooner.
        batch_size: mini-batch size.
        lr: Adam learning rate.
        patience: epochs without a lower validation loss before stopping (``None``: never).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        train_aug: ``"none"`` or ``"cnndetection"`` (blur + JPEG, Wang et al. 2020).
        seed: seeds initialisation, shuffling, flips and dropout.
        num_threads: torch CPU threads during fit/predict (``None``: leave torch's setting).
        scheduler: ``"plateau"`` (``ReduceLROnPlateau``, factor 0.1, patience 1) or ``"none"``.
        class_weights: cross-entropy weights ``(real, fake)``; ``None``: unweighted.
        accum_steps: gradient accumulation (optimizer step every N mini-batches).
        max_train_images: stratified, seeded subsample of train (``None``: all).
        memory_cap_gb: above this many GB of decoded uint8 training images, stream them from
            disk through a ``DataLoader`` instead of preloading.
        num_workers: ``DataLoader`` workers when streaming.
        resume: resume an interrupted fit from its ``last.pt`` (under the cache folder).
        condition_grid: ``"full"`` or ``"light"`` (clean, resolutions and each corruption at
            its middle severity only: for the slowest detectors on a CPU; recorded per row).
            The harness reads it and chooses the test conditions; the detector only stores it.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"torch_module", "saliency"})
    normalisation: ClassVar[str] = "imagenet"
    search_space: ClassVar[dict[str, list[Any]]] = {"lr": [1e-4, 3e-4, 1e-3]}

    def __init__(
        self, input_size: int = 224, epochs: int = 15, batch_size: int = 32, lr: float = 1e-4,
        patience: int | None = 3, device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None, scheduler: str = "plateau",
        class_weights: tuple[float, float] | None = None, accum_steps: int = 1,
        max_train_images: int | None = None, memory_cap_gb: float = 2.0, num_workers: int = 2,
        resume: bool = True, condition_grid: str = "full",
    ) -> None:  # fmt: skip
        self.input_size = input_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.device = device
        self.train_aug = train_aug
        self.seed = seed
        self.num_threads = num_threads
        self.scheduler = scheduler
        self.class_weights = class_weights
        self.accum_steps = accum_steps
        self.max_train_images = max_train_images
        self.memory_cap_gb = memory_cap_gb
        self.num_workers = num_workers
        self.resume = resume
        self.condition_grid = condition_grid

    def _build_model(self) -> nn.Module:
        raise NotImplementedError

    def _build_model_for_load(self) -> nn.Module:
        """The architecture to load saved weights into (override to skip pretrained downloads)."""
        return self._build_model()

    @property
    def _name(self) -> str:
        return getattr(getattr(self, "meta", None), "name", type(self).__name__)

    def _train_subset(self, train: list[Sample]) -> list[Sample]:
        """``train``, or a stratified seeded subsample of ``max_train_images``."""
        cap = self.max_train_images
        if cap is None or len(train) <= int(cap):
            return train
        labels = np.array([s.label for s in train])
        _, keep = stratified_holdout(labels, int(cap) / len(train), self.seed)
        return [train[i] for i in keep]

    def _ckpt_dir(self, train: list[Sample], val: list[Sample] | None) -> Path:
        """Per-(parameters, data) folder for ``last.pt``/``best.pt``/``epochs.csv`` (resume)."""
        from benchmark.core.samples import cache_dir
        from benchmark.toolkit.features import feature_key

        skip = ("num_workers", "resume", "condition_grid")
        params = {k: v for k, v in self.get_params().items() if k not in skip}
        key = feature_key(list(train) + list(val or []), self._name, params)
        return cache_dir() / "training" / f"{self._name}-{key}"

    def _fit_size(self, train: list[Sample]) -> int:
        """The input side the network is trained at (``input_size``; subclasses may choose)."""
        return int(self.input_size)

    def _images(self, samples: list[Sample], size: int) -> Any:
        """``samples`` as one uint8 ``(N, 3, size, size)`` tensor (subclasses choose how)."""
        return load_images(samples, size)

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        name = self._name
        if self.train_aug not in TRAIN_AUGS:
            raise ValueError(f"{name}: train_aug must be in {TRAIN_AUGS}, got {self.train_aug!r}")
        size = self._fit_size(train)
        dev = resolve_device(self.device)
        augment = cnndetection_batch if self.train_aug == "cnndetection" else None
        if augment is not None:
            import benchmark.conditions.corruptions  # noqa: F401 - fail before training, not mid-epoch
        train = self._train_subset(list(train))
        val_labels = {s.label for s in val or []}
        if not val_labels <= {0, 1}:
            raise ValueError(f"{name}: validation labels must be 0/1, got {val_labels}")
        self.streamed_ = needs_streaming(len(train), size, float(self.memory_cap_gb))
        if self.streamed_ and getattr(self, "resize", "resize") != "resize":
            raise ValueError(f"{name}: streamed training images support resize='resize' only")
        if self.streamed_:
            train_x: Any = SampleImages(train, size)
            val_x: Any = SampleImages(val, size) if val else None
        else:
            train_x = self._images(train, size)
            val_x = self._images(val, size) if val else None
        train_y = np.array([s.label for s in train], dtype=np.int64)
        val_y = np.array([s.label for s in val], dtype=np.int64) if val else None
        ckpt_dir = self._ckpt_dir(train, val)
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._build_model()
            result = train_model(
                model, train_x, train_y, val_x, val_y, epochs=int(self.epochs),
                lr=float(self.lr), batch_size=int(self.batch_size), patience=self.patience,
                device=dev, seed=self.seed, normalisation=self.normalisation, augment=augment,
                desc=name, class_weights=self.class_weights, scheduler=self.scheduler,
                accum_steps=int(self.accum_steps), resume=bool(self.resume), ckpt_dir=ckpt_dir,
                num_workers=int(self.num_workers) if self.streamed_ else 0,
            )  # fmt: skip
        self._set_fitted(model, result, size, dev)

    def _set_fitted(self, model: nn.Module, result: TrainResult, size: int, dev: Any) -> None:
        self.net_ = model.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.train_seconds_ = result.seconds
        self.oom_halvings_ = result.oom_halvings
        self.input_size_ = size
        self.device_ = str(dev)

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        import torch

        net = self.torch_module()
        dev = next(net.parameters()).device
        batch = max(1, int(self.batch_size) * 2)
        out = []
        with torch_settings(dev, self.seed, self.num_threads), torch.inference_mode():
            for start in range(0, len(samples), batch * 4):  # decode a few batches at a time
                x = self._images(samples[start : start + batch * 4], self.input_size_)
                for b in range(0, len(x), batch):
                    logits = net(to_input(x[b : b + batch], self.normalisation, dev))
                    out.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu().numpy())
        return np.concatenate(out)

    def torch_module(self) -> nn.Module:
        """The fitted network, in eval mode (for timing and inspection)."""
        if not hasattr(self, "net_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(train, val) first")
        return self.net_.eval()

    def n_parameters(self) -> int:
        """Number of parameters of the network (fitted, or freshly built at ``input_size``)."""
        net = self.net_ if hasattr(self, "net_") else self._build_model_for_load()
        return sum(p.numel() for p in net.parameters())

    # -- persistence: a state_dict, never a pickle ------------------------------------------
    def _save_fitted(self, directory: Path) -> None:
        import torch

        torch.save(self.torch_module().state_dict(), directory / "model.pt")
        info = {
            "oom_halvings": getattr(self, "oom_halvings_", 0),
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "train_seconds": self.train_seconds_,
            "input_size": self.input_size_,
        }
        (directory / "training.json").write_text(json.dumps(info, indent=2))
        write_history_csv(self.history_, directory / "epochs.csv")

    def _load_fitted(self, directory: Path) -> None:
        import torch

        weights, info_file = directory / "model.pt", directory / "training.json"
        for f in (weights, info_file):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: missing; no fitted {type(self).__name__} here")
        info: dict[str, Any] = json.loads(info_file.read_text())
        if int(info["input_size"]) != int(self.input_size):
            raise ValueError(
                f"{info_file}: weights are for input_size={info['input_size']}, "
                f"but this detector has input_size={self.input_size}"
            )
        dev = resolve_device(self.device)
        net = self._build_model_for_load()
        net.load_state_dict(torch.load(weights, map_location=dev, weights_only=True))
        self.net_ = net.to(dev).eval()
        self.history_ = info["history"]
        self.best_epoch_ = int(info["best_epoch"])
        self.train_seconds_ = float(info["train_seconds"])
        self.oom_halvings_ = int(info.get("oom_halvings", 0))
        self.input_size_ = int(self.input_size)
        self.device_ = str(dev)
