"""Mini-batch mechanics of the training loop (``detectors.deep.loop.train_model``).

Batching a preloaded tensor (sliced, shuffled with the loop's ``torch.Generator``) or a
``Dataset`` (through a ``DataLoader`` with seeded workers); one forward/backward step of a
mini-batch, split into micro-batches whose gradients add up to the full batch's (the out-of-memory
fallback: ``is_oom`` tells that error apart); the validation pass (mean cross-entropy,
accuracy, ROC-AUC); the stratified 10% holdout when no validation set is given.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from detectors.deep.preprocess import stratified_holdout

if TYPE_CHECKING:
    import torch
    from torch import nn


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is torch running out of (GPU) memory."""
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def iter_batches(
    x: Any, y: torch.Tensor | None, batch: int, gen: torch.Generator | None, workers: int,
    pin: bool, worker_init: Callable[[int], None] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:  # fmt: skip
    """Mini-batches of a tensor (sliced) or a Dataset (``DataLoader``); shuffled with ``gen``.

    ``worker_init`` seeds each worker process (``streaming.seed_worker``)."""
    import torch

    if isinstance(x, torch.Tensor):
        n = len(x)
        order = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            yield x[idx], y[idx]
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(
        x, batch_size=batch, shuffle=gen is not None, generator=gen, num_workers=workers,
        pin_memory=pin, persistent_workers=False, worker_init_fn=worker_init if workers else None,
    )  # fmt: skip
    yield from loader


def evaluate(
    model: nn.Module, x: Any, y: torch.Tensor | None, prepare: Callable, batch: int,
    workers: int = 0, amp: bool = False, worker_init: Callable[[int], None] | None = None,
) -> tuple[float, float, float]:  # fmt: skip
    """Mean cross-entropy, accuracy and ROC-AUC of ``model`` on ``x`` (eval, no grad)."""
    import torch

    from benchmark.core.metrics import roc_auc

    model.eval()
    loss_sum, correct, n, fake_prob, labels = 0.0, 0, 0, [], []
    with torch.inference_mode():
        for xb, yb in iter_batches(x, y, batch, None, workers, False, worker_init):
            with torch.autocast("cuda", enabled=amp):
                logits = model(prepare(xb)).float()
            target = yb.to(logits.device, non_blocking=True)
            loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
            n += len(yb)
            fake_prob.append(torch.softmax(logits, dim=1)[:, 1].cpu())
            labels.append(yb.cpu())
    with warnings.catch_warnings():  # one class in a tiny holdout: NaN, already explained
        warnings.simplefilter("ignore")
        auc = roc_auc(torch.cat(labels).numpy(), torch.cat(fake_prob).numpy())
    return loss_sum / max(n, 1), correct / max(n, 1), auc


def holdout(x: Any, y: torch.Tensor, seed: int) -> tuple[Any, torch.Tensor, Any, torch.Tensor]:
    import torch
    from torch.utils.data import Subset

    keep, held = stratified_holdout(y.numpy(), 0.1, seed)
    if isinstance(x, torch.Tensor):
        return x[keep], y[keep], x[held], y[held]
    return Subset(x, keep.tolist()), y[keep], Subset(x, held.tolist()), y[held]


def as_labels(x: Any, y: Any) -> torch.Tensor:
    import torch

    if y is not None:
        return torch.as_tensor(np.asarray(y), dtype=torch.long)
    return torch.as_tensor([int(x[i][1]) for i in range(len(x))], dtype=torch.long)


def train_step(
    model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, prepare: Callable, weight: Any,
    scaler: Any, amp: bool, micro: int, accum_steps: int,
) -> tuple[torch.Tensor, float]:  # fmt: skip
    """Forward/backward of one mini-batch in micro-batches of ``micro`` (gradients summed).

    A model that returns a map of logits ``(N, 2, H, W)`` in training mode (a patch classifier)
    trains with each image's label at every position; its accuracy is then the fraction of
    positions right, summed over images."""
    import torch

    loss_sum, correct = torch.zeros((), device=yb.device), 0.0
    for start in range(0, len(yb), micro):
        xm, ym = xb[start : start + micro], yb[start : start + micro]
        with torch.autocast("cuda", enabled=amp):
            logits = model(prepare(xm))
            if logits.ndim > 2:  # dense logits: every position carries its image's label
                ym = ym.view(-1, *(1,) * (logits.ndim - 2)).expand(-1, *logits.shape[2:])
            loss = torch.nn.functional.cross_entropy(logits.float(), ym, weight=weight)
        share = len(ym) / len(yb)
        scaler.scale(loss * share / accum_steps).backward()
        loss_sum += loss.detach() * share
        correct += float((logits.argmax(1) == ym).reshape(len(ym), -1).float().mean(1).sum())
    return loss_sum, correct
