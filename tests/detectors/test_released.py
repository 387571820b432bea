"""Released checkpoints: each built in its published format, loaded strictly through the zoo.

For every spec the file is written as its source writes it (CNNDetection's ``{'model': ...}``
wrapper, NPR's plain state dict, UnivFD's ``fc`` alone, DeepfakeBench's ``backbone.`` and
``module.backbone.`` keys with 2-logit heads), pinned, loaded strictly into a fresh network
and scored like the network it came from. Where the key names are DeepfakeBench's, they are
checked against an independent source (the names in its code, the ``efficientnet_pytorch`` and
torchvision layouts it wraps), so a builder with a wrong name fails here.
"""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from detectors.released.loading import CheckpointError, load_into, pin_path, sha256_of  # noqa: E402
from detectors.released.specs import SPECS, get_spec  # noqa: E402

#: DeepfakeBench's Meso-4 parameter names (``training/networks/mesonet.py``): shared BNs.
BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
MESO4_KEYS = {"conv1.weight", "conv2.weight", "conv3.weight", "conv4.weight", "fc1.weight",
              "fc1.bias", "fc2.weight", "fc2.bias"} | {f"{b}.{k}" for b in ("bn1", "bn2")
                                                        for k in BN}  # fmt: skip
MESO_INCEPTION_KEYS = {
    f"Incption{n}_{c}.weight" for n in (1, 2)
    for c in ("conv1", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv4_1", "conv4_2")
} | {f"Incption{n}_bn.{k}" for n in (1, 2) for k in BN} | {f"bn1.{k}" for k in BN} | {
    "conv1.weight", "conv2.weight", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}  # fmt: skip


class _Payload:
    """Unpickling this runs code (``print``): a weights-only load must refuse it."""

    def __reduce__(self):
        return (print, ("code ran",))


def _pin(path):
    pin_path(path).write_text(sha256_of(path))


def _scores(model, x):
    with torch.no_grad():
        return model.eval()(x)


def _dfb(state, dataparallel):
    """A DeepfakeBench detector's state dict: its network under ``backbone.``."""
    prefix = "module.backbone." if dataparallel else "backbone."
    return {prefix + k: v for k, v in state.items()}


def _published(name, state):
    """``state`` (the network's own) as the release's file holds it."""
    if name.startswith("cnndetection"):  # CNNDetection's trainer saves a wrapper dict
        return {"model": state, "total_steps": 100}
    if name == "univfd":
        return {k.removeprefix("fc."): v for k, v in state.items() if k.startswith("fc.")}
    if name == "npr_released":
        return dict(state)  # NPR.pth: the plain state dict (its test.py loads it as is)
    if name in ("dfb_xception", "dfb_core"):  # Cadene's head name, an unused adjust_channel
        state = {k.replace("fc.", "last_linear.", 1) if k.startswith("fc.") else k: v
                 for k, v in state.items()}  # fmt: skip
        state["adjust_channel.0.weight"] = torch.zeros(512, 2048, 1, 1)
    return _dfb(state, dataparallel=name in ("dfb_core", "dfb_meso4incep", "dfb_effnb4"))


@pytest.fixture()
def tiny_clip(monkeypatch):
    pytest.importorskip("open_clip")
    from detectors.released.specs import UnivFD

    monkeypatch.setattr(UnivFD, "clip_model", "ViT-S-32")  # built from its config, random init
    monkeypatch.setattr(UnivFD, "clip_pretrained", None)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_published_format_loads_strictly_and_scores_identically(name, tmp_path, request):
    if name == "univfd":
        request.getfixturevalue("tiny_clip")
    spec = get_spec(name)
    size = 32 if name != "univfd" else 64
    torch.manual_seed(0)
    src = spec.builder(size).eval()
    f = tmp_path / spec.filename
    torch.save(_published(name, src.state_dict()), f)
    _pin(f)
    fresh = spec.builder(size)
    if spec.target:  # the file holds one part; the rest comes from elsewhere (CLIP)
        fresh.load_state_dict(src.state_dict())
        fresh.get_submodule(spec.target).reset_parameters()
    x = torch.rand(2, 3, size, size)
    assert not torch.equal(_scores(fresh, x), _scores(src, x))  # the load is what changes it
    assert load_into(spec, fresh, f) == sha256_of(f)
    out = _scores(fresh, x)
    assert out.shape == (2, 1 if spec.head == "sigmoid1" else 2)
    assert torch.equal(out, _scores(src, x))


def test_dfb_meso_names_are_deepfakebench_names():
    assert set(get_spec("dfb_meso4").builder(256).state_dict()) == MESO4_KEYS
    assert set(get_spec("dfb_meso4incep").builder(256).state_dict()) == MESO_INCEPTION_KEYS
    fc1 = get_spec("dfb_meso4").builder(256).fc1
    assert fc1.in_features == 16 * 8 * 8  # DeepfakeBench's Linear(16*8*8, 16) at 256 px


def test_dfb_effnb4_is_efficientnet_pytorch_with_deepfakebench_head():
    pytest.importorskip("efficientnet_pytorch")
    from efficientnet_pytorch import EfficientNet

    torch.manual_seed(0)
    ref = EfficientNet.from_name("efficientnet-b4").eval()  # the package DeepfakeBench uses
    ref._conv_stem = torch.nn.Conv2d(3, 48, 3, stride=2, bias=False)  # its plain stem
    ref._fc = torch.nn.Linear(1792, 2)
    ours = get_spec("dfb_effnb4").builder(64).eval()
    mapped = {("last_layer." + k[4:]) if k.startswith("_fc.") else "efficientnet." + k: v
              for k, v in ref.state_dict().items()}  # fmt: skip
    ours.load_state_dict(mapped, strict=True)
    x = torch.rand(2, 3, 64, 64)
    assert torch.allclose(_scores(ours, x), _scores(ref, x), atol=1e-6)


def test_dfb_cnnaug_is_torchvision_resnet34_as_a_sequential():
    from torchvision.models import resnet34

    torch.manual_seed(0)
    ref = resnet34(num_classes=2).eval()
    order = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    mapped = {}
    for k, v in ref.state_dict().items():
        head, _, rest = k.partition(".")
        mapped[k if head == "fc" else f"resnet.{order.index(head)}.{rest}"] = v
    ours = get_spec("dfb_cnnaug").builder(64).eval()
    ours.load_state_dict(mapped, strict=True)
    x = torch.rand(2, 3, 64, 64)
    assert torch.allclose(_scores(ours, x), _scores(ref, x), atol=1e-6)


def test_npr_keeps_the_official_head_name():
    keys = set(get_spec("npr_released").builder(32).state_dict())
    assert {"fc1.weight", "fc1.bias", "layer2.3.conv3.weight"} <= keys
    assert not any(k.startswith(("fc.", "layer3")) for k in keys)  # cut after layer2


def test_wrong_key_shape_hash_and_pickle_refused(tmp_path):
    spec = get_spec("cnndetection_blur_jpg_prob01")
    model = spec.builder(224)  # every load below is refused before it touches the model
    sd = model.state_dict()
    f = tmp_path / spec.filename
    torch.save({"model": {**sd, "extra.weight": torch.zeros(1)}}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match=r"unexpected \['extra.weight'\]"):
        load_into(spec, model, f)
    torch.save({"model": {k: v for k, v in sd.items() if k != "fc.bias"}}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match=r"missing \['fc.bias'\]"):
        load_into(spec, model, f)
    torch.save({"model": {**sd, "fc.weight": torch.zeros(2, 2048)}}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match="shape mismatches.*fc.weight"):
        load_into(spec, model, f)
    torch.save(sd, f)  # no {'model': ...} wrapper
    _pin(f)
    with pytest.raises(CheckpointError, match="'model'"):
        load_into(spec, model, f)
    pin_path(f).write_text("0" * 64)
    with pytest.raises(CheckpointError, match="sha256"):
        load_into(spec, model, f)
    pin_path(f).unlink()
    with pytest.raises(CheckpointError, match="weights fetch cnndetection_blur_jpg_prob01"):
        load_into(spec, model, f)  # unpinned: never loaded unverified
    known = dataclasses.replace(spec, sha256="1" * 64)
    _pin(f)  # a known upstream hash wins over a local pin
    with pytest.raises(CheckpointError, match="sha256"):
        load_into(known, model, f)
    torch.save({"model": sd, "code": _Payload()}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match="not a weights-only checkpoint"):
        load_into(spec, model, f)


def test_missing_file_names_the_fetch_command(tmp_path):
    from benchmark.toolkit.weights import WeightsNotFoundError

    spec = get_spec("univfd")
    with pytest.raises(WeightsNotFoundError, match="weights fetch univfd"):
        load_into(spec, None, tmp_path / spec.filename)
