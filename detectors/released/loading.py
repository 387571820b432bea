"""Strict, verified loading of released checkpoints (``specs.ReleasedSpec``).

``torch.load(..., weights_only=True)`` always: a pickle carrying code is refused. The file's
sha256 is checked against the spec's, or else against the pin ``<file>.sha256`` written by
``weights fetch`` (``benchmark.toolkit.weights``). Keys are mapped by the spec's documented
rules only, then loaded with ``strict=True`` and shapes checked; any mismatch names the file
and the offending keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.toolkit.weights import WeightsNotFoundError, expected_sha256, pin_path, sha256_of
from detectors.released.specs import ReleasedSpec

__all__ = ["CheckpointError", "load_into", "map_keys", "pin_path", "sha256_of", "verify"]


class CheckpointError(ValueError):
    """A released checkpoint that is unreadable, unverified or does not fit its model."""


def verify(spec: ReleasedSpec, path: Path) -> str:
    """The file's sha256, refused unless it matches the spec's (or, unpinned upstream, the
    local pin)."""
    expected = expected_sha256(spec.sha256, path)
    if expected is None:
        raise CheckpointError(
            f"{path}: no sha256 to check (unpinned upstream hash and no pin {pin_path(path)}); "
            f"run `python -m benchmark weights fetch {spec.name}` to pin it (a file of your "
            f"own: write its sha256 to {pin_path(path).name} beside it)"
        )
    digest = sha256_of(path)
    if digest != expected:
        raise CheckpointError(f"{path}: sha256 {digest} != expected {expected}; refused")
    return digest


def map_keys(spec: ReleasedSpec, state: Any, path: Path) -> dict[str, Any]:
    """Apply ``spec``'s wrapper, strip, drop and rename rules to a loaded checkpoint."""
    if spec.wrapper is not None:
        if not isinstance(state, dict) or spec.wrapper not in state:
            raise CheckpointError(f"{path}: expected a {{{spec.wrapper!r}: state_dict}} wrapper")
        state = state[spec.wrapper]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a state dict, got {type(state).__name__}")
    out = {}
    for key, value in state.items():
        for prefix in spec.strip:
            key = key[len(prefix) :] if key.startswith(prefix) else key
        if any(key.startswith(p) for p in spec.drop):
            continue
        for old, new in spec.renames.items():
            key = new + key[len(old) :] if key.startswith(old) else key
        out[key] = value
    return out


def load_into(spec: ReleasedSpec, model: Any, path: str | Path) -> str:
    """Verify ``path``, map its keys and load it strictly into ``model`` (or its ``target``).

    Returns:
        The file's sha256.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"{spec.filename} for {spec.name} not found at {path}: run "
            f"`python -m benchmark weights fetch {spec.name}` (from {spec.url})"
        )
    digest = verify(spec, path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickled code objects, corrupt file
        raise CheckpointError(
            f"{path}: refused: not a weights-only checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    state = map_keys(spec, state, path)
    target = model.get_submodule(spec.target) if spec.target else model
    own = target.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
              if k in state and tuple(state[k].shape) != tuple(own[k].shape)]  # fmt: skip
    if missing or unexpected or shapes:
        raise CheckpointError(
            f"{path} does not fit {spec.name}: missing {missing[:8]}, unexpected "
            f"{unexpected[:8]}, shape mismatches {shapes[:8]}"
        )
    target.load_state_dict(state, strict=True)
    return digest
