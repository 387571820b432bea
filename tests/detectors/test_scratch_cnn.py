"""Congiu et al. 2025's custom CNN: its Table 1 architecture, fit/predict, determinism, saving."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmark.plugins import create_detector, detector_meta, load_detector  # noqa: E402
from detectors.deep.scratch_cnn import ScratchCNN, build_scratch_cnn  # noqa: E402

nn = torch.nn
TINY = {"input_size": 32, "epochs": 2, "batch_size": 8, "device": "cpu"}


def table1_parameter_count(side: int) -> int:
    """Parameters of Congiu et al. 2025, Table 1, for a ``side`` input, from its layer list."""
    convs = [(3, 32), (32, 64), (64, 128)]
    conv = sum(9 * c_in * c_out + c_out for c_in, c_out in convs)
    bn = sum(2 * c_out for _, c_out in convs)  # weight + bias (running stats are buffers)
    fc1 = 128 * (side // 8) ** 2 * 512 + 512
    fc2 = 512 * 2 + 2
    return conv + bn + fc1 + fc2


def test_architecture_matches_table1():
    net = build_scratch_cnn(32)
    layers = list(net.named_children())
    kinds = [type(m).__name__ for _, m in layers]
    block = ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert kinds == block * 3 + ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 32), (32, 64), (64, 128)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert all(p.kernel_size == 2 and p.stride == 2 for p in pools)
    assert [m.num_features for m in net.modules() if isinstance(m, nn.BatchNorm2d)] == [32, 64, 128]
    fc1, fc2 = (m for m in net.modules() if isinstance(m, nn.Linear))
    assert (fc1.in_features, fc1.out_features) == (128 * 4 * 4, 512)
    assert (fc2.in_features, fc2.out_features) == (512, 2)
    assert net.dropout.p == 0.5
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 2)
    assert {"conv1.weight", "bn3.running_mean", "fc1.weight", "fc2.bias"} <= set(net.state_dict())


def test_parameter_count_at_paper_input_224():
    with torch.device("meta"):  # shapes only: no 200 MB allocation
        net = build_scratch_cnn(224)
    assert net.fc1.in_features == 100_352  # Table 1: flatten (1, 100352)
    n = sum(p.numel() for p in net.parameters())
    assert n == table1_parameter_count(224) == 51_475_458


def test_registry_metadata_matches_defaults():
    meta = detector_meta("scratch_cnn")
    det = create_detector("scratch_cnn")
    assert meta.family == "deep" and "Table 1" in meta.paper
    assert meta.input_size == det.input_size == 128
    assert meta.normalisation == ScratchCNN.normalisation == "[0,1]"
    assert det.get_params()["lr"] == 1e-4 and det.get_params()["batch_size"] == 32
    assert det.n_parameters() == table1_parameter_count(128)
    with pytest.raises(ValueError, match="input_size"):
        build_scratch_cnn(4)


def test_search_space_is_the_learning_rate():
    from benchmark.engine.tuning import search_space

    assert search_space(create_detector("scratch_cnn")) == {"lr": (3e-5, 1e-4, 3e-4)}


@pytest.fixture(scope="module")
def fitted(tiny_dataset):
    return create_detector("scratch_cnn", **TINY).fit(tiny_dataset.train, tiny_dataset.val)


def test_fit_predict_contract(fitted, tiny_dataset):
    proba = fitted.predict_proba(tiny_dataset.test)
    assert proba.shape == (len(tiny_dataset.test), 2)
    assert np.all((proba >= 0) & (proba <= 1)) and np.allclose(proba.sum(1), 1)
    assert 1 <= fitted.best_epoch_ <= len(fitted.history_) <= TINY["epochs"]
    assert fitted.train_seconds_ > 0 and fitted.input_size_ == 32
    module = fitted.torch_module()
    assert not module.training
    assert fitted.n_parameters() == table1_parameter_count(32)
    # raw arrays of another size are resized to the input size
    arrays = np.random.default_rng(0).integers(0, 256, (3, 48, 40, 3), dtype=np.uint8)
    assert fitted.predict_proba(arrays).shape == (3, 2)


def test_same_seed_same_predictions(fitted, tiny_dataset):
    again = create_detector("scratch_cnn", **TINY).fit(tiny_dataset.train, tiny_dataset.val)
    a, b = fitted.predict_proba(tiny_dataset.test), again.predict_proba(tiny_dataset.test)
    assert np.array_equal(a, b)
    losses = [[h["train_loss"], h["val_loss"]] for h in fitted.history_]
    assert losses == [[h["train_loss"], h["val_loss"]] for h in again.history_]


def test_save_load_round_trip(fitted, tiny_dataset, tmp_path, monkeypatch):
    fitted.save(tmp_path / "det")
    assert (tmp_path / "det" / "model.pt").is_file()
    assert not (tmp_path / "det" / "fitted.joblib").exists()
    calls: list[dict] = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load_detector(tmp_path / "det")
    assert calls and all(c.get("weights_only") is True for c in calls)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.best_epoch_ == fitted.best_epoch_ and loaded.history_ == fitted.history_
    expected = fitted.predict_proba(tiny_dataset.test)
    assert np.array_equal(loaded.predict_proba(tiny_dataset.test), expected)


def test_cnndetection_training_augmentation_runs(tiny_dataset):
    pytest.importorskip("benchmark.conditions.corruptions")
    det = create_detector("scratch_cnn", **TINY | {"epochs": 1, "train_aug": "cnndetection"})
    det.fit(tiny_dataset.train, tiny_dataset.val)
    assert det.predict_proba(tiny_dataset.test).shape == (len(tiny_dataset.test), 2)
