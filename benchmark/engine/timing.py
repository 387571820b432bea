"""Timing and cost of a detector: latency percentiles, throughput, parameters, FLOPs, memory.

timm's ``benchmark.py`` method (warm-up, then timed iterations on a random input already on the
device: data loading excluded), but each call is timed on its own so rows carry p50/p90/p99
latency (MLPerf judges single-stream latency at p90) beside the mean and throughput.
``torch.utils.benchmark`` reports block means, not per-call samples, so it serves as the
reference in ``tests/benchmarks/test_bench_timing_overhead.py`` rather than as the timer here.

* CPU: ``time.perf_counter`` around each call, in ``torch.inference_mode``. CUDA: a
  ``torch.cuda.Event`` pair around each call, then a synchronise (single stream: a query starts
  when the last one ended); optional AMP (``torch.autocast``: float16 on CUDA, bfloat16 on CPU)
  and ``channels_last``. Counts are small and adaptive: timing stops after ``budget_s`` once
  ``min_iters`` calls ran, warm-up after ``budget_s / 2``; rows record the counts run.
* FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` on one image counts FLOPs = 2 x MACs of
  convolutions, matmuls and attention only (not norms, activations, pooling). Classical
  detectors state their cost instead, through an optional ``cost_info()``.
* Peak memory of one forward, weights + input + activations: CUDA ``max_memory_allocated``; on
  CPU the peak of live tensor storages seen by a ``TorchDispatchMode`` (RSS deltas are blurred
  by allocator caching, tracemalloc misses torch's allocations; op workspaces go unseen).
  ``predict_proba`` rows: ``tracemalloc`` peak (Python and NumPy heap; not OpenCV buffers).
* ``preprocess_ms_per_image``: a data loader's work (PIL decode of an in-memory PNG, torchvision
  v2 resize, ImageNet normalisation), timed apart. Deep detectors expose ``torch_module()`` and
  ``input_size``; the others are timed end to end through ``predict_proba`` on CPU.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import math
import os
import platform
import time
import tracemalloc
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FLOP_CONVENTION = "FLOPs (2*MACs), torch.utils.flop_counter (conv/matmul/attention), batch 1"
DEFAULT_IMAGE_SIZE = 128
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: Fields of every ``time_detector`` row (NaN or "" where they do not apply).
ROW_FIELDS = (
    "detector", "family", "what", "device", "device_name", "num_threads", "dtype", "memory_layout",
    "batch", "image_size", "warmup", "iters", "timer", "latency_ms_p50", "latency_ms_p90",
    "latency_ms_p99", "latency_ms_mean", "latency_ms_std", "latency_ms_min", "throughput_img_s",
    "params_total", "params_trainable", "flops_per_image", "gflops_per_image", "gmacs_per_image",
    "flop_convention", "peak_memory_mb", "peak_memory_method", "preprocess_ms_per_image",
    "preprocess_method", "stated_cost", "torch_version", "load_avg_1m", "error",
)  # fmt: skip


def device_name(device: str = "cpu") -> str:
    """GPU name from torch, or the CPU model from ``/proc/cpuinfo`` (``platform`` elsewhere)."""
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for a block (``None``: leave it); restored after."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n or old)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def summarise(times_ms: Sequence[float], batch: int) -> dict[str, float]:
    """Latency statistics (linear-interpolated percentiles: below 100 calls p99 ~ the max)."""
    t = np.asarray(times_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(t, [50, 90, 99])
    mean = float(t.mean())
    return {
        "latency_ms_p50": float(p50), "latency_ms_p90": float(p90), "latency_ms_p99": float(p99),
        "latency_ms_mean": mean, "latency_ms_std": float(t.std()), "latency_ms_min": float(t.min()),
        "throughput_img_s": batch * 1000.0 / mean if mean > 0 else math.nan,
    }  # fmt: skip


def time_calls(fn: Callable[[], Any], *, warmup: int = 3, iters: int = 20, budget_s: float = 4.0,
               min_iters: int = 5, cuda: bool = False) -> tuple[np.ndarray, int]:  # fmt: skip
    """``warmup`` calls, then up to ``iters`` timed one by one: (per-call ms, warm-ups run)."""
    import torch

    stop = time.perf_counter() + budget_s / 2
    done = 0
    while done < warmup and (done == 0 or time.perf_counter() < stop):
        fn()
        done += 1
        if cuda:
            torch.cuda.synchronize()
    times: list[float] = []
    total = 0.0
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(max(iters, 1)):
        if cuda:
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
        total += times[-1]
        if i + 1 >= min_iters and total > budget_s * 1000.0:
            break
    return np.asarray(times), done


def _prepare(module: Any, device: str, channels_last: bool) -> Any:
    """The module in eval mode on ``device``; a copy if it must move or change memory layout."""
    import torch

    tensors = list(module.parameters()) + list(module.buffers())
    nhwc = [t.is_contiguous(memory_format=torch.channels_last) for t in tensors if t.dim() == 4]
    if any(t.device != torch.device(device) for t in tensors) or channels_last and not all(nhwc):
        module = copy.deepcopy(module).to(device)  # the detector's own network stays as it is
        module = module.to(memory_format=torch.channels_last) if channels_last else module
    return module.eval()


def _setup(module: Any, batch: int, size: int, device: str, amp: bool, channels_last: bool,
           seed: int) -> tuple[Any, Any, contextlib.AbstractContextManager, str]:  # fmt: skip
    """(prepared module, random input on the device, autocast context, dtype label)."""
    import torch

    net = _prepare(module, device, channels_last)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
    x = x.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    if not amp:
        return net, x, contextlib.nullcontext(), "float32"
    dtype = torch.float16 if x.device.type == "cuda" else torch.bfloat16
    return net, x, torch.autocast(x.device.type, dtype=dtype), f"{str(dtype)[6:]}-amp"


def time_model(module: Any, *, batch: int = 1, image_size: int = DEFAULT_IMAGE_SIZE,
               device: str = "cpu", warmup: int = 3, iters: int = 20, budget_s: float = 4.0,
               amp: bool = False, channels_last: bool = False, seed: int = 0,
               memory: bool = True, num_threads: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Latency and throughput of ``module`` on a random ``(batch, 3, S, S)`` tensor: a partial
    row (device, dtype, layout, counts, timer, ``summarise``'s fields and, when ``memory``, the
    peak memory of one more forward, outside the timed loop)."""
    import torch

    net, x, cast, dtype = _setup(module, batch, image_size, device, amp, channels_last, seed)
    cuda = x.device.type == "cuda"
    with torch.inference_mode(), cast, torch_threads(num_threads):
        threads = torch.get_num_threads()
        fwd = lambda: net(x)  # noqa: E731
        times, warm = time_calls(fwd, warmup=warmup, iters=iters, budget_s=budget_s, cuda=cuda)
        mem = _peak_memory(net, x) if memory else {}
    return mem | {
        "what": "model_forward", "device": str(x.device), "device_name": device_name(device),
        "num_threads": threads, "dtype": dtype,
        "memory_layout": "channels_last" if channels_last else "contiguous", "batch": batch,
        "image_size": image_size, "warmup": warm, "iters": len(times),
        "timer": "cuda_event" if cuda else "perf_counter",
    } | summarise(times, batch)  # fmt: skip


def _live_tensor_peak(fn: Callable[[], Any], preexisting: Sequence[Any]) -> int:
    """Peak bytes of live tensor storages while ``fn`` runs, counting ``preexisting`` too."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class LiveTensors(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.live: dict[int, int] = {}  # id(storage) -> bytes; storages keep their PyObject
            self.peak = 0

        def track(self, t: Any, finalize: bool = True) -> None:
            try:
                st = t.untyped_storage()
            except (RuntimeError, NotImplementedError):  # sparse, nested, meta ...
                return
            if id(st) not in self.live:  # else a view of, or in-place op on, a counted storage
                self.live[id(st)] = st.nbytes()
                self.peak = max(self.peak, sum(self.live.values()))
                if finalize:
                    weakref.finalize(st, self.live.pop, id(st), None)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self.track(t)
            return out

    tracker = LiveTensors()
    for t in preexisting:
        tracker.track(t, finalize=False)
    with tracker:
        fn()
    return tracker.peak


def _peak_memory(net: Any, x: Any) -> dict[str, Any]:
    """Peak memory (MB) of one ``net(x)``: weights + input + activations (call in no-grad)."""
    import torch

    fixed = list(net.parameters()) + list(net.buffers()) + [x]
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        before = torch.cuda.memory_allocated(x.device)
        net(x)
        torch.cuda.synchronize(x.device)
        peak = torch.cuda.max_memory_allocated(x.device) - before
        peak += sum(t.untyped_storage().nbytes() for t in fixed)
        method = "torch.cuda.max_memory_allocated in one forward, + weights + input"
    else:
        peak = _live_tensor_peak(lambda: net(x), fixed)
        method = "peak live tensor bytes (TorchDispatchMode) in one forward, weights + input"
    return {"peak_memory_mb": peak / 2**20, "peak_memory_method": method}


def model_cost(module: Any, input_size: int, *, device: str = "cpu") -> dict[str, Any]:
    """Parameters, FLOPs and MACs of one ``input_size`` image, and peak memory at batch 1."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    net, x, _, _ = _setup(module, 1, input_size, device, False, False, 0)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(x)
    flops = int(counter.get_total_flops())
    with torch.inference_mode():
        mem = _peak_memory(net, x)
    return {
        "params_total": sum(p.numel() for p in module.parameters()),
        "params_trainable": sum(p.numel() for p in module.parameters() if p.requires_grad),
        "flops_per_image": flops, "gmacs_per_image": flops / 2e9, "gflops_per_image": flops / 1e9,
        "flop_convention": FLOP_CONVENTION, "image_size": input_size,
    } | mem  # fmt: skip


def preprocess_ms_per_image(image_size: int, *, source_size: int = 256, n: int = 10,
                            seed: int = 0) -> tuple[float, str]:  # fmt: skip
    """(median ms, description) to decode an in-memory PNG, resize to ``image_size``, normalise.

    The PNG is a smooth random texture plus mild noise: it compresses roughly like a photo.
    """
    import torch
    from PIL import Image
    from torchvision.transforms.v2 import functional as F

    rng = np.random.default_rng(seed)
    low = Image.fromarray(rng.integers(0, 256, (source_size // 8,) * 2 + (3,), dtype=np.uint8))
    smooth = np.asarray(low.resize((source_size, source_size), Image.BILINEAR), dtype=np.int16)
    noisy = np.clip(smooth + rng.normal(0, 4, smooth.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="PNG")

    def load() -> Any:
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            t = torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1)
        t = F.resize(t, [image_size, image_size], antialias=True)
        return F.normalize(F.to_dtype(t, torch.float32, scale=True), IMAGENET_MEAN, IMAGENET_STD)

    times, _ = time_calls(load, warmup=2, iters=n, budget_s=1.0, min_iters=3)
    return float(np.median(times)), (
        f"PIL decode of in-memory {source_size}px PNG ({buf.tell() // 1024} KiB), torchvision "
        f"v2 resize to {image_size} (antialias), ImageNet normalise; median of {len(times)}"
    )


def time_detector(det: Any, *, device: str = "cpu", batch_sizes: Sequence[int] = (1, 32),
                  warmup: int = 3, iters: int = 20, budget_s: float = 4.0, amp: bool = False,
                  channels_last: bool = False, image_size: int | None = None,
                  end_to_end: bool = False, seed: int = 0, num_threads: int | None = None,
                  raise_errors: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Tidy timing/cost rows (``ROW_FIELDS``) for a fitted detector, one per what x batch.

    Detectors with ``torch_module()`` get ``what="model_forward"`` rows on ``device`` (plus
    ``"predict_proba"`` rows when ``end_to_end``); the others get ``"predict_proba"`` rows on
    CPU only (none when ``device`` is CUDA).

    Args:
        det: a fitted detector.
        device: ``"cpu"`` or ``"cuda[:i]"`` (``ValueError`` when CUDA is absent).
        batch_sizes: one row per batch size (latency at 1, throughput at 32 by default).
        warmup, iters, budget_s: most warm-up / timed calls and seconds per measurement.
        amp, channels_last: autocast (CUDA float16, CPU bfloat16); NHWC weights and input.
        image_size: side of ``predict_proba``'s images (default ``det.input_size`` or 128);
            the network is fed ``det.input_size`` when it has one, as it is built for it.
        end_to_end: also time a torch detector's ``predict_proba`` (with its preprocessing).
        seed: seed of the random inputs.
        num_threads: torch intra-op threads while timing (None: as set; NumPy/OpenCV unaffected).
        raise_errors: raise instead of recording a failing measurement as an ``error`` row.
    """
    import torch

    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch.cuda.is_available() is False")
    meta = getattr(det, "meta", None)
    name = getattr(meta, "name", type(det).__name__)
    own_size = getattr(det, "input_size", None)
    size = int(image_size or own_size or DEFAULT_IMAGE_SIZE)  # of predict_proba's images
    get_module = det.torch_module if "torch_module" in det.capabilities else None
    has_net = get_module is not None
    net_size = int(own_size or size) if has_net else size  # the network is built for its size
    stated = det.cost_info()
    try:  # classical detectors state theirs too; a plugin that states none gets NaN
        n_params = int(det.n_parameters())
    except NotImplementedError:
        n_params = math.nan
    base = {field: math.nan for field in ROW_FIELDS} | {
        "detector": name, "family": getattr(meta, "family", ""), "image_size": net_size,
        "stated_cost": json.dumps(stated, sort_keys=True, default=str) if stated else "",
        "torch_version": torch.__version__, "error": "", "preprocess_method": "",
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan,
        "flop_convention": "", "params_total": n_params,
    }  # fmt: skip
    rows: list[dict[str, Any]] = []

    def attempt(make: Callable[[], dict[str, Any]], ident: dict[str, Any]) -> None:
        try:
            rows.append(base | make())
        except Exception as exc:  # a failing cell is a row, as in timm's benchmark.py
            if raise_errors:
                raise
            log.warning("timing %s %s failed: %s", name, ident, exc)
            rows.append(base | ident | {"error": f"{type(exc).__name__}: {exc}"})
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    kw = {"warmup": warmup, "iters": iters, "budget_s": budget_s, "seed": seed,
          "num_threads": num_threads}  # fmt: skip
    own_device = "cpu"
    if has_net:
        own_device = str(next(iter(get_module().parameters()), torch.empty(0)).device)
        module = _prepare(get_module(), device, channels_last)  # copies once, not per batch
        try:  # FlopCounterMode may meet an op it cannot handle: still time the network
            base |= model_cost(module, net_size, device=device)
        except Exception as exc:
            if raise_errors:
                raise
            base["error"] = f"model_cost: {type(exc).__name__}: {exc}"
        pre_ms, pre_method = preprocess_ms_per_image(net_size)
        base |= {"preprocess_ms_per_image": pre_ms, "preprocess_method": pre_method}
        for b in batch_sizes:
            opts = {"batch": b, "image_size": net_size, "device": device, "amp": amp}
            ident = {"what": "model_forward", "batch": b, "device": device}
            attempt(partial(time_model, module, channels_last=channels_last, **opts, **kw), ident)
    if (end_to_end or not has_net) and (has_net or torch.device(device).type == "cpu"):
        for b in batch_sizes:
            ident = {"what": "predict_proba", "batch": b, "device": own_device, "image_size": size}
            attempt(partial(_time_predict, det, b, size, own_device, kw), ident)
    return rows


def _time_predict(det: Any, batch: int, size: int, device: str, kw: dict) -> dict[str, Any]:
    """End-to-end ``predict_proba`` on random uint8 images (feature extraction + classifier)."""
    import torch

    images = np.random.default_rng(kw["seed"]).integers(0, 256, (batch, size, size, 3), np.uint8)
    # perf_counter on any device: predict_proba returns NumPy, so it has synchronised already
    with torch_threads(kw["num_threads"]):
        threads = torch.get_num_threads()
        times, warm = time_calls(
            lambda: det.predict_proba(images), warmup=kw["warmup"], iters=kw["iters"],
            budget_s=kw["budget_s"],
        )  # fmt: skip
    was_tracing = tracemalloc.is_tracing()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    det.predict_proba(images)
    peak = tracemalloc.get_traced_memory()[1] - before
    if not was_tracing:
        tracemalloc.stop()
    return {
        "what": "predict_proba", "device": device, "device_name": device_name(device),
        "num_threads": threads, "dtype": "native", "memory_layout": "n/a",
        "batch": batch, "image_size": size, "warmup": warm, "iters": len(times),
        "timer": "perf_counter", "peak_memory_mb": peak / 2**20,
        "peak_memory_method": "tracemalloc peak in one predict_proba (Python+NumPy heap only)",
    } | summarise(times, batch)  # fmt: skip
