"""The plan is decided before any fit, and what the executors do matches it cell for cell."""

from __future__ import annotations

import dataclasses

import pytest

from benchmark.conditions.grid import build_conditions
from benchmark.core.events import Observer
from benchmark.engine.config import ExecutionConfig, RunSpec, resolve_device
from benchmark.engine.plan import CONDITION_GRIDS, build_plan, condition_grid
from benchmark.run import run


class Recorder(Observer):
    """Keeps the plan the run announced and every cell event per detector."""

    def __init__(self) -> None:
        self.plan: list[tuple[str, int]] = []
        self.cells: dict[str, list[str]] = {}

    def start(self, plan, in_order=True):
        self.plan = list(plan)

    def cell(self, detector, text):
        self.cells.setdefault(detector, []).append(text)


GRID = dict(corruptions=("jpeg", "gaussian_blur"), severities=(1, 3, 5), resolutions=(16,))


def test_light_grid_keeps_clean_resolutions_and_the_middle_severity():
    conds = build_conditions(["jpeg"], [1, 3, 5], [16], resolution_agnostic=True)
    light = condition_grid("light", conds, agnostic=False)
    assert [c.key for c in light] == ["clean", "jpeg@3", "res16-resized"]
    full = condition_grid("full", conds, agnostic=True)
    assert [c.key for c in full] == [c.key for c in conds]  # native kept for agnostic ones
    with pytest.raises(ValueError, match="condition_grid must be one of"):
        condition_grid("heavy", conds, agnostic=True)
    assert set(CONDITION_GRIDS) == {"full", "light"}


def test_light_grid_keeps_the_named_social_conditions():
    conds = build_conditions(["jpeg", "sidbench_jpeg50", "aigenbench"], [1, 3, 5], [],
                             resolution_agnostic=False)  # fmt: skip
    light = condition_grid("light", conds, agnostic=False)
    # the social conditions sit at severity 1: they neither vanish nor move the middle (3)
    assert [c.key for c in light] == ["clean", "jpeg@3", "sidbench_jpeg50@1", "aigenbench@1"]


def test_plan_is_built_from_parameters_without_fitting(tiny_dataset, tmp_path):
    spec = RunSpec(
        detectors=("fft_spectrum", "scratch_cnn"),
        overrides={"scratch_cnn": {"condition_grid": "light", "input_size": 16}},
        **GRID,
    )
    plan = build_plan(spec, tiny_dataset, tmp_path, "cpu")
    fft, cnn = plan.detectors
    assert [c.key for c in cnn.conditions] == ["clean", "jpeg@3", "gaussian_blur@3",
                                               "res16-resized"]  # fmt: skip
    assert "res16-native" in [c.key for c in fft.conditions]  # resolution-agnostic
    assert fft.timed and cnn.timed and not fft.retrieval
    assert plan.cells() == [("fft_spectrum", 1 + len(fft.conditions) + 1),
                            ("scratch_cnn", 1 + 4 + 1)]  # fmt: skip
    assert not (tmp_path / plan.work.root.name).exists()  # planning writes nothing
    assert plan.work.root.is_absolute()


def test_a_detector_that_cannot_be_built_is_planned_as_its_failing_fit(tiny_dataset, tmp_path):
    spec = RunSpec(detectors=("fft_spectrum",), overrides={"fft_spectrum": {"nope": 1}})
    (det,) = build_plan(spec, tiny_dataset, tmp_path, "cpu").detectors
    assert det.n_cells == 1 and not det.conditions
    result = run(spec, tiny_dataset, ExecutionConfig(out=tmp_path))
    (error,) = result.rows.loc[result.rows["metric"] == "error", "error"]
    assert error.startswith("fit: TypeError: fft_spectrum: bad parameter override")  # as before


def test_an_invalid_condition_grid_fails_the_fit_not_the_run(tiny_dataset, tmp_path):
    spec = RunSpec(detectors=("scratch_cnn", "fft_spectrum"), timing=False,
                   overrides={"scratch_cnn": {"condition_grid": "heavy"}})  # fmt: skip
    plan = build_plan(spec, tiny_dataset, tmp_path, "cpu")
    assert "condition_grid must be one of" in plan.detector("scratch_cnn").error
    result = run(spec, tiny_dataset, ExecutionConfig(out=tmp_path))
    assert [o.ok for o in result.outcomes] == [False, True]


def test_serial_run_does_exactly_the_planned_cells(tiny_dataset, tmp_path):
    spec = RunSpec(
        detectors=("fft_spectrum", "scratch_cnn"),
        overrides={"scratch_cnn": {"condition_grid": "light", "input_size": 16, "epochs": 1}},
        timing_batches=(1,),
        **GRID,
    )
    seen = Recorder()
    result = run(spec, tiny_dataset, ExecutionConfig(out=tmp_path), observer=seen)
    assert seen.plan == result.plan.cells()
    for name, n in seen.plan:  # every planned cell reported once, nothing unplanned
        assert len(seen.cells[name]) == n, (name, seen.cells[name])
    scored = result.rows[result.rows["detector"] == "scratch_cnn"]["condition"].unique()
    assert "jpeg@1" not in scored and "jpeg@3" in scored  # the light grid, decided up front
    assert set(result.rows["run_id"]) == {result.run_id}
    assert result.run_dir == result.work_dir / "runs" / result.run_id
    assert not result.scores.empty and not result.timing.empty


def test_in_memory_rows_are_the_rows_on_disk(tiny_dataset, tmp_path):
    from benchmark.results.store import read_rows, read_scores

    spec = RunSpec(detectors=("fft_spectrum",), timing=False, **GRID)
    result = run(spec, tiny_dataset, ExecutionConfig(out=tmp_path))
    on_disk = read_rows(result.run_dir / "rows.csv")
    assert result.rows.equals(on_disk)
    assert result.scores.equals(read_scores(result.run_dir / "scores.csv"))


def test_device_is_resolved_once_and_cuda_without_gpu_is_an_error():
    assert resolve_device("auto", False) == "cpu"
    assert resolve_device("auto", True) == "cuda"
    assert resolve_device("cpu", True) == "cpu"
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda", False)


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="executor"):
        ExecutionConfig(executor="dask")
    with pytest.raises(ValueError, match="--address is for --executor ray"):
        ExecutionConfig(address="auto")
    with pytest.raises(ValueError, match="task-cpus"):
        ExecutionConfig(executor="ray", task_cpus=0)
    with pytest.raises(ValueError, match="recipe"):
        RunSpec(detectors=(), recipe="gpu")
    spec = RunSpec(detectors=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 1  # type: ignore[misc]
