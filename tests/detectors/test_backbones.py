"""Backbones: one forward/backward step each at 32 px, freeze policies, frozen-feature path."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from benchmark.engine.config import RunSpec  # noqa: E402
from benchmark.engine.fitting import build_detector  # noqa: E402
from benchmark.engine.plan import condition_grid  # noqa: E402
from benchmark.plugins import create_detector, detector_meta, list_detectors  # noqa: E402
from benchmark.protocol import model_input_size  # noqa: E402
from benchmark.toolkit.weights import RANDOM_INIT, WeightsNotFoundError  # noqa: E402
from detectors.deep.backbones import (  # noqa: E402
    SPECS,
    apply_freeze,
    blocks,
    build_backbone,
    get_spec,
    wrap_frozen,
)

# Full-size models at a 32 px input: every one is fast enough on CPU except ViT-B/16, whose
# 12 encoder layers of width 768 stay as wide at any input size; it runs at 32 px too (4
# patches), which keeps it near one second, so no reduced variant is needed.
ARCHS = sorted(SPECS)


@pytest.mark.parametrize("arch", ARCHS)
def test_one_training_step(arch):
    torch.manual_seed(0)
    model, source = build_backbone(arch, pretrained=False, input_size=32)
    assert source == RANDOM_INIT
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    head = model.get_submodule(get_spec(arch).head)
    before = head.weight.detach().clone()
    opt.step()
    assert head.out_features == 2 and not torch.equal(before, head.weight)


@pytest.mark.parametrize("arch", ["resnet18", "xception", "vit_b_16"])  # tuple, path, tail
def test_freeze_policies_train_exactly_the_intended_parameters(arch):
    spec = get_spec(arch)
    model, _ = build_backbone(arch, pretrained=False, input_size=32)
    head = {id(p) for p in model.get_submodule(spec.head).parameters()}
    frozen = apply_freeze(model, arch, "head")
    assert {id(p) for p in model.parameters() if p.requires_grad} == head
    last = blocks(model, spec)[-2:] + [model.get_submodule(t) for t in spec.tail]
    want = head | {id(p) for m in last for p in m.parameters()}
    frozen = apply_freeze(model, arch, "last_n", last_n=2)
    got = {id(p) for p in model.parameters() if p.requires_grad}
    assert got == want and len(want) < len(list(model.parameters()))
    wrap_frozen(model, frozen).train()
    assert all(not m.training for m in frozen)  # frozen BatchNorm keeps its statistics
    assert model.get_submodule(spec.head).training
    apply_freeze(model, arch, "full")
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="freeze"):
        apply_freeze(model, arch, "some")


def test_xception_variants():
    base, _ = build_backbone("xception", pretrained=False, input_size=32)
    light, _ = build_backbone("light_xception", pretrained=False, input_size=32)
    midway, _ = build_backbone("midway_xception", pretrained=False, input_size=32)
    n = [sum(p.numel() for p in m.parameters()) for m in (light, base, midway)]
    assert n[0] < n[1] < n[2]
    assert isinstance(light.block8, torch.nn.Identity)
    assert not isinstance(light.block7, torch.nn.Identity)
    conv = midway.block5.rep[1].conv1
    assert conv.groups == conv.in_channels // 2
    assert midway.block5.skip is not None  # 1x1 parallel convolution in the middle flow


def test_absent_weights_fail_fast_or_fall_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="resnet18-f37072fd.pth"):
        build_backbone("resnet18", input_size=32)
    _, source = build_backbone("resnet18", input_size=32, allow_random_init=True)
    assert source == RANDOM_INIT


def test_frozen_head_trains_on_cached_features(tiny_dataset):
    det = create_detector(
        "resnet18", input_size=32, epochs=2, allow_random_init=True, device="cpu"
    ).fit(tiny_dataset.train, tiny_dataset.val)
    assert det.pretrained_ is False and det.freeze == "head"
    p = det.predict_proba(tiny_dataset.test)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1)
    from benchmark.core.samples import cache_dir

    cached = list((cache_dir() / "features").glob("backbone_resnet18_pooled-*.npy"))
    assert len(cached) >= 3  # train, val and test features
    x = torch.stack([torch.from_numpy(s.load().copy()).permute(2, 0, 1) for s in tiny_dataset.test])
    from detectors.deep.preprocess import to_input

    with torch.inference_mode():  # the cached path gives what the whole network gives
        full = torch.softmax(det.torch_module()(to_input(x, "imagenet", torch.device("cpu"))), 1)
    assert np.allclose(full[:, 1].numpy(), p[:, 1], atol=1e-5)


def test_registry_and_paper_recipes():
    names = set(list_detectors())
    for name in ("mobilenet_v2", "xception", "resnet18", "resnet50", "efficientnet_b0",
                 "densenet121", "vit_b_16", "light_xception", "midway_xception",
                 "efficientnet_b0_last2_plateau", "efficientnet_lite0"):  # fmt: skip
        assert name in names and detector_meta(name).recipe
    r50 = dict(detector_meta("resnet50").recipe)
    assert r50["freeze"] == "full" and r50["input_size"] == 299
    assert create_detector("resnet50", **r50).get_params()["input_size"] == 299
    with pytest.raises(TypeError, match="arch"):
        create_detector("resnet18", arch="resnet50")


def test_light_condition_grid_keeps_one_severity_per_corruption():
    from benchmark.conditions.grid import Condition

    conds = [Condition()] + [
        Condition("corruption", c, s) for c in ("jpeg", "gaussian_blur") for s in (1, 3, 5)
    ]
    conds.append(Condition("resolution", resolution=32, mode="resized"))
    det = create_detector("vit_b_16")
    assert det.condition_grid == "light"
    kept = _select_conditions(det, conds)
    assert [c.severity for c in kept if c.kind == "corruption"] == [3, 3]
    assert sum(c.kind != "corruption" for c in kept) == 2
    assert _select_conditions(create_detector("resnet18"), conds) == conds


def _select_conditions(det, conds):
    """The conditions a run scores ``det`` on (its ``condition_grid``), as the plan decides."""
    grid = det.get_params().get("condition_grid", "full")
    return condition_grid(grid, conds, model_input_size(det) is None)


def test_full_grid_scores_heavy_backbones_on_every_condition(capsys):
    from benchmark.cli import main

    spec = RunSpec(detectors=("densenet121",), full_grid=True)
    assert build_detector("densenet121", spec).condition_grid == "full"
    assert build_detector("densenet121", RunSpec(("densenet121",))).condition_grid == "light"
    pinned = RunSpec(
        ("densenet121",), full_grid=True, overrides={"densenet121": {"condition_grid": "light"}}
    )
    assert build_detector("densenet121", pinned).condition_grid == "light"  # --set wins
    assert build_detector("fft_spectrum", spec).get_params()  # no such parameter: fine
    # the flag sets the grid itself: a second grid option is an error, not silently ignored
    assert main(["run", "-d", "fft_spectrum", "--full-grid", "--severities", "1"]) == 2
    assert "drop --severities" in capsys.readouterr().err


def test_recipe_paper_reaches_build_detector():
    spec = RunSpec(detectors=(), recipe="paper", allow_random_init=True)
    det = build_detector("resnet50", spec)
    assert det.freeze == "full" and det.input_size == 299 and det.condition_grid == "full"
    over = RunSpec(detectors=(), recipe="paper", overrides={"resnet50": {"epochs": 1}})
    assert build_detector("resnet50", over).epochs == 1  # --set wins over the recipe
    assert build_detector("scratch_cnn", spec).input_size == 224
    assert build_detector("resnet50", RunSpec(detectors=())).freeze == "head"
