"""The files a training run leaves in its folder: ``best.pt``, ``last.pt``, ``epochs.csv``.

``train_model`` (``detectors.deep.loop``) saves the best epoch's ``state_dict`` in ``best.pt``,
and after every epoch, atomically, everything the rest of the fit depends on in ``last.pt``:
model, optimizer, scheduler and ``GradScaler`` states, every random state the loop draws from
(torch's CPU generator, the training device's CUDA generator, the shuffling
``torch.Generator``, the augmentation's numpy ``Generator``, numpy's and Python's global
generators), the early-stopping bookkeeping, the history and the micro-batch size left by
out-of-memory halvings. ``resume_state`` loads it back (``torch.load(..., weights_only=True)``,
strict ``load_state_dict``), so a resumed fit continues bit for bit where the interrupted one
stopped. A ``last.pt`` that cannot give that (unreadable, an older format without the random
states, another run's settings, another model) is reported by name and removed, and the fit
starts from scratch: a restart reproduces the uninterrupted fit, an inexact resume would not.
``epochs.csv`` is the per-epoch log (``LOG_FIELDS``), appended row by row, rewritten from the
checkpoint's history on resume and also written beside each saved detector.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import logging
import os
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

LOG_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_auc", "lr", "seconds")
#: Version of ``last.pt``'s layout; a file without it (or with another) is not resumed.
FORMAT = 2
#: What ``last.pt`` holds beside ``TrainingObjects.state_dict()``.
BOOKKEEPING = ("epoch", "run", "best_loss", "bad_epochs", "best_epoch", "history",
               "micro_batch", "oom_halvings")  # fmt: skip
RNG_KEYS = ("torch", "gen", "numpy", "np_global", "python")


@dataclass
class TrainingObjects:
    """The stateful objects of one fit, saved to and restored from ``last.pt`` together."""

    model: nn.Module
    optimizer: Any
    sched: Any
    scaler: Any
    gen: torch.Generator
    rng: np.random.Generator
    dev: torch.device

    def state_dict(self) -> dict[str, Any]:
        """Their states, as tensors and plain Python values (``weights_only``-loadable)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.sched.state_dict() if self.sched is not None else {},
            "scaler": self.scaler.state_dict(),
            "rng": rng_states(self.gen, self.rng, self.dev),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set every object back to ``state`` (strict: a missing or extra part raises)."""
        if (self.sched is None) != (not state["scheduler"]):
            raise ValueError("saved with a different scheduler setting")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        set_rng_states(state["rng"], self.gen, self.rng, self.dev)


def rng_states(gen: torch.Generator, rng: np.random.Generator, dev: torch.device) -> dict:
    """Every random state a fit draws from (numpy arrays as lists: ``weights_only`` loads it)."""
    import torch

    glob = np.random.get_state(legacy=False)
    glob["state"]["key"] = glob["state"]["key"].tolist()
    version, internal, gauss = random.getstate()
    states = {
        "torch": torch.get_rng_state(), "gen": gen.get_state(),
        "numpy": copy.deepcopy(rng.bit_generator.state), "np_global": glob,
        "python": [version, list(internal), gauss],
    }  # fmt: skip
    if dev.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(dev)
    return states


def set_rng_states(
    states: dict, gen: torch.Generator, rng: np.random.Generator, dev: torch.device
) -> None:
    """Restore what ``rng_states`` captured."""
    import torch

    missing = [k for k in (*RNG_KEYS, *(["cuda"] if dev.type == "cuda" else [])) if k not in states]
    if missing:
        raise KeyError(f"random states missing: {missing}")
    glob = copy.deepcopy(states["np_global"])
    glob["state"]["key"] = np.asarray(glob["state"]["key"], dtype=np.uint32)
    version, internal, gauss = states["python"]
    torch.set_rng_state(states["torch"].cpu())
    gen.set_state(states["gen"].cpu())
    rng.bit_generator.state = states["numpy"]
    np.random.set_state(glob)
    random.setstate((version, tuple(internal), gauss))
    if dev.type == "cuda":
        torch.cuda.set_rng_state(states["cuda"].cpu(), dev)


@contextlib.contextmanager
def host_rngs(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global generators for a fit; give the caller's back after.

    Nothing in the loop draws from them, but a dataset or augmentation may: seeded here and
    saved in ``last.pt``, such draws are reproducible and resumable too.
    """
    saved_np, saved_py = np.random.get_state(), random.getstate()
    for_numpy, for_python = np.random.SeedSequence([int(seed), 1]).spawn(2)
    np.random.seed(for_numpy.generate_state(4))
    random.seed(int(for_python.generate_state(1, np.uint64)[0]))
    try:
        yield
    finally:
        np.random.set_state(saved_np)
        random.setstate(saved_py)


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then ``os.replace`` it into place."""
    import torch

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_last(path: Path, objects: TrainingObjects, bookkeeping: dict[str, Any]) -> None:
    """Write ``last.pt``: the objects' states, the bookkeeping (``BOOKKEEPING``), the format."""
    missing = set(BOOKKEEPING) - set(bookkeeping)
    if missing:
        raise KeyError(f"last.pt bookkeeping is missing {sorted(missing)}")
    save_atomic({"format": FORMAT, **objects.state_dict(), **bookkeeping}, path)


def resume_state(last: Path, objects: TrainingObjects, run: dict[str, Any]) -> dict | None:
    """Load ``last.pt`` into ``objects`` and return it; ``None`` (train from scratch) if unusable.

    ``run`` holds the settings the fit's trajectory depends on (seed, batch size...); a file
    saved under others is not resumed. On any failure the objects are left as they were.
    """
    import torch

    if not last.is_file():
        return None
    try:
        state = torch.load(last, map_location="cpu", weights_only=True)  # RNG states stay on CPU
    except Exception as exc:  # noqa: BLE001 - truncated or not a checkpoint at all
        first_line = (str(exc).splitlines() or [""])[0][:160]
        return _restart(last, f"unreadable or corrupt ({type(exc).__name__}: {first_line})")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format", "none") if isinstance(state, dict) else type(state).__name__
        why = f"format {found}, not {FORMAT}: an older checkpoint format cannot resume exactly"
        return _restart(last, why)
    parts = {"model", "optimizer", "scheduler", "scaler", "rng", *BOOKKEEPING}
    missing = sorted(parts - set(state))
    if missing:
        return _restart(last, f"incomplete checkpoint format (missing {missing})")
    if state["run"] != run:
        return _restart(last, f"saved by a run with other settings ({state['run']} != {run})")
    before = copy.deepcopy(objects.state_dict())
    try:
        objects.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - another model, optimizer or scheduler
        objects.load_state_dict(before)
        why = f"does not match this model, optimizer or scheduler ({type(exc).__name__}: {exc})"
        return _restart(last, why)
    return state


def _restart(last: Path, why: str) -> None:
    log.warning("%s: cannot resume: %s; training from the start", last, why)
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
