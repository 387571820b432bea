"""The one supervised training loop every deep detector goes through (``train_model``).

It follows Congiu et al. 2025 §4.4 (Adam, cross-entropy, batch 32) and adds what the reports
use beside it and what a fair comparison needs: optional class weights in the cross-entropy
(Govi, Poppi, Marinelli), ``ReduceLROnPlateau`` on the validation loss and gradient
accumulation (Leonardi), early stopping on the *validation* loss with a patience, the best
epoch's weights kept in ``best.pt`` and reloaded with ``torch.load(..., weights_only=True)``, a
``last.pt`` written atomically after every epoch so an interrupted fit resumes from the next
epoch exactly as if it had never stopped (it holds every random state the rest of the fit
draws from; see ``detectors.deep.checkpoints``), a per-epoch CSV log (``epochs.csv``:
train/val loss, accuracy, val AUC, learning rate), seeded determinism and a progress line per
epoch through ``benchmark.core.events.emit``.

Training data is either a preloaded uint8 tensor ``(N, 3, S, S)`` (sliced per batch: an epoch
costs only the network) or any ``torch.utils.data.Dataset`` of ``(uint8 image, label)`` pairs,
which streams through a ``DataLoader`` with worker processes (``TorchDetector`` chooses the
latter above its memory cap). ``prepare`` turns a batch into network input; the default scales
and normalises images, and the frozen-backbone path passes cached feature vectors unchanged.

On CUDA only: automatic mixed precision (float16 autocast + ``GradScaler``), channels_last,
pinned memory and non-blocking copies; on an out-of-memory error the mini-batch is split into
halves (gradients accumulated, so the effective batch is unchanged) and the step retried;
each halving is recorded in ``TrainResult.oom_halvings``.

The mini-batch steps, the validation pass and the holdout are in ``detectors.deep.minibatch``;
the checkpoint and log files (``best.pt``, ``last.pt``, ``epochs.csv``) in
``detectors.deep.checkpoints``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core import events
from detectors.deep.checkpoints import (  # noqa: F401 - LOG_FIELDS re-exported
    LOG_FIELDS,
    TrainingObjects,
    append_csv,
    host_rngs,
    resume_state,
    save_atomic,
    save_last,
    write_history_csv,
)
from detectors.deep.minibatch import as_labels, evaluate, holdout, is_oom, iter_batches, train_step
from detectors.deep.preprocess import (  # noqa: F401 - torch_settings re-exported
    cuda_speedups,
    resolve_device,
    to_input,
    torch_settings,
)
from detectors.deep.streaming import TRAIN_STREAM, VAL_STREAM, seed_worker

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

SCHEDULERS = ("none", "plateau")
Augment = Callable[["torch.Tensor", np.random.Generator], "torch.Tensor"]


@dataclass
class TrainResult:
    """What ``train_model`` did: one dict per epoch, the restored epoch (1-based), seconds."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    resumed_from: int = 0
    micro_batch: int = 0
    oom_halvings: int = 0


def train_model(
    model: nn.Module, train_x: Any, train_y: Any = None,
    val_x: Any = None, val_y: Any = None, *,
    epochs: int = 15, lr: float = 1e-4, batch_size: int = 32, patience: int | None = 3,
    device: str | torch.device = "cpu", seed: int = 0, normalisation: str = "[0,1]",
    augment: Augment | None = None, hflip: bool = True, ckpt_dir: str | Path | None = None,
    desc: str = "train", class_weights: Sequence[float] | None = None,
    scheduler: str = "plateau", plateau_patience: int = 1, plateau_factor: float = 0.1,
    accum_steps: int = 1, resume: bool = True, num_workers: int = 0,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    params: Any = None,
) -> TrainResult:  # fmt: skip
    """Train ``model`` in place with Adam + cross-entropy; restore the best validation epoch.

    Args:
        model: the network (two logits: real, fake); moved to ``device``.
        train_x, train_y: uint8 images ``(N, 3, S, S)`` and int64 labels ``(N,)`` (0 real,
            1 fake), or a ``Dataset`` of ``(image, label)`` pairs with ``train_y`` its labels
            (read from the dataset when ``None``).
        val_x, val_y: validation set for early stopping; ``None`` or empty → 10% of train,
            stratified and seeded, is held out instead.
        epochs: maximum number of epochs.
        lr: Adam learning rate.
        batch_size: mini-batch size (a last batch of one image is dropped: BatchNorm needs two).
        patience: stop after this many epochs without a lower validation loss (``None``: never).
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a ``torch.device``.
        seed: seeds shuffling, flips, augmentation and data-loader workers (dropout draws from
            torch's global generator, which the caller seeds: ``torch_settings``).
        normalisation: a key of ``NORMALISATIONS`` (used by the default ``prepare``).
        augment: optional ``(uint8 batch, numpy Generator) -> uint8 batch`` applied per batch.
        hflip: random horizontal flips (p = 0.5 per image; images only).
        ckpt_dir: where ``best.pt``, ``last.pt`` and ``epochs.csv`` go (a temporary folder when
            ``None``: no resume then).
        desc: label for the progress lines.
        class_weights: cross-entropy weights ``(w_real, w_fake)``; ``None``: unweighted.
        scheduler: ``"plateau"`` (``ReduceLROnPlateau`` on val loss) or ``"none"``.
        plateau_patience, plateau_factor: the scheduler's patience and factor.
        accum_steps: optimizer step every this many mini-batches (effective batch multiplied).
        resume: continue from ``ckpt_dir/last.pt`` when it is there (and was saved by a fit
            with the same seed, batch size, learning rate, data sizes, scheduler and
            augmentation); the resumed fit ends bit for bit where the uninterrupted one would.
        num_workers: ``DataLoader`` workers when the data is a ``Dataset``.
        prepare: batch → network input on the device (default: ``to_input``).
        params: the parameters to optimise (default: those of ``model`` that require grad).

    Returns:
        A ``TrainResult``; the model is left in eval mode with the best epoch's weights.
    """
    import torch

    dev = device if isinstance(device, torch.device) else resolve_device(str(device))
    if epochs < 1 or batch_size < 1 or accum_steps < 1:
        raise ValueError(
            f"epochs, batch_size and accum_steps must be >= 1, got {epochs}, {batch_size}, "
            f"{accum_steps}"
        )
    if scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {scheduler!r}")
    train_y = as_labels(train_x, train_y)
    if val_x is None or len(val_x) == 0:
        train_x, train_y, val_x, val_y = holdout(train_x, train_y, seed)
        log.info("%s: no validation set; holding out %d training images", desc, len(val_y))
    val_y = as_labels(val_x, val_y)
    speed = cuda_speedups(dev)
    model.to(dev)
    if speed["channels_last"]:
        model.to(memory_format=torch.channels_last)
    candidates = params if params is not None else model.parameters()
    trainable = [p for p in candidates if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    sched = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=plateau_factor, patience=plateau_patience
        )
        if scheduler == "plateau"
        else None
    )
    scaler = torch.amp.GradScaler("cuda", enabled=speed["amp"])
    weight = torch.tensor(class_weights, dtype=torch.float32, device=dev) if class_weights else None
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    if prepare is None:

        def prepare(x: torch.Tensor) -> torch.Tensor:
            x = to_input(x, normalisation, dev)
            return x.contiguous(memory_format=torch.channels_last) if speed["channels_last"] else x

    result = TrainResult(micro_batch=batch_size)
    best_loss, bad_epochs, first = float("inf"), 0, 1
    objects = TrainingObjects(model, optimizer, sched, scaler, gen, rng, dev)
    run = {"seed": int(seed), "lr": float(lr), "batch_size": int(batch_size),
           "accum_steps": int(accum_steps), "n_train": len(train_y), "n_val": len(val_y),
           "scheduler": scheduler, "hflip": bool(hflip),
           "augment": getattr(augment, "__qualname__", repr(augment))}  # fmt: skip
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(host_rngs(seed))
        folder = Path(ckpt_dir or stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        ckpt, last, csv_path = folder / "best.pt", folder / "last.pt", folder / "epochs.csv"
        state = resume_state(last, objects, run) if resume and ckpt_dir else None
        if state is not None:
            best_loss, bad_epochs = float(state["best_loss"]), int(state["bad_epochs"])
            result.best_epoch, result.history = int(state["best_epoch"]), list(state["history"])
            result.micro_batch, result.oom_halvings = (
                int(state["micro_batch"]), int(state["oom_halvings"])
            )  # fmt: skip
            first = result.resumed_from = int(state["epoch"]) + 1
            write_history_csv(result.history, csv_path)  # drops a row of an unfinished epoch
            events.emit(f"{desc}: resuming after epoch {first - 1} from {last}")
        elif csv_path.exists():
            csv_path.unlink()
        stop = bool(result.history) and (
            (patience is not None and bad_epochs >= patience) or first > epochs
        )
        for epoch in range(first, epochs + 1) if not stop else ():
            t0 = time.perf_counter()
            model.train()
            loss_sum, correct, seen, step = torch.zeros((), device=dev), 0, 0, 0
            optimizer.zero_grad(set_to_none=True)
            batches = iter_batches(
                train_x, train_y, batch_size, gen, num_workers, speed["pin_memory"],
                functools.partial(seed_worker, seed=seed, epoch=epoch, stream=TRAIN_STREAM),
            )  # fmt: skip
            for xb, yb in batches:
                if len(yb) < 2 and seen:  # BatchNorm cannot train on a single image
                    continue
                if hflip and xb.dtype == torch.uint8:  # images, not cached feature vectors
                    flip = torch.rand(len(yb), generator=gen) < 0.5
                    xb[flip] = xb[flip].flip(-1)  # train_x[idx] is a copy: the cache stays intact
                if augment is not None:
                    xb = augment(xb, rng)
                yb = yb.to(dev, non_blocking=True)
                while True:
                    try:
                        loss_b, correct_b = train_step(
                            model, xb, yb, prepare, weight, scaler, speed["amp"],
                            result.micro_batch, accum_steps,
                        )  # fmt: skip
                        break
                    except (RuntimeError, torch.OutOfMemoryError) as exc:
                        if not is_oom(exc) or result.micro_batch <= 1:
                            raise
                        optimizer.zero_grad(set_to_none=True)
                        result.micro_batch //= 2
                        result.oom_halvings += 1
                        if dev.type == "cuda":
                            torch.cuda.empty_cache()
                        log.warning(
                            "%s: out of memory; micro-batch now %d (gradients "
                            "accumulated: same effective batch)",
                            desc,
                            result.micro_batch,
                        )
                step += 1
                if step % accum_steps == 0:
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                loss_sum += loss_b * len(yb)
                correct += correct_b
                seen += len(yb)
            if step % accum_steps:  # the epoch's last, partial accumulation
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
            train_loss = float(loss_sum) / max(seen, 1)
            eval_batch = result.micro_batch if result.oom_halvings else batch_size * 2
            val_loss, val_acc, val_auc = evaluate(
                model, val_x, val_y, prepare, eval_batch, num_workers, speed["amp"],
                functools.partial(seed_worker, seed=seed, epoch=epoch, stream=VAL_STREAM),
            )  # fmt: skip
            lr_now = float(optimizer.param_groups[0]["lr"])
            if sched is not None:
                sched.step(val_loss)
            improved = val_loss < best_loss
            if improved:
                best_loss, bad_epochs, result.best_epoch = val_loss, 0, epoch
                save_atomic(model.state_dict(), ckpt)
            else:
                bad_epochs += 1
            row = {
                "epoch": epoch, "train_loss": train_loss, "train_acc": correct / max(seen, 1),
                "val_loss": val_loss, "val_acc": val_acc, "val_auc": val_auc, "lr": lr_now,
                "seconds": time.perf_counter() - t0,
            }  # fmt: skip
            result.history.append(row)
            append_csv(csv_path, row)
            save_last(last, objects, {
                "epoch": epoch, "run": run, "best_loss": best_loss, "bad_epochs": bad_epochs,
                "best_epoch": result.best_epoch, "history": result.history,
                "micro_batch": result.micro_batch, "oom_halvings": result.oom_halvings,
            })  # fmt: skip
            events.emit(
                f"{desc} epoch {epoch}/{epochs}: train_loss={train_loss:.4f} "
                f"val_loss={val_loss:.4f} val_acc={val_acc:.3f} val_auc={val_auc:.3f} "
                f"lr={lr_now:.2g} ({row['seconds']:.1f}s){' *best' if improved else ''}"
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
    log.info("%s: kept epoch %d of %d (best val_loss=%.4f) after %.1fs", desc, result.best_epoch,
             len(result.history), best_loss, result.seconds)  # fmt: skip
    return result
