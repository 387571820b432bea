"""Field detectors trained from scratch: architectures, parameter counts, a tiny fit."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detectors.field.heads import two_logit  # noqa: E402
from detectors.field.mesoinception import build_mesoinception4  # noqa: E402
from detectors.field.mesonet import build_meso4  # noqa: E402
from detectors.field.npr import build_npr  # noqa: E402
from detectors.field.patch_forensics import (  # noqa: E402
    BACKBONES,
    build_patch_trunk,
    init_weights,
    patch_classifier,
)


def test_meso4_has_the_papers_parameter_count():
    assert sum(p.numel() for p in build_meso4(256).parameters()) == 27_977


def test_mesoinception4_has_the_papers_parameter_count():
    assert sum(p.numel() for p in build_mesoinception4(256).parameters()) == 28_615


@pytest.mark.parametrize("size", [32, 128, 256])
def test_mesoinception4_shapes(size):
    net = build_mesoinception4(size).eval()
    assert net(torch.rand(2, 3, size, size)).shape == (2, 1)
    assert net.fc1.in_features == 16 * (size // 32) ** 2
    x = torch.rand(1, 3, size, size)
    assert net.inception1(x).shape == (1, 11, size, size)  # 1 + 4 + 4 + 2 channels
    assert net.inception2(torch.rand(1, 11, 8, 8)).shape == (1, 12, 8, 8)  # 2 + 4 + 4 + 2
    assert net.inception1.d[2].dilation == (3, 3) and net.inception1.c[2].dilation == (2, 2)
    with pytest.raises(ValueError, match="multiple of 32"):
        build_mesoinception4(100)


@pytest.mark.parametrize(
    ("backbone", "channels", "side"),
    [("xception_block2", 256, 37), ("xception_block1", 128, 74), ("resnet18_layer1", 64, 75)],
)
def test_patch_trunk_map_shape(backbone, channels, side):
    """At the authors' 299 px, xception_block2 gives a 37x37 map of two logits."""
    trunk = build_patch_trunk(backbone).to("meta")  # shapes only, no arithmetic
    assert trunk.convout.in_channels == channels and trunk.convout.kernel_size == (1, 1)
    assert trunk(torch.empty(1, 3, 299, 299, device="meta")).shape == (1, 2, side, side)


def test_patch_trunk_keeps_the_authors_keys():
    keys = set(build_patch_trunk("xception_block2").state_dict())
    assert {"conv1.weight", "bn2.running_mean", "block1.skip.weight", "block2.skipbn.weight",
            "block2.rep.1.pointwise.weight", "convout.weight", "convout.bias"} <= keys
    assert not any(k.startswith("block3") for k in keys)
    with pytest.raises(ValueError, match="backbone"):
        build_patch_trunk("xception_block9")
    with pytest.raises(ValueError, match="init"):
        build_patch_trunk(init="kaiming")
    assert "xception_block2" in BACKBONES


def test_patch_image_score_is_the_mean_patch_score():
    torch.manual_seed(0)
    net = patch_classifier(build_patch_trunk("xception_block2"))
    with torch.no_grad():
        init_weights(net, gain=1.0)  # the authors' gain 0.02 starts every patch near 0.5
        net.net.convout.weight.mul_(30)  # patches far apart: mean of logits != mean of softmax
        x = torch.rand(3, 3, 64, 64)
        net.train()
        patches = net(x)
        assert patches.shape == (3, 2, 8, 8)
        net.eval()
        image = net(x)
        assert image.shape == (3, 2)
        z = net.patch_logits(x)
    patch_p = torch.softmax(z, dim=1)[:, 1]
    mean_of_logits = torch.softmax(z.mean(dim=(2, 3)), dim=1)[:, 1]
    assert (mean_of_logits - patch_p.mean(dim=(1, 2))).abs().max() > 0.01  # the two differ here
    torch.testing.assert_close(torch.softmax(image, 1)[:, 1], patch_p.mean(dim=(1, 2)))


def test_patch_loss_is_the_cross_entropy_over_patches():
    """The shared loop trains a patch map with the image label at every position."""
    from detectors.deep.minibatch import train_step

    class Scaler:
        def scale(self, loss):
            return loss

    torch.manual_seed(0)
    net = patch_classifier(build_patch_trunk("resnet18_layer1")).train()
    x, y = torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 1, 0])
    loss, correct = train_step(net, x, y, lambda b: b, None, Scaler(), False, 4, 1)
    z = net.patch_logits(x)
    per_patch = torch.nn.functional.cross_entropy(z, y[:, None, None].expand(4, 8, 8))
    torch.testing.assert_close(loss, per_patch.detach())
    assert correct == pytest.approx(float((z.argmax(1) == y[:, None, None]).float().mean() * 4))


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


@pytest.mark.parametrize("name", ["npr", "meso4", "mesoinception4", "patch_forensics"])
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
