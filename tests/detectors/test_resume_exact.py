"""An interrupted fit, resumed from ``last.pt``, ends bit for bit where the uninterrupted fit ends.

Each case trains a tiny CNN (dropout, BatchNorm; 16 px images) for 4 epochs in a fresh
``torch_settings`` block, as ``TorchDetector._fit`` does; the "killed" run raises from the
progress listener right after epoch ``k``'s ``last.pt`` is written, and a new run (new model,
new seeded block: what a second process does) resumes it. Weights, history and scores must be
equal, not close.
"""

from __future__ import annotations

import functools
import logging
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmark.core import events  # noqa: E402
from detectors.deep.loop import torch_settings, train_model  # noqa: E402
from detectors.deep.minibatch import iter_batches  # noqa: E402
from detectors.deep.preprocess import cnndetection_batch, to_input  # noqa: E402
from detectors.deep.streaming import TRAIN_STREAM, seed_worker  # noqa: E402

CPU = torch.device("cpu")


class _Killed(Exception):
    """Stands in for SIGTERM: raised once epoch ``k`` is finished and checkpointed."""


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 120, (n, 3, 16, 16), generator=g) + 100 * y.view(-1, 1, 1, 1)
    x[:, :, :, :4] += 30 * y.view(-1, 1, 1, 1)  # left-edge cue: flips change what is learned
    return x.clamp(0, 255).to(torch.uint8), y


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Dropout(0.3),
        torch.nn.Linear(16, 2),
    )  # fmt: skip


def _noise(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """An augmentation drawing from the loop's numpy Generator."""
    noise = torch.from_numpy(rng.integers(0, 40, size=tuple(x.shape), dtype=np.int64))
    return (x.long() + noise).clamp(0, 255).to(torch.uint8)


class _Noisy:
    """A streamed dataset whose items draw from torch's and numpy's global RNGs (in workers)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        jitter = int(torch.randint(0, 20, ())) + int(np.random.randint(0, 20))
        return (self.x[i].long() + jitter).clamp(0, 255).to(torch.uint8), int(self.y[i])


class _OOMAbove(torch.nn.Module):
    """Raises CUDA's out-of-memory error on batches larger than ``limit`` (a fake OOM)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.inner = limit, _net()

    def forward(self, x):
        if len(x) > self.limit and self.training:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


def _fit(folder, kill_after: int | None = None, model=_net, streamed: bool = False, **kw):
    """One fit in its own seeded block; ``kill_after``: abort once that epoch is saved."""
    x, y = _data(40, 0)
    vx, vy = _data(16, 1)
    if streamed:
        x, vx = _Noisy(x, y), _Noisy(vx, vy)

    def listener(message: str) -> None:
        if kill_after is not None and f"epoch {kill_after}/" in message:
            raise _Killed(message)

    args = {"epochs": 4, "lr": 0.05, "batch_size": 8, "patience": None, "seed": 3,
            "scheduler": "none", **kw}  # fmt: skip
    with torch_settings(CPU, 11, 1), events.listen(listener):
        net = model()
        result = train_model(net, x, y, vx, vy, ckpt_dir=folder, **args)
        with torch.no_grad():
            scores = torch.softmax(net(to_input(_data(16, 2)[0], "[0,1]", CPU)), 1).numpy()
    return net, result, scores


def _assert_same(a, b) -> None:
    (net_a, res_a, scores_a), (net_b, res_b, scores_b) = a, b
    sd_a, sd_b = net_a.state_dict(), net_b.state_dict()
    assert sd_a.keys() == sd_b.keys()
    for key in sd_a:
        assert torch.equal(sd_a[key], sd_b[key]), key
    drop = ("seconds",)
    hist_a = [{k: v for k, v in h.items() if k not in drop} for h in res_a.history]
    hist_b = [{k: v for k, v in h.items() if k not in drop} for h in res_b.history]
    assert hist_a == hist_b
    assert np.array_equal(scores_a, scores_b)
    assert (res_a.best_epoch, res_a.micro_batch, res_a.oom_halvings) == (
        res_b.best_epoch, res_b.micro_batch, res_b.oom_halvings
    )  # fmt: skip


CASES = {
    "k1-flip": (1, {"hflip": True}),
    "k2-flip-numpy-aug-plateau": (
        2,
        {"hflip": True, "augment": _noise, "scheduler": "plateau", "plateau_patience": 0},
    ),  # fmt: skip
    "k3-cnndetection-patience": (
        3,
        {"hflip": False, "augment": cnndetection_batch, "patience": 3},
    ),  # fmt: skip
    "k2-oom-halving": (2, {"model": lambda: _OOMAbove(4)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resumed_fit_equals_uninterrupted_fit(tmp_path, case):
    k, kw = CASES[case]
    full = _fit(tmp_path / "full", **kw)
    with pytest.raises(_Killed):
        _fit(tmp_path / "cut", kill_after=k, **kw)
    resumed = _fit(tmp_path / "cut", **kw)
    assert resumed[1].resumed_from == k + 1
    assert [h["epoch"] for h in resumed[1].history] == [1, 2, 3, 4]
    _assert_same(full, resumed)
    lines = (tmp_path / "cut" / "epochs.csv").read_text().splitlines()
    assert len(lines) == 5


@pytest.mark.parametrize("workers", [0, 1])
def test_streamed_resume_is_exact_with_workers(tmp_path, workers):
    kw = {"streamed": True, "num_workers": workers, "epochs": 3}
    full = _fit(tmp_path / "full", **kw)
    with pytest.raises(_Killed):
        _fit(tmp_path / "cut", kill_after=1, **kw)
    resumed = _fit(tmp_path / "cut", **kw)
    assert resumed[1].resumed_from == 2
    _assert_same(full, resumed)


def _killed(tmp_path, kill_after: int):
    """An uninterrupted fit, and the ``last.pt`` of the same fit killed after ``kill_after``."""
    full = _fit(tmp_path / "full")
    with pytest.raises(_Killed):
        _fit(tmp_path / "cut", kill_after=kill_after)
    return full, tmp_path / "cut" / "last.pt"


def test_old_format_checkpoint_restarts_from_scratch(tmp_path, caplog):
    full, last = _killed(tmp_path, 2)
    new = torch.load(last, weights_only=True)
    old = {k: new[k] for k in ("epoch", "model", "optimizer", "scheduler", "best_loss",
                               "bad_epochs", "best_epoch", "history")}  # fmt: skip
    old["gen"] = new["rng"]["gen"]  # the layout before every random state was saved
    torch.save(old, last)
    with caplog.at_level(logging.WARNING):
        again = _fit(tmp_path / "cut")
    assert again[1].resumed_from == 0
    assert "last.pt" in caplog.text and "format" in caplog.text
    _assert_same(full, again)


def test_corrupt_checkpoint_is_named_and_the_fit_restarts(tmp_path, caplog):
    full, last = _killed(tmp_path, 1)
    last.write_bytes(last.read_bytes()[:100])  # truncated
    with caplog.at_level(logging.WARNING):
        again = _fit(tmp_path / "cut")
    assert again[1].resumed_from == 0
    assert str(last) in caplog.text
    _assert_same(full, again)


class _Probe:
    """Items are the draws a worker makes from torch's, numpy's and Python's generators."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        draws = [int(torch.randint(0, 2**30, ())), int(np.random.randint(0, 2**30)),
                 random.randrange(2**30)]  # fmt: skip
        return torch.tensor(draws), 0


def test_worker_seeds_depend_on_seed_epoch_and_worker_only():
    def draws(epoch: int, parent_seed: int) -> torch.Tensor:
        np.random.seed(parent_seed)  # forked workers inherit this; the seeding must override it
        random.seed(parent_seed)
        init = functools.partial(seed_worker, seed=3, epoch=epoch, stream=TRAIN_STREAM)
        gen = torch.Generator().manual_seed(parent_seed)  # the DataLoader's own base seed
        return torch.cat([xb for xb, _ in iter_batches(_Probe(), None, 2, gen, 1, False, init)])

    state = np.random.get_state(), random.getstate()
    try:
        first = draws(1, 0)
        assert torch.equal(first, draws(1, 99))
        assert not torch.equal(first, draws(2, 0))
        assert len(set(first[:, 1].tolist())) == 4  # a fresh draw per item, not one per epoch
    finally:
        np.random.set_state(state[0])
        random.setstate(state[1])
