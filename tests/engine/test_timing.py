"""benchmark.engine.timing: row schema, percentiles, FLOP counts, memory, budgets, CUDA."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.engine import timing
from benchmark.engine.timing import ROW_FIELDS, model_cost, summarise, time_calls, time_detector

FAST = {"warmup": 1, "iters": 5, "budget_s": 0.2}


def tiny_net() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(8, 2),
    ).eval()  # fmt: skip


class StandIn:
    """What the detector protocol declares, with ``BaseDetector``'s defaults: no optional hooks,
    no stated cost, no stated parameter count."""

    capabilities: frozenset[str] = frozenset()

    def cost_info(self) -> dict | None:
        return None

    def n_parameters(self) -> int:
        raise NotImplementedError


class TorchDet(StandIn):
    """Stands in for a deep detector: a network, an input size and predict_proba."""

    capabilities = frozenset({"torch_module"})
    input_size = 32

    def __init__(self) -> None:
        self.net = tiny_net()

    def torch_module(self) -> torch.nn.Module:
        return self.net

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(images), dtype=torch.float32).permute(0, 3, 1, 2) / 255
        with torch.inference_mode():
            return torch.softmax(self.net(x), 1).numpy()


class NumpyDet(StandIn):
    """Stands in for a classical detector: no torch module, any input size."""

    input_size = None

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        fake = np.asarray(images, dtype=np.float64).mean(axis=(1, 2, 3)) / 255
        return np.stack([1 - fake, fake], axis=1)

    def cost_info(self) -> dict:
        return {"descriptor_dim": 3, "classifier": "threshold"}

    def n_parameters(self) -> int:
        return 1


def check_rows(rows: list[dict], what: str, batches: tuple[int, ...]) -> None:
    assert [r["batch"] for r in rows] == list(batches)
    for r in rows:
        assert set(ROW_FIELDS) <= set(r), set(ROW_FIELDS) - set(r)
        assert r["error"] == "" and r["what"] == what
        assert r["latency_ms_p50"] <= r["latency_ms_p90"] <= r["latency_ms_p99"]
        assert 0 < r["latency_ms_min"] <= r["latency_ms_p50"]
        assert r["iters"] >= 1 and r["warmup"] >= 1 and r["device_name"]
        assert r["throughput_img_s"] == pytest.approx(r["batch"] * 1000 / r["latency_ms_mean"])
        assert r["peak_memory_mb"] >= 0 and r["peak_memory_method"]


def test_torch_detector_rows() -> None:
    rows = time_detector(TorchDet(), batch_sizes=(1, 3), **FAST)
    check_rows(rows, "model_forward", (1, 3))
    r = rows[0]
    assert (r["device"], r["dtype"], r["memory_layout"], r["timer"]) == (
        "cpu", "float32", "contiguous", "perf_counter"
    )  # fmt: skip
    assert r["image_size"] == 32 and r["params_total"] == 8 * 27 + 8 + 8 * 2 + 2
    assert (
        r["flops_per_image"] == 2 * 32 * 32 * 8 * 27 + 2 * 8 * 2
        and "2*MACs" in r["flop_convention"]
    )
    assert r["preprocess_ms_per_image"] > 0 and "PNG" in r["preprocess_method"]
    assert rows[1]["peak_memory_mb"] > rows[0]["peak_memory_mb"]  # activations grow with batch
    assert json.dumps(rows)  # serialisable as they are


def test_classical_detector_rows() -> None:
    rows = time_detector(NumpyDet(), batch_sizes=(2,), image_size=16, **FAST)
    check_rows(rows, "predict_proba", (2,))
    r = rows[0]
    assert r["image_size"] == 16 and r["params_total"] == 1 and math.isnan(r["flops_per_image"])
    assert json.loads(r["stated_cost"]) == NumpyDet().cost_info()
    assert time_detector(NumpyDet(), image_size=8, **FAST)[0]["image_size"] == 8

    class NoParams(NumpyDet):
        def n_parameters(self) -> int:  # not stated (BaseDetector's default): NaN
            raise NotImplementedError

    assert math.isnan(time_detector(NoParams(), batch_sizes=(1,), **FAST)[0]["params_total"])


def test_end_to_end_adds_predict_rows() -> None:
    rows = time_detector(TorchDet(), batch_sizes=(1,), end_to_end=True, image_size=40, **FAST)
    assert [r["what"] for r in rows] == ["model_forward", "predict_proba"]
    check_rows(rows[1:], "predict_proba", (1,))
    # the network gets the size it is built for; predict_proba the images asked for
    assert [r["image_size"] for r in rows] == [TorchDet.input_size, 40]


def test_known_conv_flops_params_memory() -> None:
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    cost = model_cost(conv, 8)
    assert cost["flops_per_image"] == 2 * 8 * 8 * 8 * 3 * 9
    assert cost["gmacs_per_image"] == pytest.approx(8 * 8 * 8 * 3 * 9 / 1e9)
    assert cost["params_total"] == cost["params_trainable"] == 8 * 3 * 9
    weights, image, output = 8 * 27 * 4, 3 * 64 * 4, 8 * 64 * 4
    assert (
        weights + image + output <= cost["peak_memory_mb"] * 2**20 < 2 * (weights + image + output)
    )


def test_failure_becomes_error_row() -> None:
    class Broken(NumpyDet):
        def predict_proba(self, images: np.ndarray) -> np.ndarray:
            raise RuntimeError("boom")

    rows = time_detector(Broken(), batch_sizes=(1,), **FAST)
    assert rows[0]["error"] == "RuntimeError: boom" and math.isnan(rows[0]["latency_ms_p50"])
    with pytest.raises(RuntimeError, match="boom"):
        time_detector(Broken(), batch_sizes=(1,), raise_errors=True, **FAST)


def test_budget_stops_early_but_keeps_min_iters() -> None:
    times, warm = time_calls(lambda: time.sleep(0.01), warmup=50, iters=100, budget_s=0.05)
    assert 5 <= len(times) < 100 and 1 <= warm < 50
    assert np.all(times >= 9)
    times, warm = time_calls(lambda: None, warmup=2, iters=7)
    assert len(times) == 7 and warm == 2


def test_num_threads_is_set_and_restored() -> None:
    before = torch.get_num_threads()
    rows = time_detector(TorchDet(), batch_sizes=(1,), end_to_end=True, num_threads=1, **FAST)
    assert [r["num_threads"] for r in rows] == [1, 1] and torch.get_num_threads() == before


def test_channels_last_and_amp_do_not_touch_the_detector() -> None:
    det = TorchDet()
    weight = det.net[0].weight
    rows = time_detector(det, batch_sizes=(1,), channels_last=True, amp=True, **FAST)
    assert rows[0]["memory_layout"] == "channels_last" and rows[0]["dtype"] == "bfloat16-amp"
    assert det.net[0].weight is weight and weight.is_contiguous()


@settings(deadline=None, max_examples=25)
@given(st.lists(st.floats(0.001, 1e4), min_size=1, max_size=60), st.integers(1, 64))
def test_summarise_properties(times: list[float], batch: int) -> None:
    s = summarise(times, batch)
    assert s["latency_ms_min"] <= s["latency_ms_p50"] <= s["latency_ms_p90"] <= s["latency_ms_p99"]
    assert s["latency_ms_p99"] <= max(times) + 1e-9
    assert s["throughput_img_s"] == pytest.approx(batch * 1000 / np.mean(times))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cuda"):
        time_detector(TorchDet(), device="cuda", **FAST)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_path() -> None:
    det = TorchDet()
    rows = time_detector(
        det, device="cuda", batch_sizes=(1, 4), amp=True, channels_last=True, **FAST
    )
    check_rows(rows, "model_forward", (1, 4))
    assert {r["timer"] for r in rows} == {"cuda_event"} and rows[0]["dtype"] == "float16-amp"
    assert rows[0]["device_name"] == torch.cuda.get_device_name()
    assert "max_memory_allocated" in rows[0]["peak_memory_method"]
    assert next(det.net.parameters()).device.type == "cpu"  # timed a copy
    assert time_detector(NumpyDet(), device="cuda", **FAST) == []
    assert timing.device_name("cuda")
