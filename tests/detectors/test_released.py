"""Released checkpoints: built in their published format, loaded strictly through the zoo."""

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from detectors.released.loading import CheckpointError, load_into, pin_path, sha256_of  # noqa: E402
from detectors.released.specs import get_spec  # noqa: E402


class _Payload:
    """Unpickling this runs code (``print``): a weights-only load must refuse it."""

    def __reduce__(self):
        return (print, ("code ran",))


def _pin(path):
    pin_path(path).write_text(sha256_of(path))


def _scores(model, x):
    with torch.no_grad():
        return model.eval()(x)


def test_cnndetection_wrapper_roundtrip(tmp_path):
    spec = get_spec("cnndetection_blur_jpg_prob05")
    torch.manual_seed(0)
    src = spec.builder().eval()
    f = tmp_path / spec.filename
    torch.save({"model": src.state_dict()}, f)
    _pin(f)
    x = torch.rand(2, 3, 64, 64)
    out = _scores(load_into(spec, spec.builder(), f), x)
    assert out.shape == (2, 1)
    assert torch.equal(out, _scores(src, x))


def test_dfb_xception_prefixes_and_head(tmp_path):
    spec = get_spec("dfb_xception")
    torch.manual_seed(0)
    src = spec.builder().eval()
    sd = {"backbone." + k.replace("fc.", "last_linear.", 1) if k.startswith("fc.") else
          "backbone." + k: v for k, v in src.state_dict().items()}  # fmt: skip
    sd["backbone.adjust_channel.0.weight"] = torch.zeros(512, 2048, 1, 1)  # unused module
    f = tmp_path / spec.filename
    torch.save({"module." + k: v for k, v in sd.items()}, f)
    _pin(f)
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(_scores(load_into(spec, spec.builder(), f), x), _scores(src, x))


def test_wrong_key_shape_hash_and_pickle_refused(tmp_path):
    spec = get_spec("cnndetection_blur_jpg_prob01")
    sd = spec.builder().state_dict()
    f = tmp_path / spec.filename
    torch.save({"model": {**sd, "extra.weight": torch.zeros(1)}}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match=r"unexpected \['extra.weight'\]"):
        load_into(spec, spec.builder(), f)
    torch.save({"model": {**sd, "fc.weight": torch.zeros(2, 2048)}}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match="shape mismatches.*fc.weight"):
        load_into(spec, spec.builder(), f)
    pin_path(f).write_text("0" * 64)
    with pytest.raises(CheckpointError, match="sha256"):
        load_into(spec, spec.builder(), f)
    known = dataclasses.replace(spec, sha256="1" * 64)
    _pin(f)  # a known upstream hash wins over a local pin
    with pytest.raises(CheckpointError, match="sha256"):
        load_into(known, spec.builder(), f)
    torch.save({"model": sd, "code": _Payload()}, f)
    _pin(f)
    with pytest.raises(CheckpointError, match="not a weights-only checkpoint"):
        load_into(spec, spec.builder(), f)


def test_missing_file_names_the_fetch_command(tmp_path):
    spec = get_spec("univfd")
    with pytest.raises(FileNotFoundError, match="weights fetch univfd"):
        load_into(spec, None, tmp_path / spec.filename)


def test_univfd_fc_file_on_a_tiny_clip(tmp_path, monkeypatch):
    pytest.importorskip("open_clip")
    from detectors.released.specs import UnivFD

    monkeypatch.setattr(UnivFD, "clip_model", "ViT-B-32")  # built from its config, random init
    monkeypatch.setattr(UnivFD, "clip_pretrained", None)
    spec = get_spec("univfd")
    torch.manual_seed(0)
    src = UnivFD.build()
    f = tmp_path / spec.filename
    torch.save(src.fc.state_dict(), f)  # the published file: {'weight', 'bias'} of the fc
    _pin(f)
    model = UnivFD.build()
    model.visual.load_state_dict(src.visual.state_dict())
    x = torch.rand(1, 3, 224, 224)
    assert torch.equal(_scores(load_into(spec, model, f), x), _scores(src, x))
