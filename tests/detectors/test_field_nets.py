"""Field detectors trained from scratch: architectures, parameter counts, a tiny fit."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.field.heads import two_logit  # noqa: E402
from detectors.field.mesonet import build_meso4  # noqa: E402
from detectors.field.npr import build_npr  # noqa: E402


def test_meso4_has_the_papers_parameter_count():
    assert sum(p.numel() for p in build_meso4(256).parameters()) == 27_977


def test_npr_keys_and_shape():
    net = build_npr()
    keys = set(net.state_dict())
    assert {"conv1.weight", "bn1.weight", "layer1.0.downsample.0.weight",
            "layer2.3.conv3.weight", "fc1.weight", "fc1.bias"} <= keys
    assert not any(k.startswith(("layer3", "fc.")) for k in keys)
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (2, 2)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 1)


def test_npr_ignores_constant_blocks():
    """The residual of an image constant on 2x2 blocks is zero: the output is input-free."""
    net = build_npr().eval()
    a = torch.rand(1, 3, 16, 16).repeat_interleave(2, 2).repeat_interleave(2, 3)
    b = torch.rand(1, 3, 16, 16).repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert torch.allclose(net(a), net(b))


def test_two_logit_softmax_is_sigmoid():
    net = two_logit(torch.nn.Linear(4, 1))
    x = torch.rand(3, 4)
    p = torch.softmax(net(x), 1)[:, 1]
    assert torch.allclose(p, torch.sigmoid(net.net(x)[:, 0]))


@pytest.mark.parametrize("name", ["npr", "meso4"])
def test_tiny_fit(name, tmp_path, monkeypatch):
    from PIL import Image

    from benchmark.core.samples import Sample
    from benchmark.plugins import create_detector

    monkeypatch.setenv("FAKEBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    samples = []
    for i in range(8):
        p = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(p)
        samples.append(Sample(id=str(i), path=p, label=i % 2))
    det = create_detector(name, input_size=32, epochs=1, batch_size=4, device="cpu",
                          max_train_images=None)
    det.fit(samples[:6], samples[6:])
    proba = det.predict_proba(samples)
    assert proba.shape == (8, 2) and np.allclose(proba.sum(1), 1)
