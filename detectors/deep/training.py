"""Shared supervised training for the deep detectors: one loop and a ``TorchDetector`` base.

The loop follows seed 000 §4.4 (Adam, learning rate 1e-4, cross-entropy, batch 32, up to 15
epochs), adding what the seed leaves out and a fair comparison needs: early stopping on the
*validation* loss with a patience, the best epoch's weights kept in a checkpoint
(``torch.save(state_dict)``) and reloaded with ``torch.load(..., weights_only=True)``, a
progress bar, a per-epoch log line, and seeded determinism (``torch.manual_seed``, a private
``torch.Generator`` for shuffling, deterministic algorithms on CPU). The test split is never
seen here: model selection uses validation only (10% of train, stratified, when none is given).

Images are preloaded once per fit as one ``uint8`` tensor at the model's input size
(torchvision v2 ``resize`` with antialiasing, batched per image shape), so an epoch costs only
the network. Training-time augmentation is a random horizontal flip and, with
``train_aug="cnndetection"``, Wang et al. 2020's blur + JPEG (``benchmark.corruptions``)
applied to those uint8 images (i.e. at the input resolution) afresh every epoch. That input
preparation (decoding, normalisation, augmentation, validation holdout, device choice) lives in
``detectors.deep.preprocess`` and is re-exported here.

Heavy imports (torch, torchvision, tqdm) stay inside functions: ``detectors/`` is imported
by ``python -m benchmark list``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark import progress
from benchmark.data import Sample
from benchmark.protocol import BaseDetector, NotFittedError
from detectors.deep.preprocess import (  # noqa: F401 - re-exported: the public API
    DEVICES,
    NORMALISATIONS,
    cnndetection_batch,
    load_images,
    resolve_device,
    stratified_holdout,
    to_input,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

TRAIN_AUGS = ("none", "cnndetection")
Augment = Callable[["torch.Tensor", np.random.Generator], "torch.Tensor"]


def progress_enabled() -> bool:
    """Progress bars only on an interactive stderr and unless ``FAKEBENCH_NO_PROGRESS`` is set."""
    return sys.stderr.isatty() and not os.environ.get("FAKEBENCH_NO_PROGRESS")


@dataclass
class TrainResult:
    """What ``train_model`` did: one dict per epoch, the restored epoch (1-based), seconds."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    stopped_early: bool = False


@contextlib.contextmanager
def torch_settings(device: torch.device, seed: int, num_threads: int | None) -> Iterator[None]:
    """Seed torch's RNGs, optionally set the thread count, and restore both afterwards."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        try:
            if num_threads:
                torch.set_num_threads(int(num_threads))
            if device.type == "cpu":  # on CUDA this would need CUBLAS_WORKSPACE_CONFIG set
                torch.use_deterministic_algorithms(True, warn_only=True)
            yield
        finally:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_det)


def _evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, prepare: Callable, batch: int
) -> tuple[float, float, float]:
    """Mean cross-entropy, accuracy and ROC-AUC of ``model`` on uint8 ``x`` (eval, no grad)."""
    import torch

    from benchmark.metrics import roc_auc

    model.eval()
    loss_sum, correct, fake_prob = 0.0, 0, []
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            logits = model(prepare(x[start : start + batch]))
            target = y[start : start + batch].to(logits.device, non_blocking=True)
            loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
            fake_prob.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu())
    with warnings.catch_warnings():  # one class in a tiny holdout: NaN, already explained
        warnings.simplefilter("ignore")
        auc = roc_auc(y.numpy(), torch.cat(fake_prob).numpy())
    return loss_sum / len(x), correct / len(x), auc


def train_model(
    model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor,
    val_x: torch.Tensor | None = None, val_y: torch.Tensor | None = None, *,
    epochs: int = 15, lr: float = 1e-4, batch_size: int = 32, patience: int | None = 3,
    device: str | torch.device = "cpu", seed: int = 0, normalisation: str = "[0,1]",
    augment: Augment | None = None, hflip: bool = True, ckpt_dir: str | Path | None = None,
    desc: str = "train",
) -> TrainResult:  # fmt: skip
    """Train ``model`` in place with Adam + cross-entropy; restore the best validation epoch.

    Args:
        model: the network; moved to ``device``.
        train_x, train_y: uint8 images ``(N, 3, S, S)`` and int64 labels ``(N,)`` (0 real, 1 fake).
        val_x, val_y: validation set for early stopping; ``None`` or empty → 10% of train,
            stratified and seeded, is held out instead.
        epochs: maximum number of epochs.
        lr: Adam learning rate.
        batch_size: mini-batch size (a last batch of one image is dropped: BatchNorm needs two).
        patience: stop after this many epochs without a lower validation loss (``None``: never).
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a ``torch.device``.
        seed: seeds initialisation-independent randomness here (shuffling, flips, dropout).
        normalisation: a key of ``NORMALISATIONS``.
        augment: optional ``(uint8 batch, numpy Generator) -> uint8 batch`` applied per batch.
        hflip: random horizontal flips (p = 0.5 per image).
        ckpt_dir: where the best checkpoint is written (a temporary folder when ``None``).
        desc: label for the progress bar and log lines.

    Returns:
        A ``TrainResult``; the model is left in eval mode with the best epoch's weights.
    """
    import torch
    from tqdm.auto import tqdm

    dev = device if isinstance(device, torch.device) else resolve_device(str(device))
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    train_y = torch.as_tensor(train_y, dtype=torch.long)
    if val_x is None or val_y is None or len(val_x) == 0:
        keep, held = stratified_holdout(train_y.numpy(), 0.1, seed)
        held_t, keep_t = torch.as_tensor(held), torch.as_tensor(keep)
        val_x, val_y = train_x[held_t], train_y[held_t]
        train_x, train_y = train_x[keep_t], train_y[keep_t]
        log.info("%s: no validation set; holding out %d training images", desc, len(held))
    val_y = torch.as_tensor(val_y, dtype=torch.long)
    model.to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return to_input(x, normalisation, dev)

    n = len(train_x)
    n_batches = max(1, n // batch_size + (n % batch_size > 1))
    result = TrainResult()
    best_loss, bad_epochs = float("inf"), 0
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp = None if ckpt_dir else stack.enter_context(tempfile.TemporaryDirectory())
        folder = Path(ckpt_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ckpt = folder / "best.pt"
        bar = stack.enter_context(
            tqdm(
                total=epochs * n_batches,
                desc=desc,
                file=sys.stderr,
                leave=False,
                disable=not progress_enabled(),
                dynamic_ncols=True,
            )
        )
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=gen)
            loss_sum, seen = torch.zeros((), device=dev), 0  # summed on device: no sync per step
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                if len(idx) < 2 and seen:  # BatchNorm cannot train on a single image
                    continue
                xb = train_x[idx]
                if hflip:
                    flip = torch.rand(len(idx), generator=gen) < 0.5
                    xb[flip] = xb[flip].flip(-1)  # train_x[idx] is a copy: the cache stays intact
                if augment is not None:
                    xb = augment(xb, rng)
                yb = train_y[idx].to(dev, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(prepare(xb)), yb)
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(idx)
                seen += len(idx)
                bar.update(1)
                if not bar.disable:
                    bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
            train_loss = float(loss_sum) / max(seen, 1)
            val_loss, val_acc, val_auc = _evaluate(model, val_x, val_y, prepare, batch_size * 2)
            improved = val_loss < best_loss
            if improved:
                best_loss, bad_epochs, result.best_epoch = val_loss, 0, epoch
                torch.save(model.state_dict(), ckpt)
            else:
                bad_epochs += 1
            row = {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_acc": val_acc,
                "val_auc": val_auc,
                "seconds": time.perf_counter() - t0,
            }
            result.history.append(row)
            progress.report(
                f"{desc} epoch {epoch}/{epochs}: train_loss={train_loss:.4f} "
                f"val_loss={val_loss:.4f} val_acc={val_acc:.3f} val_auc={val_auc:.3f} "
                f"({row['seconds']:.1f}s){' *best' if improved else ''}"
            )
            if not np.isfinite(train_loss):
                log.warning("%s: training loss is not finite at epoch %d; stopping", desc, epoch)
                result.stopped_early = True
                break
            if patience is not None and bad_epochs >= patience:
                result.stopped_early = epoch < epochs
                break
        if result.best_epoch:
            model.load_state_dict(torch.load(ckpt, map_location=dev, weights_only=True))
    model.eval()
    result.seconds = time.perf_counter() - t_start
    log.info(
        "%s: kept epoch %d of %d (best val_loss=%.4f) after %.1fs",
        desc,
        result.best_epoch,
        len(result.history),
        best_loss,
        result.seconds,
    )
    return result


class TorchDetector(BaseDetector):
    """A detector that trains a torch network end to end with ``train_model``.

    Subclasses implement ``_build_model() -> nn.Module`` (two logits: real, fake), define an
    ``__init__`` with their own defaults that calls this one, and set ``normalisation`` (a key
    of ``NORMALISATIONS``). Fitted state: ``net_``, ``history_``, ``best_epoch_``,
    ``train_seconds_``, ``input_size_``, ``device_``.
    """

    normalisation: ClassVar[str] = "imagenet"

    def __init__(
        self, input_size: int = 224, epochs: int = 15, batch_size: int = 32, lr: float = 1e-4,
        patience: int | None = 3, device: str = "auto", train_aug: str = "none", seed: int = 0,
        num_threads: int | None = None,
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

    def _build_model(self) -> nn.Module:
        raise NotImplementedError

    def _build_model_for_load(self) -> nn.Module:
        """The architecture to load saved weights into (override to skip pretrained downloads)."""
        return self._build_model()

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        name = getattr(getattr(self, "meta", None), "name", type(self).__name__)
        if self.train_aug not in TRAIN_AUGS:
            raise ValueError(f"{name}: train_aug must be in {TRAIN_AUGS}, got {self.train_aug!r}")
        size = int(self.input_size)
        dev = resolve_device(self.device)
        augment = cnndetection_batch if self.train_aug == "cnndetection" else None
        if augment is not None:
            import benchmark.corruptions  # noqa: F401 - fail before training, not mid-epoch
        train_x = load_images(train, size)
        train_y = np.array([s.label for s in train], dtype=np.int64)
        val_x = load_images(val, size) if val else None
        val_y = np.array([s.label for s in val], dtype=np.int64) if val else None
        if val_y is not None and not set(val_y.tolist()) <= {0, 1}:
            raise ValueError(f"{name}: validation labels must be 0/1, got {set(val_y.tolist())}")
        with torch_settings(dev, self.seed, self.num_threads):
            model = self._build_model()
            result = train_model(
                model,
                train_x,
                train_y,
                val_x,
                val_y,
                epochs=int(self.epochs),
                lr=float(self.lr),
                batch_size=int(self.batch_size),
                patience=self.patience,
                device=dev,
                seed=self.seed,
                normalisation=self.normalisation,
                augment=augment,
                desc=name,
            )
        self.net_ = model.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.train_seconds_ = result.seconds
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
                x = load_images(samples[start : start + batch * 4], self.input_size_)
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
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "train_seconds": self.train_seconds_,
            "input_size": self.input_size_,
        }
        (directory / "training.json").write_text(json.dumps(info, indent=2))

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
        self.input_size_ = int(self.input_size)
        self.device_ = str(dev)
