"""The detector interface: a scikit-learn-like protocol, frozen metadata, and a base class.

Labels everywhere: 0 = real, 1 = fake. ``predict_proba`` returns an ``(n, 2)`` array with
columns ``[real, fake]`` that sum to one.

A detector's ``__init__`` only stores keyword arguments (scikit-learn's rule): reading files,
loading weights and validating happen in ``fit``. Learned state ends in ``_``.

Everything the harness calls is declared here: the :class:`Detector` protocol (fit, predict,
parameters, persistence, minimum size, parameter count, stated cost, fit version, whether
pretrained weights were loaded) and a small set of :data:`CAPABILITIES` a detector class
declares (``capabilities``) for the optional hooks: retrieval metrics, a torch module to time,
a torch classifier to explain. The harness reads the declaration; it never probes with
``hasattr``, and the contract test checks that each declared hook exists. A detector's recipe
(the source report's own parameters, ``run --recipe paper``) is declared with its
registration, in :class:`DetectorMeta`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from benchmark.core.samples import MIN_SIDE, ImagesLike, Sample, as_samples

LABEL_REAL = 0
LABEL_FAKE = 1
FAMILIES = ("classical", "deep", "baseline")
#: Minimum shorter side (px) of the deep detectors: they resize every image to their input, so
#: any size runs, but an image under 16 px (one ViT-B/16 patch) is up-sampled 4-19x to their
#: 64-299 px inputs: the network then sees interpolation, not the image.
DEEP_MIN_SIDE = 16
#: Optional hooks a detector class may declare in ``capabilities``, and the method each needs:
#: ``retrieval``: ``retrieval_metrics(samples) -> {metric: value}`` (precision@k, ...);
#: ``torch_module``: ``torch_module() -> nn.Module``, the network timing measures;
#: ``saliency``: the torch module is a two-logit real/fake classifier with a ``normalisation``
#: (Grad-CAM explains it);
#: ``pretrained_weights``: ``weights_source_spec() -> (kind, id) | None``, the weights file it
#: looks up (``python -m benchmark weights`` lists and fetches them);
#: ``zero_shot``: ``load_pretrained() -> self`` makes it ready to predict without training data
#: (a released checkpoint; ``fit([], None)`` does the same), so ``predict`` needs no run folder.
CAPABILITIES = {
    "retrieval": "retrieval_metrics",
    "torch_module": "torch_module",
    "saliency": "torch_module",
    "pretrained_weights": "weights_source_spec",
    "zero_shot": "load_pretrained",
}


class NotFittedError(RuntimeError):
    """Raised when ``predict_proba`` is called before ``fit``."""


class NotApplicableError(RuntimeError):
    """Raised when a detector cannot run on this data (e.g. needs source files it lacks)."""


@dataclass(frozen=True)
class DetectorMeta:
    """What a detector *is*. Cost (params, FLOPs, latency) is measured, never typed in here.

    Attributes:
        name: registry name.
        family: one of ``FAMILIES``.
        paper: citation or seed report the method follows.
        input_size: side of the square input the model works at; ``None`` when the method
            accepts any size (resolution-agnostic, e.g. FFT spectra, SIFT).
        normalisation: how pixels are normalised before the model ("imagenet", "[0,1]", ...).
        needs_gpu: whether a GPU is required to run in reasonable time.
        needs_files: whether it reads the stored file (not just pixels) of each sample.
        min_side: smallest shorter side (px) of a stored image the method can use, at its
            default parameters; the harness skips smaller train/val/test images for this
            detector (reason ``below_min_size``). Undeclared: ``MIN_SIDE`` (8 px), the floor
            the loader already applies, so nothing more is skipped.
        recipe: the source report's own parameters (``run --recipe paper``), where they differ
            from the CPU defaults; every key is a parameter of the detector.
    """

    name: str
    family: str
    paper: str
    input_size: int | None
    normalisation: str
    needs_gpu: bool = False
    needs_files: bool = False
    min_side: int = MIN_SIDE
    recipe: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipe", MappingProxyType(dict(self.recipe)))
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: family must be one of {FAMILIES}, got {self.family!r}")
        if not isinstance(self.min_side, int) or self.min_side < 1:
            raise ValueError(f"{self.name}: min_side must be a positive int, got {self.min_side!r}")

    @property
    def resolution_agnostic(self) -> bool:
        return self.input_size is None

    def as_dict(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k != "recipe"}
        agnostic = self.resolution_agnostic
        return fields | {"recipe": dict(self.recipe), "resolution_agnostic": agnostic}


@runtime_checkable
class Detector(Protocol):
    """Everything the harness relies on. ``BaseDetector`` implements the plumbing.

    Attributes:
        meta: set by ``create_detector`` from the registration.
        capabilities: the optional hooks of :data:`CAPABILITIES` this class provides.
        fit_version: bump when a code change alters what ``fit`` learns from the same
            parameters (cached fits are keyed by parameters and this number).
        pretrained_: after ``fit``, whether pretrained weights were loaded (``True``/``False``),
            or ``""`` for a detector that has none.
    """

    meta: DetectorMeta
    capabilities: ClassVar[frozenset[str]]
    fit_version: ClassVar[int | None]
    pretrained_: bool | str

    def fit(self, train: Sequence[Sample], val: Sequence[Sample] | None = None) -> Detector: ...

    def predict_proba(self, images: ImagesLike) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Detector: ...

    def save(self, directory: str | Path) -> Path: ...

    def min_image_side(self) -> int: ...

    def n_parameters(self) -> int: ...

    def cost_info(self) -> dict[str, Any] | None: ...


class BaseDetector:
    """Base class: ``get_params`` from the ``__init__`` signature, fitted checks, persistence.

    Subclasses implement ``_fit(train, val)`` and ``_predict_fake(samples) -> (n,) scores in
    [0, 1]``. Every built-in detector takes a ``seed`` keyword so a run is reproducible.
    Torch detectors override ``_save_fitted``/``_load_fitted`` to store a ``state_dict``
    (loaded with ``weights_only=True``); the default stores the ``*_`` attributes with joblib,
    which is a pickle: only load run folders you produced yourself.
    """

    meta: ClassVar[DetectorMeta]  # set per instance by ``create_detector``
    #: The optional hooks (:data:`CAPABILITIES`) this class provides.
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: Bump when a code change alters what ``fit`` learns from the same parameters: the
    #: harness keys cached fits by parameters and this number, so old fits are not reused.
    fit_version: ClassVar[int | None] = None
    #: Whether ``fit`` loaded pretrained weights; ``""``: the method has none.
    pretrained_: bool | str = ""

    # -- scikit-learn style parameters ---------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseDetector:
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {key!r}; valid: {sorted(valid)}"
                )
            setattr(self, key, value)
        return self

    # -- fit / predict -------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return getattr(self, "fitted_", False)

    def fit(self, train: Sequence[Sample], val: Sequence[Sample] | None = None) -> BaseDetector:
        train = as_samples(train)
        if len(train) == 0:
            raise ValueError(f"{self.meta.name}: empty training set")
        labels = {s.label for s in train}
        if not labels <= {LABEL_REAL, LABEL_FAKE} or len(labels) < 2:
            raise ValueError(
                f"{self.meta.name}: training set needs both labels 0 and 1, got {labels}"
            )
        self._fit(train, as_samples(val) if val is not None else None)
        self.fitted_ = True
        return self

    def predict_proba(self, images: ImagesLike) -> np.ndarray:
        if not self.is_fitted:
            raise NotFittedError(f"{self.meta.name} is not fitted yet: call fit(train, val) first")
        samples = as_samples(images)
        if len(samples) == 0:
            return np.zeros((0, 2))
        fake = np.asarray(self._predict_fake(samples), dtype=np.float64).reshape(-1)
        if fake.shape[0] != len(samples):
            raise RuntimeError(
                f"{self.meta.name}: got {fake.shape[0]} scores for {len(samples)} images"
            )
        fake = np.clip(np.nan_to_num(fake, nan=0.5), 0.0, 1.0)
        return np.stack([1.0 - fake, fake], axis=1)

    def _fit(self, train: list[Sample], val: list[Sample] | None) -> None:
        raise NotImplementedError

    def _predict_fake(self, samples: list[Sample]) -> np.ndarray:
        raise NotImplementedError

    def min_image_side(self) -> int:
        """Smallest shorter side (px) of a stored image this detector can use.

        The metadata's ``min_side``; detectors whose minimum follows a parameter (a grid step,
        a spectrum length) override this, and their metadata declares the default's value.
        """
        return self.meta.min_side

    def n_parameters(self) -> int:
        """Learned parameters after ``fit`` (weights, support vectors, codebook entries, ...).

        Every built-in detector states it; a plugin that does not gets NaN in the tables.
        """
        raise NotImplementedError(f"{type(self).__name__} does not state its parameter count")

    def cost_info(self) -> dict[str, Any] | None:
        """A cost the harness cannot measure with torch (e.g. SIFT descriptors per image),
        stated by the detector; ``None`` when timing measures everything."""
        return None

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write params and fitted state to ``directory`` (created)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        params = {k: v for k, v in self.get_params().items() if _jsonable(v)}
        (directory / "detector.json").write_text(
            json.dumps({"name": self.meta.name, "params": params}, indent=2, default=str)
        )
        self._save_fitted(directory)
        return directory

    def _save_fitted(self, directory: Path) -> None:
        import joblib

        state = {k: v for k, v in vars(self).items() if k.endswith("_")}
        joblib.dump(state, directory / "fitted.joblib")

    def _load_fitted(self, directory: Path) -> None:
        import joblib

        for key, value in joblib.load(directory / "fitted.joblib").items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def model_input_size(det: Any) -> int | None:
    """Side a detector's model works at: its ``input_size`` parameter, else its metadata's.

    ``None`` means resolution-agnostic (FFT spectra, SIFT, ...).
    """
    params = det.get_params()
    return params.get("input_size", det.meta.input_size)


def detector_min_side(det: Detector) -> int:
    """A detector's minimum image side (``min_image_side()``: its meta's, or what its
    parameters imply)."""
    return int(det.min_image_side())


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True
