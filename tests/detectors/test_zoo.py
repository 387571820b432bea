"""The zoo's detectors: zero-shot and fine-tuned from a released checkpoint placed where
``weights list`` says, planning without the file, and ``weights list`` / ``weights fetch``
(the download replaced: no network)."""

from __future__ import annotations

import dataclasses
import time
import urllib.error

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmark.cli import main  # noqa: E402
from benchmark.plugins import create_detector, list_detectors, load_detector  # noqa: E402
from benchmark.toolkit import weights as W  # noqa: E402
from detectors.deep.preprocess import load_images, torch_settings  # noqa: E402
from detectors.released.loading import pin_path, sha256_of  # noqa: E402
from detectors.released.specs import SPECS, get_spec  # noqa: E402


@pytest.fixture()
def torch_home(tmp_path, monkeypatch):
    """An empty weights folder (``$TORCH_HOME``) and an empty Hugging Face cache."""
    import huggingface_hub.constants as hf

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def _place(name, pin=True, seed=0):
    """A checkpoint of spec ``name`` in its published format where ``weights list`` says;
    returns the network it holds (eval mode)."""
    spec = get_spec(name)
    torch.manual_seed(seed)
    src = spec.builder(spec.input_size).eval()
    state = src.state_dict()
    if name.startswith("dfb_"):
        state = {"module.backbone." + k: v for k, v in state.items()}
    path = W.released_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    if pin:
        pin_path(path).write_text(sha256_of(path))
    return src


def test_every_spec_has_a_zero_shot_and_a_fine_tuned_row():
    names = set(list_detectors())
    for spec in SPECS:
        zero, ft = create_detector(spec), create_detector(f"{spec}_ft")
        assert (zero.get_params()["mode"], ft.get_params()["mode"]) == ("zero_shot", "finetune")
        assert "zero_shot" in zero.capabilities and "zero_shot" not in ft.capabilities
        assert zero.weights_source_spec() == ft.weights_source_spec() == ("released", spec)
        assert {spec, f"{spec}_ft"} <= names
    with pytest.raises(TypeError, match="fixes mode"):
        create_detector("dfb_meso4", mode="finetune")


def test_zero_shot_scores_the_checkpoint_as_published(torch_home, tiny_dataset):
    src = _place("dfb_meso4")  # two logits, mean = std = 0.5, 256 px
    det = create_detector("dfb_meso4", device="cpu").fit([], None)
    assert det.pretrained_ is True and det.threshold_ == 0.5
    proba = det.predict_proba(tiny_dataset.test)
    x = load_images(tiny_dataset.test, 256).float() / 255
    with torch.no_grad():
        expected = torch.softmax(src((x - 0.5) / 0.5), dim=1)[:, 1].numpy()
    np.testing.assert_allclose(proba[:, 1], expected, atol=1e-6)
    det.fit(tiny_dataset.train, tiny_dataset.val)  # train unused; a threshold on validation
    assert 0.0 <= det.threshold_ <= 1.0


def test_zero_shot_one_logit_head_is_a_sigmoid(torch_home, tiny_dataset, tmp_path):
    src = _place("npr_released")
    det = create_detector("npr_released", device="cpu", input_size=32).fit([], None)
    x = load_images(tiny_dataset.test, 32).float() / 255
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in get_spec("npr_released").mean_std)
    with torch.no_grad():
        expected = torch.sigmoid(src((x - mean) / std))[:, 0].numpy()
    proba = det.predict_proba(tiny_dataset.test)
    np.testing.assert_allclose(proba[:, 1], expected, atol=1e-6)
    det.save(tmp_path / "fit")
    assert not (tmp_path / "fit" / "model.pt").exists()  # the released file is the model
    np.testing.assert_allclose(load_detector(tmp_path / "fit").predict_proba(tiny_dataset.test),
                               proba, atol=1e-6)  # fmt: skip
    torch.save({"module.conv1.weight": torch.zeros(1)}, W.released_path("npr_released"))
    pin_path(W.released_path("npr_released")).write_text(sha256_of(W.released_path("npr_released")))
    with pytest.raises(ValueError, match="not the .* this fit scored with|does not fit"):
        load_detector(tmp_path / "fit")  # the file changed since the fit: refused


def test_fine_tune_starts_from_the_checkpoint_and_trains(torch_home, tiny_dataset, tmp_path):
    src = _place("dfb_meso4")
    det = create_detector("dfb_meso4_ft", device="cpu", epochs=2, lr=1e-2, patience=None)
    det.fit(tiny_dataset.train, tiny_dataset.val)
    assert det.pretrained_ is True and len(det.history_) == 2
    trained = det.torch_module().net.state_dict()
    assert any(not torch.equal(trained[k], v) for k, v in src.state_dict().items())
    proba = det.predict_proba(tiny_dataset.test)
    det.save(tmp_path / "ft")
    np.testing.assert_allclose(load_detector(tmp_path / "ft").predict_proba(tiny_dataset.test),
                               proba, atol=1e-6)  # fmt: skip
    W.released_path("dfb_meso4").unlink()  # a fine-tuned fit no longer needs the file
    assert load_detector(tmp_path / "ft").pretrained_ is True


def test_univfd_fine_tune_trains_the_linear_layer_only(torch_home, tiny_dataset, monkeypatch):
    pytest.importorskip("open_clip")
    from detectors.released.specs import UnivFD

    monkeypatch.setattr(UnivFD, "clip_model", "ViT-S-32")  # a small CLIP, random init
    monkeypatch.setattr(UnivFD, "clip_pretrained", None)
    torch.manual_seed(0)
    fc = torch.nn.Linear(384, 1)
    path = W.released_path("univfd")
    path.parent.mkdir(parents=True)
    torch.save(fc.state_dict(), path)
    pin_path(path).write_text(sha256_of(path))
    det = create_detector("univfd_ft", device="cpu", input_size=64, epochs=2, lr=1e-2)
    det.fit(tiny_dataset.train, tiny_dataset.val)
    assert det.pretrained_ is False  # the fc is released, but this CLIP is random
    net = det.torch_module().net
    assert not torch.equal(net.fc.weight, fc.weight)  # trained from the released fc
    with torch_settings(torch.device("cpu"), 0, None):  # as fit builds it: seeded
        again = create_detector("univfd_ft", device="cpu", input_size=64)._build_model()
    assert torch.equal(again.net.fc.weight, fc.weight)  # loaded from the file
    for (k, a), b in zip(net.visual.state_dict().items(), again.net.visual.state_dict().values(),
                         strict=True):  # fmt: skip
        assert torch.equal(a, b), k  # the frozen CLIP did not move


def test_planning_without_the_file_is_not_applicable(torch_home, tiny_dataset, tmp_path):
    from benchmark.engine.config import RunSpec
    from benchmark.engine.plan import build_plan

    def plan():
        spec = RunSpec(detectors=("dfb_meso4", "dfb_meso4_ft"))
        return build_plan(spec, tiny_dataset, tmp_path / "out", "cpu").detectors

    for row in plan():
        assert "weights fetch " + row.name in row.not_applicable
        assert "meso4_best.pth" in row.not_applicable and row.n_cells == 1
    _place("dfb_meso4", pin=False)  # there, but unpinned: still not usable
    assert all(row.not_applicable for row in plan())
    pin_path(W.released_path("dfb_meso4")).write_text(sha256_of(W.released_path("dfb_meso4")))
    assert not any(row.not_applicable for row in plan())


def test_weights_list_shows_each_released_file(torch_home, capsys):
    assert main(["weights", "list", "dfb_meso4*"]) == 0
    out = capsys.readouterr().out
    spec = get_spec("dfb_meso4")
    for text in (
        "released:dfb_meso4",
        spec.filename,
        str(W.released_path("dfb_meso4")),
        spec.url,
        "sha256    unpinned",
        spec.training_data,
        spec.licence,
    ):
        assert text in out, text
    assert out.count("  dfb_meso4 (cached: no)") == 1  # once, though two detectors read it


def test_weights_fetch_downloads_pins_and_refuses_a_mismatch(torch_home, monkeypatch, capsys):
    calls = []

    def download(url, dst, *a, **k):  # what torch.hub does on a connected machine
        calls.append(url)
        torch.save({"backbone." + k: v for k, v in
                    get_spec("dfb_meso4").builder(256).state_dict().items()}, dst)  # fmt: skip

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    assert main(["weights", "fetch", "dfb_meso4,dfb_meso4_ft"]) == 0
    path = W.released_path("dfb_meso4")
    assert calls == [get_spec("dfb_meso4").url]  # one file for both rows
    assert pin_path(path).read_text().split()[0] == sha256_of(path)
    assert sha256_of(path) in capsys.readouterr().out
    assert W.locate("released", "dfb_meso4")["cached"] is True
    assert create_detector("dfb_meso4", device="cpu").fit([], None).pretrained_ is True
    assert main(["weights", "fetch", "dfb_meso4"]) == 0 and len(calls) == 1  # there: checked
    known = dataclasses.replace(W.RELEASED["dfb_meso4"], sha256="0" * 64)
    monkeypatch.setitem(W.RELEASED, "dfb_meso4", known)
    assert main(["weights", "fetch", "dfb_meso4"]) == 2  # the file there does not match
    assert "refused" in capsys.readouterr().err
    path.unlink()
    assert main(["weights", "fetch", "dfb_meso4"]) == 2  # nor does a new download: not kept
    assert "refused" in capsys.readouterr().err and not path.exists()
    assert not path.with_name(path.name + ".part").exists()


def test_weights_fetch_offline_says_where_to_put_the_file(torch_home, monkeypatch, capsys):
    def offline(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    assert main(["weights", "fetch", "dfb_effnb4"]) == 2
    err = capsys.readouterr().err
    assert "could not download effnb4_best.pth" in err and get_spec("dfb_effnb4").url in err
    assert str(W.released_path("dfb_effnb4")) in err


def test_univfd_clip_offline_fails_fast_and_names_the_command(torch_home, monkeypatch):
    pytest.importorskip("open_clip")
    from benchmark.toolkit.weights import WeightsNotFoundError
    from detectors.released.specs import UnivFD

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert W.locate("open_clip", "ViT-L-14/openai")["cached"] is False
    start = time.perf_counter()
    with pytest.raises(WeightsNotFoundError, match="weights fetch univfd"):
        UnivFD.build()
    assert time.perf_counter() - start < 5  # nothing tried over the network
    _place_fc = W.released_path("univfd")
    _place_fc.parent.mkdir(parents=True)
    torch.save(torch.nn.Linear(768, 1).state_dict(), _place_fc)
    pin_path(_place_fc).write_text(sha256_of(_place_fc))
    where = W.locate("released", "univfd")  # the fc is there, its CLIP is not: not usable
    assert where["cached"] is False and where["requires"][0]["cached"] is False


def test_univfd_reads_clip_from_the_hugging_face_cache_with_quick_gelu(torch_home, monkeypatch):
    open_clip = pytest.importorskip("open_clip")
    import huggingface_hub.constants as hf

    from detectors.released.specs import UnivFD

    root = torch_home / "hf" / "models--timm--vit_base_patch32_clip_224.openai"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text("0" * 40)
    cached = root / "snapshots" / ("0" * 40) / "open_clip_model.safetensors"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert str(torch_home / "hf") == hf.HF_HUB_CACHE
    assert W.locate("open_clip", "ViT-B-32/openai")["path"] == str(cached)
    seen, real = {}, open_clip.create_model

    def create_model(name, pretrained=None, **kw):  # the file is no real CLIP: record the call
        seen.update(kw, name=name, pretrained=pretrained)
        return real("ViT-S-32", pretrained=None)

    monkeypatch.setattr(open_clip, "create_model", create_model)
    monkeypatch.setattr(UnivFD, "clip_model", "ViT-B-32")
    net = UnivFD.build()
    assert seen["pretrained"] == str(cached) and net.clip_source == str(cached)
    assert seen["force_quick_gelu"] is True  # OpenAI's CLIP activations


def test_predict_uses_a_zero_shot_zoo_entry_without_a_run(torch_home, tiny_dataset, capsys):
    _place("dfb_meso4")
    folder = tiny_dataset.test[0].path.parent
    assert main(["predict", "-d", "dfb_meso4", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "dfb_meso4: threshold 0.500" in out and str(tiny_dataset.test[0].path) in out
