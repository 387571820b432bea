"""The files a training run leaves in its folder: ``best.pt``, ``last.pt``, ``epochs.csv``.

``train_model`` (``detectors.deep.loop``) saves the best epoch's ``state_dict`` in ``best.pt``,
and after every epoch the whole state (model, optimizer, scheduler, shuffling generator, early
stopping counters, history) in ``last.pt``: ``resume_state`` loads it back, with
``torch.load(..., weights_only=True)``, so an interrupted fit resumes from the next epoch; a
stale or truncated file is removed and the fit starts afresh. ``epochs.csv`` is the per-epoch
log (``LOG_FIELDS``), appended row by row and also written beside each saved detector.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

LOG_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_auc", "lr", "seconds")


def resume_state(
    last: Path, model: nn.Module, optimizer: Any, sched: Any, dev: torch.device
) -> dict[str, Any] | None:
    """Load ``last.pt`` into model/optimizer/scheduler; ``None`` (start afresh) if unusable."""
    import torch

    if not last.is_file():
        return None
    try:
        state = torch.load(last, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler"):
            sched.load_state_dict(state["scheduler"])
        return state
    except Exception as exc:  # noqa: BLE001 - a stale or truncated checkpoint: train afresh
        log.warning(
            "%s: cannot resume (%s: %s); training from the start", last, type(exc).__name__, exc
        )
        last.unlink(missing_ok=True)
        return None


def write_history_csv(history: list[dict[str, float]], path: Path) -> None:
    """Write a training history (``TrainResult.history``) as the per-epoch CSV log."""
    path.unlink(missing_ok=True)
    for row in history:
        append_csv(path, row)


def append_csv(path: Path, row: dict[str, float]) -> None:
    """Append one epoch's row to the CSV log at ``path`` (its header first, when new)."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})
