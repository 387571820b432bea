"""The shared training loop and TorchDetector plumbing (tiny tensors, a linear model, seconds)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from benchmark.core.samples import Sample  # noqa: E402
from benchmark.protocol import NotFittedError  # noqa: E402
from detectors.deep import training  # noqa: E402
from detectors.deep.training import (  # noqa: E402
    load_images,
    resolve_device,
    stratified_holdout,
    to_input,
    torch_settings,
    train_model,
)


def _brightness_data(n: int, seed: int, invert: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Label = bright image (fake) vs dark image (real); ``invert`` swaps the labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    base = torch.randint(0, 100, (n, 3, 4, 4), generator=g)
    x = (base + 150 * y.view(-1, 1, 1, 1)).to(torch.uint8)
    return x, (1 - y if invert else y)


def _linear() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 2))


def _val_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        logits = model(to_input(x, "[0,1]", torch.device("cpu")))
        return float(torch.nn.functional.cross_entropy(logits, y))


def test_early_stopping_stops_and_restores_best_epoch(tmp_path):
    # Validation labels are the opposite of training labels: the better the fit, the worse
    # the validation loss, so epoch 1 is best and patience 1 stops at epoch 2.
    train_x, train_y = _brightness_data(32, 0)
    val_x, val_y = _brightness_data(16, 1, invert=True)
    model = _linear()
    result = train_model(model, train_x, train_y, val_x, val_y, epochs=10, lr=0.05,
                         batch_size=8, patience=1, ckpt_dir=tmp_path, seed=0)  # fmt: skip
    assert len(result.history) == 2 and result.stopped_early
    assert result.best_epoch == 1
    losses = [h["val_loss"] for h in result.history]
    assert losses[1] > losses[0]
    assert _val_loss(model, val_x, val_y) == pytest.approx(losses[0], rel=1e-5)
    assert (tmp_path / "best.pt").is_file()
    assert not model.training
    keys = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_auc", "lr", "seconds"}
    assert set(result.history[0]) == keys


def test_runs_all_epochs_while_improving():
    x, y = _brightness_data(32, 0)
    vx, vy = _brightness_data(16, 1)
    result = train_model(_linear(), x, y, vx, vy, epochs=3, lr=0.05, batch_size=8, patience=1)
    assert len(result.history) == 3 and not result.stopped_early
    assert result.best_epoch == 3
    assert result.history[-1]["val_acc"] == 1.0
    assert result.history[-1]["val_auc"] == 1.0


def test_checkpoint_is_reloaded_with_weights_only(monkeypatch):
    calls: list[dict] = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    x, y = _brightness_data(16, 0)
    train_model(_linear(), x, y, x, y, epochs=2, batch_size=8)
    assert calls and all(c.get("weights_only") is True for c in calls)


def test_missing_validation_holds_out_part_of_train():
    x, y = _brightness_data(40, 0)
    result = train_model(_linear(), x, y, None, None, epochs=1, batch_size=8)
    assert np.isfinite(result.history[0]["val_loss"])
    empty = torch.zeros((0, 3, 4, 4), dtype=torch.uint8)
    result = train_model(_linear(), x, y, empty, torch.zeros(0), epochs=1, batch_size=8)
    assert np.isfinite(result.history[0]["val_loss"])


@settings(deadline=None, max_examples=25)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=60), st.integers(0, 3))
def test_stratified_holdout_partitions(labels, seed):
    labels = np.array(labels)
    keep, held = stratified_holdout(labels, 0.1, seed)
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(len(labels)))
    if len(held):
        assert set(labels[held].tolist()) == {0, 1}
        assert set(labels[keep].tolist()) == {0, 1}
    again = stratified_holdout(labels, 0.1, seed)
    assert np.array_equal(held, again[1])


def test_same_seed_same_weights():
    x, y = _brightness_data(24, 0)
    nets = []
    for _ in range(2):
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 8), torch.nn.Dropout(0.5),
                                  torch.nn.Linear(8, 2))  # fmt: skip
        torch.manual_seed(0)
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.1)
        train_model(net, x, y, x, y, epochs=2, batch_size=8, seed=7)
        nets.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert torch.equal(nets[0], nets[1])


def test_load_images_resizes_mixed_shapes_to_uint8_squares():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((20, 30, 3), (16, 16, 3))]
    samples = [Sample(f"s{i}", 0, None, {}, img) for i, img in enumerate(images * 2)]
    x = load_images(samples, 16)
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.uint8
    assert np.array_equal(x[1].permute(1, 2, 0).numpy(), images[1])  # same size: untouched
    assert torch.equal(x[0], x[2])


def test_to_input_normalisations():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    cpu = torch.device("cpu")
    assert torch.all(to_input(x, "[0,1]", cpu) == 1.0)
    expected = (1 - 0.485) / 0.229
    assert float(to_input(x, "imagenet", cpu)[0, 0, 0, 0]) == pytest.approx(expected)
    assert torch.all(to_input(x, "[-1,1]", cpu) == 1.0)
    with pytest.raises(ValueError, match="normalisation"):
        to_input(x, "zscore", cpu)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            resolve_device("cuda")


def test_torch_settings_restores_threads_and_global_rng():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch_settings(torch.device("cpu"), seed=0, num_threads=1):
        assert torch.get_num_threads() == 1
        torch.rand(10)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)


class _Tiny(training.TorchDetector):
    normalisation = "[0,1]"

    def _build_model(self) -> torch.nn.Module:
        s = self.input_size
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * s * s, 2))


def test_torch_detector_errors(tiny_dataset):
    det = _Tiny(input_size=8, epochs=1, device="cpu", train_aug="mixup")
    with pytest.raises(NotFittedError):
        det.torch_module()
    det.meta = type("M", (), {"name": "tiny"})()
    with pytest.raises(ValueError, match="train_aug"):
        det._fit(tiny_dataset.train, tiny_dataset.val)
    det.set_params(train_aug="none")
    det._fit(tiny_dataset.train, None)
    assert det.best_epoch_ == 1 and det.input_size_ == 8
    assert det.n_parameters() == 3 * 8 * 8 * 2 + 2
    with pytest.raises(FileNotFoundError, match="model.pt"):
        det._load_fitted(tiny_dataset.train[0].path.parent)


# -- the one loop: resume, log, class weights, plateau, accumulation, OOM, streaming ----------
def test_resume_continues_after_the_last_finished_epoch(tmp_path):
    x, y = _brightness_data(32, 0)
    vx, vy = _brightness_data(16, 1)
    kw = {"lr": 0.05, "batch_size": 8, "patience": None, "ckpt_dir": tmp_path, "seed": 0}
    full = train_model(_linear(), x, y, vx, vy, epochs=4, ckpt_dir=tmp_path / "full",
                       **{k: v for k, v in kw.items() if k != "ckpt_dir"})  # fmt: skip
    train_model(_linear(), x, y, vx, vy, epochs=2, **kw)  # "interrupted" after epoch 2
    model = _linear()
    resumed = train_model(model, x, y, vx, vy, epochs=4, **kw)
    assert resumed.resumed_from == 3
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(resumed.history, full.history, strict=True):  # same as never interrupted
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    lines = (tmp_path / "epochs.csv").read_text().splitlines()
    assert lines[0].split(",") == list(training.LOG_FIELDS) and len(lines) == 5
    calls: list[dict] = []
    real = torch.load
    try:
        torch.load = lambda *a, **k: calls.append(k) or real(*a, **k)
        train_model(_linear(), x, y, vx, vy, epochs=4, **kw)
    finally:
        torch.load = real
    assert calls and all(c.get("weights_only") is True for c in calls)


def test_plateau_lowers_lr_and_class_weights_change_the_loss():
    x, y = _brightness_data(32, 0)
    vx, vy = _brightness_data(16, 1, invert=True)  # val loss rises: the plateau kicks in
    r = train_model(_linear(), x, y, vx, vy, epochs=3, lr=0.05, batch_size=8, patience=None,
                    scheduler="plateau", plateau_patience=0)  # fmt: skip
    assert r.history[0]["lr"] == 0.05 and r.history[-1]["lr"] < 0.05
    a = train_model(_linear(), x, y, vx, vy, epochs=1, lr=0.05, batch_size=8)
    b = train_model(_linear(), x, y, vx, vy, epochs=1, lr=0.05, batch_size=8,
                    class_weights=(1.0, 5.0))  # fmt: skip
    assert a.history[0]["train_loss"] != pytest.approx(b.history[0]["train_loss"])
    with pytest.raises(ValueError, match="scheduler"):
        train_model(_linear(), x, y, vx, vy, epochs=1, scheduler="cosine")


def test_accumulation_takes_fewer_optimizer_steps(monkeypatch):
    x, y = _brightness_data(32, 0)
    steps: list[int] = []
    real = torch.optim.Adam.step
    monkeypatch.setattr(
        torch.optim.Adam, "step", lambda self, *a, **k: steps.append(1) or real(self, *a, **k)
    )
    train_model(_linear(), x, y, epochs=1, batch_size=4, accum_steps=1, scheduler="none")
    plain = len(steps)
    steps.clear()
    train_model(_linear(), x, y, epochs=1, batch_size=4, accum_steps=2, scheduler="none")
    assert len(steps) == (plain + 1) // 2


class _OOMAbove(torch.nn.Module):
    """Raises CUDA's out-of-memory error on batches larger than ``limit`` (a fake OOM)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.inner = limit, _linear()

    def forward(self, x):
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner(x)


def test_out_of_memory_halves_the_micro_batch_and_keeps_training():
    x, y = _brightness_data(32, 0)
    vx, vy = _brightness_data(16, 1)
    r = train_model(_OOMAbove(4), x, y, vx, vy, epochs=2, lr=0.05, batch_size=16)
    assert r.micro_batch == 4 and r.oom_halvings == 2
    plain = train_model(_linear(), x, y, vx, vy, epochs=2, lr=0.05, batch_size=16)
    for a, b in zip(r.history, plain.history, strict=True):  # same effective batch, same fit
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    bad = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(7, 2))  # a real shape error
    with pytest.raises(RuntimeError, match="shape"):  # is re-raised, not taken for an OOM
        train_model(bad, x, y, vx, vy, epochs=1)


def test_cuda_speedups_only_on_cuda():
    assert not any(training.cuda_speedups(torch.device("cpu")).values())
    assert all(training.cuda_speedups(torch.device("cuda")).values())


def test_streams_from_disk_above_the_memory_cap(tiny_dataset, monkeypatch):
    loaded: list[int] = []
    real = training.load_images
    monkeypatch.setattr(training, "load_images", lambda s, n: loaded.append(len(s)) or real(s, n))
    det = _Tiny(input_size=8, epochs=1, device="cpu", memory_cap_gb=1e-6, num_workers=0)
    det.meta = type("M", (), {"name": "tiny"})()
    det._fit(tiny_dataset.train, tiny_dataset.val)
    assert det.streamed_ is True and loaded == []  # nothing preloaded: 24·3·8·8 B > 1 kB cap
    det2 = _Tiny(input_size=8, epochs=1, device="cpu")
    det2.meta = det.meta
    det2._fit(tiny_dataset.train, tiny_dataset.val)
    assert det2.streamed_ is False and loaded == [24, 8]
    assert training.needs_streaming(140_000, 224, 2.0)  # the 21 GB face set of the issue
    assert not training.needs_streaming(720, 128, 2.0)


def test_max_train_images_subsamples_stratified(tiny_dataset):
    det = _Tiny(input_size=8, max_train_images=10, seed=3)
    sub = det._train_subset(tiny_dataset.train)
    assert len(sub) == 10 and sorted(s.label for s in sub) == [0] * 5 + [1] * 5
