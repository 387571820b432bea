"""EfficientNet-Lite0/1/2 with real ImageNet weights: key maps, native sizes, each variant's
known prediction, the cached prefix, the linear probe and the resize policies."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from benchmark.plugins import create_detector, detector_meta, list_detectors  # noqa: E402
from detectors.deep.backbones import get_spec  # noqa: E402
from detectors.deep.efficientnet_lite import (  # noqa: E402
    load_lite,
    mapped_state_dict,
    native_input,
    timm_arch,
    weights_file,
)
from detectors.deep.prefix import split  # noqa: E402
from detectors.deep.preprocess import load_images, to_input  # noqa: E402
from detectors.deep.probe import fit_probe, to_linear  # noqa: E402

VARIANTS = (0, 1, 2)
WHEEL_FILES = {0: "efficientnet-lite0-57934424.pth", 1: "efficientnet-lite1-77cc7160.pth",
               2: "efficientnet-lite2-9656183e.pth"}  # fmt: skip


@pytest.mark.parametrize("v", VARIANTS)
def test_wheel_weights_map_onto_every_timm_key(v):
    import timm

    assert weights_file(v).name == WHEEL_FILES[v]
    state = mapped_state_dict(variant=v)
    own = timm.create_model(timm_arch(v), pretrained=False).state_dict()
    assert set(state) == set(own)
    assert all(state[k].shape == own[k].shape for k in own)


@pytest.mark.parametrize("v", VARIANTS)
def test_each_variant_recognises_the_scikit_image_cat(v):
    """skimage.data.chelsea() at each weights' native size: ImageNet 285 'Egyptian cat'."""
    skdata = pytest.importorskip("skimage.data")
    from torchvision.transforms.v2 import functional as F

    size, _ = native_input(v)
    img = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)[None]
    x = (F.resize(img, [size, size], antialias=True).float() / 255 - 0.5) / 0.5
    with torch.inference_mode():
        p = torch.softmax(load_lite(v)(x), 1)[0]
    assert int(p.argmax()) == 285 and float(p[285]) > 0.6


@pytest.mark.parametrize("v", VARIANTS)
def test_native_size_is_the_weights_own(v):
    assert get_spec(f"efficientnet_lite{v}").input_size == native_input(v)[0] == (224, 240, 260)[v]
    for suffix in ("", "_frozen", "_last1"):
        name = f"efficientnet_lite{v}{suffix}"
        assert detector_meta(name).input_size == native_input(v)[0]
        assert create_detector(name).input_size == native_input(v)[0]


def test_every_lite_backbone_has_three_freeze_policies_on_the_light_grid():
    names = set(list_detectors("efficientnet_lite*"))
    for v in VARIANTS:
        policies = {create_detector(f"efficientnet_lite{v}{s}").freeze
                    for s in ("", "_frozen", "_last1")}  # fmt: skip
        assert policies == {"head", "last_n", "full"}
        for suffix in ("", "_frozen", "_last1"):  # the CPU budget; the paper recipe: full
            assert create_detector(f"efficientnet_lite{v}{suffix}").condition_grid == "light"
            assert detector_meta(f"efficientnet_lite{v}{suffix}").recipe["condition_grid"] == "full"
        assert {f"efficientnet_lite{v}", f"efficientnet_lite{v}_frozen"} <= names
    assert create_detector("efficientnet_lite0_scratch").pretrained is False


@pytest.mark.parametrize("v", (0, 2))
def test_prefix_then_tail_is_the_whole_network(v):
    import timm

    model = timm.create_model(timm_arch(v), pretrained=False).eval()
    x = torch.rand(2, 3, 64, 64)
    for n in (1, 2):
        prefix, tail = split(model, n)
        with torch.inference_mode():
            assert torch.allclose(tail(prefix(x)), model(x), atol=1e-5)
        assert {id(p) for p in tail.parameters()} <= {id(p) for p in model.parameters()}
    with pytest.raises(ValueError, match="n_tail"):
        split(model, 0)


def test_probe_is_sklearns_logistic_regression_as_a_linear_head():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    x = rng.normal(size=(200, 16)) + y[:, None] * np.linspace(0, 1, 16) * 3 + 5
    probe = fit_probe(x[:150], y[:150], x[150:], y[150:])
    assert len(probe.history) == 9 and probe.C in [h["C"] for h in probe.history]
    best = min(probe.history, key=lambda h: h["val_loss"])
    assert best["C"] == probe.C  # chosen on validation
    scaler = StandardScaler().fit(x[:150])
    ref = LogisticRegression(C=probe.C, max_iter=2000).fit(scaler.transform(x[:150]), y[:150])
    want = ref.predict_proba(scaler.transform(x[150:]))[:, 1]
    head = to_linear(probe)
    with torch.inference_mode():
        got = torch.softmax(head(torch.from_numpy(x[150:]).float()), 1)[:, 1].numpy()
    assert np.allclose(got, want, atol=1e-4)


def test_center_crop_policy_is_the_imagenet_eval_transform():
    from benchmark.core.samples import Sample

    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 50:150] = 255  # the central square is white, the sides black
    x = load_images([Sample("a", 0, pixels=img)], 50, policy="center_crop", crop_pct=1.0)
    assert x.shape == (1, 3, 50, 50) and int(x.min()) > 200  # antialiasing softens the edges
    squashed = load_images([Sample("a", 0, pixels=img)], 50)
    assert int(squashed.min()) == 0  # plain resize keeps the black sides
    with pytest.raises(ValueError, match="resize policy"):
        load_images([Sample("a", 0, pixels=img)], 50, policy="stretch")


def test_frozen_and_last1_share_one_cached_prefix_and_match_the_network(
    tiny_dataset, tmp_path, monkeypatch
):
    from benchmark.core.samples import cache_dir

    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path))  # files made by this test alone
    kw = {"input_size": 32, "device": "cpu", "epochs": 1}
    folder = cache_dir() / "features"
    before = set(folder.glob("backbone_efficientnet_lite0_prefix-*.npy"))
    frozen = create_detector("efficientnet_lite0_frozen", **kw)
    frozen.fit(tiny_dataset.train, tiny_dataset.val)
    assert frozen.pretrained_ is True and frozen.probe_C_ > 0
    p_frozen = frozen.predict_proba(tiny_dataset.test)[:, 1]
    made = set(folder.glob("backbone_efficientnet_lite0_prefix-*.npy")) - before
    assert len(made) == 3  # train, val, test
    last = create_detector("efficientnet_lite0_last1", **kw)
    last.fit(tiny_dataset.train, tiny_dataset.val)
    p_last = last.predict_proba(tiny_dataset.test)[:, 1]
    assert set(folder.glob("backbone_efficientnet_lite0_prefix-*.npy")) - before == made
    x = load_images(tiny_dataset.test, 32)
    for det, p in ((frozen, p_frozen), (last, p_last)):
        with torch.inference_mode():  # the cached path gives what the whole network gives
            full = torch.softmax(det.torch_module()(to_input(x, "[-1,1]", torch.device("cpu"))), 1)
        assert np.allclose(full[:, 1].numpy(), p, atol=1e-5)
    trained = {n for n, q in last.torch_module().named_parameters() if q.requires_grad}
    assert trained and all(n.startswith(("blocks.6", "conv_head", "bn2", "classifier"))
                           for n in trained)  # fmt: skip


def test_native_resize_trains_at_the_images_own_side(tiny_dataset):
    det = create_detector("efficientnet_lite0_frozen", resize="native", device="cpu")
    det.fit(tiny_dataset.train, tiny_dataset.val)
    assert det.input_size_ == 32  # tiny_dataset's images, whatever input_size says (224)
    assert det.predict_proba(tiny_dataset.test).shape == (8, 2)
