"""The connected-machine path, proven offline: every torchvision and timm backbone loads a
checkpoint with the real key names and shapes from the exact file ``weights list`` names
(torch hub or Hugging Face cache layout), strictly, and records ``pretrained = yes``; and
``weights fetch`` puts the file there when its download call (replaced: no network) works.

The checkpoints are the architectures' own ``state_dict()`` (every key and shape of the
published file; values random) with one sentinel value, so a test can tell that the file on
disk is what was loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from benchmark.cli.weights import weight_sources  # noqa: E402
from benchmark.plugins import create_detector  # noqa: E402
from benchmark.toolkit.weights import locate  # noqa: E402

SENTINEL = 0.625
#: One detector per weights file (light/midway Xception read xception's file; retrieval rows
#: read ResNet-18's): the test builds each full-size network, so each file is written once.
ONE_PER_FILE = sorted({ident: name for name, kind, ident in weight_sources()
                       if kind in ("torchvision", "timm")}.values())  # fmt: skip


@pytest.fixture()
def caches(tmp_path, monkeypatch) -> Path:
    """Empty torch hub and Hugging Face caches (``TORCH_HOME``, ``HF_HUB_CACHE``)."""
    import huggingface_hub.constants as hf

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def _published_state(kind: str, ident: str) -> dict:
    """The architecture's own state dict under the file's key names, with a sentinel."""
    if kind == "torchvision":
        import torchvision.models as tvm

        builder = tvm.get_model_builder(tvm.get_weight(ident).__class__.__name__
                                        .removesuffix("_Weights").lower())  # fmt: skip
        state = builder(weights=None).state_dict()
    else:
        import timm

        state = timm.create_model(ident.split(".")[0], pretrained=False).state_dict()
    first = next(k for k, v in state.items() if v.is_floating_point() and v.ndim == 4)
    state[first] = torch.full_like(state[first], SENTINEL)
    return state


def _write_where_listed(kind: str, ident: str, state: dict) -> Path:
    """Save ``state`` at the path ``weights list`` names, in that cache's own layout."""
    where = locate(kind, ident)
    if where["path"].startswith("Hugging Face cache"):  # hub layout: refs/main → snapshot
        import huggingface_hub.constants as hf
        from safetensors.torch import save_file

        repo = where["url"].removeprefix("hf://")
        root = Path(hf.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
        (root / "refs").mkdir(parents=True)
        (root / "refs" / "main").write_text("0" * 40)
        path = root / "snapshots" / ("0" * 40) / "model.safetensors"
        path.parent.mkdir(parents=True)
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
        return path
    path = Path(where["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def _built(name: str):
    """``name`` built as a run builds it before fitting: its network with the weights read."""
    det = create_detector(name, device="cpu")
    if hasattr(det, "_build_net"):  # the ResNet retrieval rows
        net, det.weights_source_ = det._build_net()
        det.pretrained_ = det.weights_source_ != "random-init"
        return det, net
    return det, det._build_model()


def _has_sentinel(
    net,
) -> bool:
    return any(bool(torch.all(p == SENTINEL)) for p in net.state_dict().values()
               if p.is_floating_point() and p.ndim == 4)  # fmt: skip


@pytest.mark.parametrize("name", ONE_PER_FILE)
def test_listed_file_loads_strictly_and_is_pretrained(name, caches):
    [(kind, ident)] = [(k, i) for n, k, i in weight_sources(name) if n == name]
    assert locate(kind, ident)["cached"] is False
    path = _write_where_listed(kind, ident, _published_state(kind, ident))
    assert locate(kind, ident)["cached"] is True and Path(locate(kind, ident)["path"]) == path
    det, net = _built(name)  # build_backbone's load_state_dict is strict: no missing/extra key
    assert det.pretrained_ is True and Path(det.weights_source_) == path
    assert _has_sentinel(net)


def test_a_checkpoint_with_a_missing_key_is_refused(caches):
    state = _published_state("torchvision", "ResNet18_Weights.IMAGENET1K_V1")
    del state["layer4.1.bn2.running_mean"]
    _write_where_listed("torchvision", "ResNet18_Weights.IMAGENET1K_V1", state)
    with pytest.raises(RuntimeError, match="Missing key"):
        _built("resnet18")


def test_fetch_puts_the_file_where_run_reads_it(caches, monkeypatch, capsys):
    """``weights fetch`` with torchvision's download replaced by one that writes the file."""
    import torchvision.models._api as tv_api

    from benchmark.cli import main

    ident = "ResNet18_Weights.IMAGENET1K_V1"

    def download(self, *a, **k):  # what torch.hub does on a connected machine
        state = _published_state("torchvision", ident)
        _write_where_listed("torchvision", ident, state)
        return state

    monkeypatch.setattr(tv_api.WeightsEnum, "get_state_dict", download)
    assert main(["weights", "fetch", "resnet18"]) == 0
    assert "resnet18-f37072fd.pth" in capsys.readouterr().out
    det, net = _built("resnet18")
    assert det.pretrained_ is True and _has_sentinel(net)


def test_fetch_of_a_timm_model_writes_the_torch_hub_file(caches, monkeypatch, capsys):
    """timm weights hosted at a URL (Xception's) go through ``torch.hub.download_url_to_file``."""
    from benchmark.cli import main

    [(kind, ident)] = [(k, i) for n, k, i in weight_sources("xception") if n == "xception"]
    calls = []

    def download(url, dst, *a, **k):
        calls.append(url)
        torch.save(_published_state(kind, ident), dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    assert main(["weights", "fetch", "xception"]) == 0
    assert calls == [locate(kind, ident)["url"]]
    det, _ = _built("xception")
    assert det.pretrained_ is True
