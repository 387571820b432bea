"""What to run and how to run it: two objects (HELM's ``RunSpec`` and ``ExecutionSpec``).

:class:`RunSpec` says *what*: the detectors, the condition grid, the fit policy (overrides,
recipe, quick, tuning, training augmentation, threshold rule) and the device the detectors are
asked to use. :class:`ExecutionConfig` says *how*: which executor runs the cells, where the
work folders go, and the executor's own settings. Report policy (the reference detector of the
robustness summary) is neither: the caller passes it to publishing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.video_level import VIDEO_AGGREGATIONS

DEVICES = ("auto", "cpu", "cuda")
EXECUTORS = ("local", "ray")
RECIPES = ("cpu", "paper")


@dataclass(frozen=True)
class RunSpec:
    """One benchmark's content. Defaults are what ``run --all`` uses.

    Attributes:
        detectors: registry names, in the order they run.
        seed: draws the dataset split (and, for the default dataset, its images) and seeds
            every detector.
        device: what detectors are asked to use (``auto``, ``cpu``, ``cuda``); the device the
            rows record is resolved once, when the plan is built.
        corruptions, severities, resolutions: the condition grid.
        timing, timing_batches: whether (and at which batch sizes) detectors are timed.
        train_aug: ``none`` or ``cnndetection`` (Wang et al. 2020's blur + JPEG).
        threshold_rule: how the decision threshold is tuned on validation.
        allow_random_init: a detector whose pretrained weights are missing starts from random
            initialisation instead of failing.
        overrides: ``--set`` parameters per detector; they always win.
        quick: a smoke run (one epoch, 32-px inputs).
        tune: > 0: try up to this many configurations per detector on validation.
        recipe: ``cpu`` (the CPU defaults) or ``paper`` (each detector's registered recipe).
        full_grid: heavy backbones are scored on every condition too.
        video_agg: how a video's score is made from its frames' (``mean``: DeepfakeBench's
            rule, ``max``, ``median``) where test images are frames of videos.
    """

    detectors: tuple[str, ...]
    seed: int = 0
    device: str = "auto"
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = (1, 3, 5)
    resolutions: tuple[int, ...] = ()
    timing: bool = True
    timing_batches: tuple[int, ...] = (1, 32)
    train_aug: str = "none"
    # Youden's J by default: max-F1 picks "everything is fake" whenever a weak detector's best
    # F1 is below that of the trivial rule (2p / (1 + p): 0.667 at 50 % fakes).
    threshold_rule: str = "youden"
    allow_random_init: bool = False
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    quick: bool = False
    tune: int = 0
    recipe: str = "cpu"
    full_grid: bool = False
    video_agg: str = "mean"

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        if self.video_agg not in VIDEO_AGGREGATIONS:
            raise ValueError(
                f"video_agg must be one of {VIDEO_AGGREGATIONS}, got {self.video_agg!r}"
            )
        if self.tune < 0:
            raise ValueError(f"--tune: expected a number of configurations >= 0, got {self.tune}")


@dataclass(frozen=True)
class ExecutionConfig:
    """How a run's cells are executed.

    Attributes:
        executor: ``local`` (this process) or ``ray`` (tasks on a Ray cluster).
        out: root of the work folders (fits, cached predictions, run folders).
        address: the Ray cluster to join (``None``: ``RAY_ADDRESS`` or a local Ray).
        task_cpus: CPUs each Ray fit/score task asks for.
    """

    executor: str = "local"
    out: Path = Path("runs")
    address: str | None = None
    task_cpus: int = 1

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.address and self.executor != "ray":
            raise ValueError("--address is for --executor ray")
        if self.task_cpus < 1:
            raise ValueError(f"--task-cpus: expected at least 1, got {self.task_cpus}")


def resolve_device(requested: str, cuda_available: bool) -> str:
    """The device rows record: ``auto`` becomes ``cuda`` when the executor has a GPU, else
    ``cpu``; ``cuda`` without one is an error. The one place ``auto`` is resolved."""
    if requested == "cuda" and not cuda_available:
        raise ValueError("--device cuda: no CUDA device is available to this executor")
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    return requested
