"""DeepfakeBench's protocol: train on FaceForensics++ c23, test within it and across datasets.

Yan, Zhang, Yuan, Lyu, Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection",
NeurIPS 2023 D&B: detectors are trained on FF++ c23 (its real videos and the four
manipulations Deepfakes, Face2Face, FaceSwap and NeuralTextures; 32 frames per video) and
frame-level AUC is reported within FF++ (c23, c40 and each manipulation) and across datasets
(Celeb-DF v1 and v2, DeeperForensics-1.0, DFD, DFDC, DFDC-preview, FaceShifter, UADFV).

:func:`deepfakebench_sets` assembles the training set and the test sets from datasets loaded by
their official readers (``benchmark.data.official``, ``official_lists``): FaceShifter's fakes
(shipped in the FF++ download) are held out of every FF++ split and become the ``Fsh`` test set
(FF++'s test reals against them), FF++ c40 is a test set of its own, and each test set's
DeepfakeBench column is recognised from its layout (``column_of``). The cross-dataset cell
(``engine.cross``) fits and scores them; validation is FF++'s ``val.json``. DeepfakeBench keeps
the checkpoint that scores best on the test set; here validation decides everything and each
test set is scored once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from benchmark.core.samples import Dataset
from benchmark.engine.leave_one_out import drop_families, families, family, family_test

#: FF++'s four training manipulations and their DeepfakeBench columns.
FFPP_FOUR = {"Deepfakes": "FF-DF", "Face2Face": "FF-F2F", "FaceSwap": "FF-FS",
             "NeuralTextures": "FF-NT"}  # fmt: skip
#: DeepfakeBench's columns, within FF++ and across datasets, in its order.
WITHIN = ("FF++_c23", "FF++_c40", "FF-DF", "FF-F2F", "FF-FS", "FF-NT")
CROSS = ("CDFv1", "CDFv2", "DF-1.0", "DFD", "DFDC", "DFDCP", "Fsh", "UADFV")
LAYOUT_COLUMNS = {"dfdc": "DFDC", "dfdc-preview": "DFDCP", "deeperforensics": "DF-1.0"}


@dataclass(frozen=True)
class ProtocolSets:
    """What the protocol fits and scores.

    Attributes:
        train: FF++ c23 with the four manipulations only (train, val and test splits).
        targets: the other test sets (FF++ c40, FaceShifter, the cross datasets).
        columns: ``(test_on, subset) -> DeepfakeBench column`` of every cell it publishes.
    """

    train: Dataset
    targets: tuple[Dataset, ...]
    columns: Mapping[tuple[str, str], str]


def _first(dataset: Dataset, key: str) -> str:
    samples = dataset.test or dataset.train
    return str(samples[0].meta.get(key, "")) if samples else ""


def column_of(dataset: Dataset) -> str | None:
    """The DeepfakeBench column a test set fills, from its layout (and, for Celeb-DF, a
    ``v1`` in its folder name; v2 otherwise), or None when it is none of them.

    DFD and UADFV have no official reader: a folder in the generic ``video`` layout whose name
    says ``uadfv``, or holding FF++'s ``DeepFakeDetection`` videos, is recognised.
    """
    layout, name = _first(dataset, "layout"), dataset.name.lower()
    compact = name.replace("-", "").replace("_", "")
    if layout.startswith("ff++"):
        comp = _first(dataset, "compression")
        return f"FF++_{comp}" if comp in ("c23", "c40") else None
    if layout == "celeb-df":
        return "CDFv1" if "v1" in compact else "CDFv2"
    if layout in LAYOUT_COLUMNS:
        return LAYOUT_COLUMNS[layout]
    fams = {family(s) for s in dataset.test if s.label}
    if "uadfv" in compact:
        return "UADFV"
    if "DeepFakeDetection" in fams or "deepfakedetection" in compact or compact == "dfd":
        return "DFD"
    return None


def deepfakebench_sets(
    ffpp: Dataset, others: list[Dataset], c40: Dataset | None = None
) -> ProtocolSets:
    """The protocol's training set, test sets and their columns.

    Args:
        ffpp: FaceForensics++ at c23 in its official splits (``--layout ff++-c23``).
        others: the cross-dataset test sets (their test splits are scored).
        c40: FaceForensics++ at c40, when its videos are there.

    Raises:
        ValueError: ``ffpp`` is not FF++ c23 with at least one of the four manipulations, or
            two test sets share a name.
    """
    if column_of(ffpp) != "FF++_c23":
        raise ValueError(
            f"dataset {ffpp.name!r}: DeepfakeBench's protocol trains on FaceForensics++ c23 in "
            "its official splits (the ff++ layout: original_sequences/, manipulated_sequences/ "
            "and dataset/splits/{train,val,test}.json)"
        )
    four = [f for f in families(ffpp) if f in FFPP_FOUR]
    if not four:
        raise ValueError(f"{ffpp.name}: none of {', '.join(FFPP_FOUR)} has train and test videos")
    extra = {family(s) for ss in ffpp.splits.values() for s in ss if s.label} - set(FFPP_FOUR)
    train = drop_families(ffpp, extra)
    columns = {(train.name, "all"): "FF++_c23"} | {(train.name, f): FFPP_FOUR[f] for f in four}
    targets = []
    if c40 is not None:
        c40 = dataclasses.replace(drop_families(c40, extra), name=f"{ffpp.name}-c40")
        targets.append(c40)
        columns[(c40.name, "all")] = "FF++_c40"
    if any(family(s) == "FaceShifter" for s in ffpp.test):
        fsh = family_test(ffpp, "FaceShifter", f"{ffpp.name}-FaceShifter")
        targets.append(fsh)
        columns[(fsh.name, "all")] = "Fsh"
    for ds in others:
        col = column_of(ds)
        targets.append(ds)
        if col is not None and col not in columns.values():
            columns[(ds.name, "all")] = col
    names = [train.name] + [t.name for t in targets]
    if len(set(names)) < len(names):
        raise ValueError(f"test sets must have distinct names, got {', '.join(names)}")
    return ProtocolSets(train, tuple(targets), columns)
