"""The zoo: every released checkpoint (``specs.SPECS``) registered twice, side by side.

``<spec>`` scores the checkpoint zero-shot (``detector.ZeroShot``: nothing trained; the
threshold is chosen on validation) and ``<spec>_ft`` fine-tunes it on the train split
(``detector.FineTune``). Both rows carry ``mode`` (``zero_shot`` / ``finetune``) in their
parameters and ``pretrained = yes`` once the file is loaded; the leaderboard's ``pretrained``
column says ``no (random init)`` for the ``--allow-random-init`` ablation, as for the
backbones. Without the file (or its pin) the plan makes a "not applicable" row naming the
file and ``python -m benchmark weights fetch <name>``.

CPU defaults: the spec's own input; a network of 4 or more GFLOPs per image at its input is
scored on the light condition grid (as ``detectors.deep.zoo`` does); fine-tuning runs 2 epochs
over a stratified 256-image subset at learning rate 1e-4. The paper recipe (``run --recipe
paper``) scores the full grid and fine-tunes with the source's own optimiser settings (from
its paper or configs) for 10 epochs on every training image.
"""

from __future__ import annotations

from typing import Any

from benchmark.protocol import DEEP_MIN_SIDE
from benchmark.registry import pin_params, register_detector
from detectors.released.detector import FineTune, ZeroShot
from detectors.released.specs import CLIP_MEAN, CLIP_STD, HALF, IMAGENET, SPECS, ReleasedSpec

NORMALISATIONS = {IMAGENET: "imagenet", HALF: "[-1,1]", (CLIP_MEAN, CLIP_STD): "clip"}
#: 4 GFLOPs or more per image at the spec's input size: the light grid by default on a CPU.
HEAVY = {"cnndetection_blur_jpg_prob05", "cnndetection_blur_jpg_prob01", "univfd",
         "dfb_xception", "dfb_cnnaug", "dfb_core"}  # fmt: skip
#: The sources' own training settings: CNNDetection (Adam 1e-4, batch 64, Wang et al. 2020),
#: NPR's README (2e-4, batch 32), DeepfakeBench's configs (2e-4, batch 32, 10 epochs).
SOURCE_RECIPES: dict[str, dict[str, Any]] = {
    "cnndetection": {"lr": 1e-4, "batch_size": 64},
    "npr": {"lr": 2e-4, "batch_size": 32},
    "dfb": {"lr": 2e-4, "batch_size": 32},
}


def _source_recipe(name: str) -> dict[str, Any]:
    return next((r for prefix, r in SOURCE_RECIPES.items() if name.startswith(prefix)), {})


def _factory(cls: type, defaults: dict[str, Any], mode: str) -> Any:
    def factory(**kw: Any) -> Any:  # the spec and the mode are what the name promises
        return cls(**(defaults | pin_params(kw, spec=defaults["spec"], mode=mode)))

    return factory


def _register(spec: ReleasedSpec) -> None:
    grid = "light" if spec.name in HEAVY else "full"
    common = {"spec": spec.name, "input_size": spec.input_size, "resize": spec.input_policy}
    variants = (
        (spec.name, ZeroShot, "zero_shot", {"condition_grid": grid}, {"condition_grid": "full"},
         "scored zero-shot (nothing trained; threshold on validation)"),
        (f"{spec.name}_ft", FineTune, "finetune", {"condition_grid": grid},
         {"condition_grid": "full", "epochs": 10, "max_train_images": None,
          **_source_recipe(spec.name)},
         "fine-tuned from the checkpoint on the train split"),
    )  # fmt: skip
    for name, cls, mode, cpu, recipe, what in variants:
        factory = _factory(cls, common | cpu, mode)
        factory.__name__ = name
        factory.__doc__ = f"{spec.filename} ({spec.training_data}) {what}."
        register_detector(
            family="deep", paper=spec.paper, input_size=spec.input_size,
            normalisation=NORMALISATIONS[spec.mean_std], min_side=DEEP_MIN_SIDE, name=name,
            recipe=recipe,
        )(factory)  # fmt: skip


for _spec in SPECS.values():
    _register(_spec)
