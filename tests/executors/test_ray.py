"""``run --executor ray``: the serial run's rows bit for bit, retries, failed rows, shared folders.

One local Ray instance (2 CPUs) for the module. The test detectors below are registered in
this process only; the Ray executor ships their registry entries with its tasks, and this
module is pickled by value, so Ray's worker processes can build them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import registry
from benchmark.cli import main
from benchmark.engine.config import ExecutionConfig, RunSpec
from benchmark.protocol import BaseDetector
from benchmark.run import run

pytestmark = pytest.mark.ray

VARY = ["run_id", "timestamp"]  # differ between any two runs
TIME_METRICS = ["train_seconds"]  # measures time: not compared


@pytest.fixture(scope="module")
def ray_local():
    import ray

    # "local": a new instance even when a cluster runs on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()


def _rows(folder: Path, name: str = "rows.csv") -> pd.DataFrame:
    """A run's table as text (what the CSV says, digit for digit), run-specific columns out."""
    [path] = folder.glob(f"*/runs/*/{name}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=VARY, errors="ignore")
    if "metric" in frame:
        frame = frame[~frame["metric"].isin(TIME_METRICS)]
    return frame.reset_index(drop=True)


def _scores(folder: Path) -> dict[str, np.ndarray]:
    """Every cached prediction of a work folder, as float64 arrays (bits, not CSV digits)."""
    out = {}
    for path in sorted(folder.glob("*/predictions/*/*/*.npz")):
        with np.load(path) as z:
            out[str(path.relative_to(folder))] = z["scores"]
    return out


@pytest.mark.slow
def test_quick_grid_same_rows_and_leaderboard(ray_local, tmp_path):
    argv = ["run", "-d", "fft_spectrum,sift_svm,metadata_baseline,scratch_cnn", "--quick"]
    argv += ["--no-timing", "--corruptions", "jpeg", "--severities", "1,3"]
    argv += ["--set", "sift_svm.working_size=64"]  # its 128 px default costs ~2x the time
    # Ray's tasks run torch with --task-cpus threads (1), the serial run with torch's default;
    # oneDNN may round differently with another thread count (it did on a CI machine): pin it
    argv += ["--set", "scratch_cnn.num_threads=1"]
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    assert main([*argv, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    local, on_ray = _rows(tmp_path / "local"), _rows(tmp_path / "ray")
    assert set(local["detector"]) == {
        "fft_spectrum",
        "sift_svm",
        "metadata_baseline",
        "scratch_cnn",
    }
    pd.testing.assert_frame_equal(local, on_ray)  # same rows, same order, same digits
    pd.testing.assert_frame_equal(_rows(tmp_path / "local", "scores.csv"),
                                  _rows(tmp_path / "ray", "scores.csv"))  # fmt: skip
    a, b = _scores(tmp_path / "local"), _scores(tmp_path / "ray")
    assert a.keys() == b.keys() and len(a) == 4 * 5 - 1  # scratch_cnn: no native resolution
    assert [k for k in a if not np.array_equal(a[k], b[k])] == []  # bit for bit
    boards = [
        _rows(tmp_path / run, "tables/leaderboard.csv").drop(columns=["train_seconds"])
        for run in ("local", "ray")
    ]
    pd.testing.assert_frame_equal(*boards)


class CrashOnce(BaseDetector):
    """Scores by brightness; with ``marker`` set, its worker process dies the first time it
    scores ``jpeg@3`` (the marker file records that it did)."""

    def __init__(self, seed: int = 0, marker: str = "", fail: str = ""):
        self.seed, self.marker, self.fail = seed, marker, fail

    def _fit(self, train, val):
        if self.fail == "fit":
            raise ValueError("broken on purpose in fit")
        self.mean_ = float(np.mean([s.load().mean() for s in train]))

    def _predict_fake(self, samples):
        key = f"{samples[0].meta.get('corruption')}@{samples[0].meta.get('severity')}"
        if key == "jpeg@3" and self.marker and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)  # the worker dies mid-task, after clean and jpeg@1 were cached
        if key == self.fail:
            raise RuntimeError(f"broken on purpose under {key}")
        if key == "jpeg@3" and self.fail == "exit":
            os._exit(1)  # every attempt dies
        return [1 / (1 + np.exp((s.load().mean() - self.mean_) / 10)) for s in samples]


@pytest.fixture
def test_detectors():
    names = ("zz_crash_once", "zz_fails_fit", "zz_fails_jpeg3")
    for name in names:
        registry.register_detector(
            family="baseline", paper="t", input_size=None, normalisation="none", name=name
        )(CrashOnce)
    yield names
    for name in names:
        registry.DETECTORS.remove(name)


def _both(spec: RunSpec, dataset, tmp_path: Path) -> tuple[pd.DataFrame, ...]:
    """The Ray run, then the serial one on a fresh work folder; their rows and outcomes."""
    on_ray = run(spec, dataset, execution=ExecutionConfig(executor="ray", out=tmp_path / "ray"))
    ray_dir, ray_out = on_ray.run_dir, on_ray.outcomes
    local = run(spec, dataset, execution=ExecutionConfig(out=tmp_path / "local"))
    local_dir, local_out = local.run_dir, local.outcomes
    assert [(o.name, o.ok, o.error, o.skipped) for o in ray_out] == [
        (o.name, o.ok, o.error, o.skipped) for o in local_out
    ]
    return _rows(tmp_path / "ray"), _rows(tmp_path / "local"), ray_dir, local_dir


def test_dead_worker_is_retried_nothing_lost_or_duplicated(
    ray_local, tmp_path, tiny_dataset, test_detectors
):
    marker = tmp_path / "crashed-once"
    spec = RunSpec(
        detectors=("zz_crash_once",),
        corruptions=("jpeg",),
        severities=(1, 3, 5),
        resolutions=(16,),
        timing_batches=(1,),
        overrides={"zz_crash_once": {"marker": str(marker)}},
    )
    on_ray, local, ray_dir, _ = _both(spec, tiny_dataset, tmp_path)
    assert marker.is_file()  # the first attempt died in jpeg@3 ...
    assert int(marker.read_text()) != os.getpid()  # ... in a worker, not in this process
    pd.testing.assert_frame_equal(on_ray, local)  # ... and the retry lost or added nothing
    cells = on_ray[on_ray["split"] == "test"]
    assert not cells.duplicated(["condition", "subset", "metric"]).any()
    assert {"clean", "jpeg@1", "jpeg@3", "jpeg@5", "res16-native"} <= set(cells["condition"])
    assert (on_ray["error"] == "").all()
    timing = pd.read_json(ray_dir / "timing.json")  # the timing task ran too
    assert set(timing["detector"]) == {"zz_crash_once"} and set(timing["batch"]) == {1}


def test_detector_that_raises_is_a_failed_row(ray_local, tmp_path, tiny_dataset, test_detectors):
    spec = RunSpec(
        detectors=("zz_fails_fit", "zz_fails_jpeg3"),
        corruptions=("jpeg",),
        severities=(1, 3),
        timing=False,
        overrides={"zz_fails_fit": {"fail": "fit"}, "zz_fails_jpeg3": {"fail": "jpeg@3"}},
    )
    on_ray, local, _, _ = _both(spec, tiny_dataset, tmp_path)
    pd.testing.assert_frame_equal(on_ray, local)
    errors = on_ray[on_ray["error"] != ""].set_index("detector")["error"]
    assert errors["zz_fails_fit"] == "fit: ValueError: broken on purpose in fit"
    assert (
        errors["zz_fails_jpeg3"] == "condition jpeg@3: RuntimeError: broken on purpose under jpeg@3"
    )
    scored = on_ray[on_ray["detector"] == "zz_fails_jpeg3"]["condition"]
    assert {"clean", "jpeg@1"} <= set(scored)  # the other conditions still ran


def test_images_below_a_detector_minimum_are_left_out_alike(ray_local, tmp_path):
    from benchmark.data import load_folder
    from tests.data.test_min_size import SMALL, _small_folder

    dataset = load_folder(_small_folder(tmp_path / "faces"))
    spec = RunSpec(
        detectors=("fft_spectrum", "metadata_baseline"),
        corruptions=("jpeg",),
        severities=(1,),
        timing=False,
    )
    on_ray, local, ray_dir, _ = _both(spec, dataset, tmp_path)  # outcomes' skips compared too
    pd.testing.assert_frame_equal(on_ray, local)
    scored = set(
        _rows(tmp_path / "ray", "scores.csv").query("detector == 'fft_spectrum'").sample_id
    )
    assert not scored & {f"test/{name}" for name in SMALL["test"]}  # below its 32 px


def test_task_lost_for_good_becomes_failed_rows(
    ray_local, tmp_path, tiny_dataset, test_detectors, monkeypatch
):
    from benchmark.executors import ray as ray_grid

    monkeypatch.setattr(ray_grid, "MAX_RETRIES", 0)  # the first death is the last
    spec = RunSpec(
        detectors=("zz_fails_jpeg3",),
        corruptions=("jpeg",),
        severities=(1, 3, 5),
        timing=False,
        overrides={"zz_fails_jpeg3": {"fail": "exit"}},
    )
    result = run(spec, tiny_dataset, execution=ExecutionConfig(executor="ray", out=tmp_path))
    [outcome] = result.outcomes
    rows = _rows(tmp_path)
    lost = rows[rows["error"].str.contains("Ray task lost", regex=False)]
    assert "condition jpeg@3: RuntimeError: Ray task lost: " in lost["error"].iloc[0]
    assert "jpeg@3" in set(lost["condition"])  # its whole chunk is failed rows ...
    scored = rows[(rows["error"] == "") & (rows["split"] == "test")]["condition"]
    assert not set(scored) & set(lost["condition"])  # ... and the other chunk scored
    assert len(set(scored)) >= 1 and outcome.ok  # as in the serial path: the fit stands


def test_task_that_cannot_see_the_run_folder_fails_fast(ray_local, tmp_path):
    from benchmark.executors import ray as ray_grid

    missing = tmp_path / "not-shared" / ray_grid.SENTINEL
    job = ray_grid._Job(str(tmp_path), (str(missing),), {})
    task = ray_local.remote(ray_grid._enter).remote(job, "fft_spectrum")
    with pytest.raises(ray_grid.SharedFolderError) as info:  # the run stops, in one line
        ray_grid._get(ray_local, task, "fft_spectrum", None)
    message = str(info.value)
    assert message.startswith("Ray node ") and "\n" not in message
    assert f"cannot see {missing}" in message


def test_without_ray_installed_fails_fast(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    argv = ["run", "-d", "fft_spectrum", "--quick", "--out", str(tmp_path), "--executor", "ray"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'fakebench[ray]'" in err
    assert not any(tmp_path.iterdir())  # nothing loaded or written


def test_a_task_uses_as_many_joblib_workers_as_cpus_it_holds(ray_local, tmp_path):
    # sift_svm & co. ask joblib for n_jobs=-1: inside a 1-CPU task that must mean 1, not the node
    from benchmark.executors import ray as ray_grid

    job = ray_grid._Job(str(tmp_path), (), {})

    @ray_local.remote(num_cpus=1)
    def workers() -> int:
        import joblib

        ray_grid._enter(job, "fft_spectrum")
        return joblib.effective_n_jobs(-1)

    assert ray_local.get(workers.remote()) == 1


def test_cross_dataset_on_ray_gives_the_serial_matrix(ray_local, tmp_path, test_detectors):
    from benchmark.data import load_folder
    from benchmark.run import run_cross
    from tests.data.test_splits import _two_sets

    a, b = (load_folder(root) for root in _two_sets(tmp_path))
    spec = RunSpec(
        detectors=("fft_spectrum", "zz_fails_fit", "metadata_baseline"),
        overrides={"zz_fails_fit": {"fail": "fit"}},
        timing=False,
    )
    frames = [
        run_cross(
            spec, [a], [b], execution=ExecutionConfig(executor=ex, out=tmp_path / ex), say=print
        )
        for ex in ("local", "ray")
    ]
    pd.testing.assert_frame_equal(*frames)  # same rows, same order, same digits
    local = frames[0]
    assert set(local["test_on"]) == {"setA", "setB"}
    failed = local[local["detector"] == "zz_fails_fit"]
    assert (failed["metric"] == "error").all() and len(failed) == 2
    assert failed["error"].str.contains("broken on purpose in fit").all()
    ok = local[(local["detector"] == "fft_spectrum") & (local["metric"] == "roc_auc")]
    assert ok["value"].between(0, 1).all() and len(ok) == 2
    # the Ray run fitted in its own work folder (not the serial run's cache)
    assert list((tmp_path / "ray").glob("*/detectors/fft_spectrum/fit.json"))
