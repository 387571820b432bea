"""Specs of released deepfake-detector checkpoints: where each file is, its format, its model.

Papers: Wang, Wang, Zhang, Owens, Efros, "CNN-generated images are surprisingly easy to spot...
for now" (CVPR 2020); Ojha, Li, Lee, "Towards Universal Fake Image Detectors that Generalize
Across Generative Models" (CVPR 2023); Tan et al., "Rethinking the Up-Sampling Operations in
CNN-based Generative Network for Generalizable Deepfake Detection" (CVPR 2024); Yan, Zhang,
Yuan, Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection" (NeurIPS 2023 D&B).

``sha256`` is ``None`` where the upstream hash is not known here (this machine cannot
download): ``weights fetch`` then pins the hash of the file it downloaded, and every later
load checks that pin. A known hash that does not match is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

HEADS = ("sigmoid1", "softmax2")  # one logit (fake = sigmoid) or two (fake = softmax index 1)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@dataclass(frozen=True)
class ReleasedSpec:
    """One released checkpoint: its file, its format (key rules), its model and its origin.

    Key rules, applied in order: ``wrapper`` (the dict key holding the state dict, or None),
    ``strip`` (prefixes removed where present), ``drop`` (prefixes of modules the published
    model holds but never runs, e.g. DeepfakeBench's unused ``adjust_channel``), ``renames``
    (prefix -> prefix). ``target``: the submodule of the built model the file fills ("" =
    all of it; UnivFD's file is its ``fc`` only).
    """

    name: str
    builder: Callable[[], Any]
    filename: str
    url: str
    sha256: str | None
    head: str
    mean_std: tuple[tuple[float, ...], tuple[float, ...]]
    input_policy: str
    input_size: int
    training_data: str
    licence: str
    citation: str
    wrapper: str | None = None
    strip: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    renames: Mapping[str, str] = field(default_factory=dict, hash=False)
    target: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "renames", MappingProxyType(dict(self.renames)))
        if self.head not in HEADS:
            raise ValueError(f"{self.name}: head must be one of {HEADS}, got {self.head!r}")


def resnet50_one_logit() -> Any:
    """CNNDetection's model: torchvision ResNet-50 with ``fc = Linear(2048, 1)``."""
    from torchvision.models import resnet50

    return resnet50(num_classes=1)


def dfb_xception() -> Any:
    """DeepfakeBench's Xception as timm's ``legacy_xception`` (same Cadene-style key names)."""
    import timm

    return timm.create_model("legacy_xception", pretrained=False, num_classes=2)


class UnivFD:  # a namespace for the builder, so tests can swap the CLIP config
    clip_model = "ViT-L-14"
    clip_pretrained: str | None = "openai"  # read from the Hugging Face cache, never fetched

    @classmethod
    def build(cls) -> Any:
        """CLIP image encoder (open_clip) + ``fc = Linear(width, 1)``."""
        import open_clip
        from torch import nn

        clip = open_clip.create_model(cls.clip_model, pretrained=cls.clip_pretrained)
        visual = clip.visual

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.visual = visual
                self.fc = nn.Linear(int(visual.output_dim), 1)

            def forward(self, x: Any) -> Any:
                return self.fc(self.visual(x))

        return Net()


_GH_DFB = "https://github.com/SCLBD/DeepfakeBench/releases/download/v1.0.1/"
_WANG = (
    "Wang, Wang, Zhang, Owens, Efros, CNN-generated images are surprisingly easy to spot... "
    "for now, 2020"
)
_DFB = "Yan, Zhang, Yuan, Wu, DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection, 2023"

SPECS: dict[str, ReleasedSpec] = {}


def _add(spec: ReleasedSpec) -> None:
    if spec.name in SPECS:
        raise ValueError(f"duplicate released spec {spec.name!r}")
    SPECS[spec.name] = spec


for _prob, _box in (("0.5", "2g2jagq2jn1fd0i"), ("0.1", "h7tkpcgiwuftb6g")):
    _add(ReleasedSpec(
        name=f"cnndetection_blur_jpg_prob{_prob.replace('.', '')}",
        builder=resnet50_one_logit, filename=f"blur_jpg_prob{_prob}.pth",
        url=f"https://www.dropbox.com/s/{_box}/blur_jpg_prob{_prob}.pth?dl=1", sha256=None,
        head="sigmoid1", mean_std=IMAGENET, input_policy="center_crop", input_size=224,
        training_data=f"ProGAN, 20 LSUN classes; blur+JPEG augmentation p={_prob}",
        licence="CC BY-NC-SA 4.0", citation=_WANG, wrapper="model",
    ))  # fmt: skip
_add(ReleasedSpec(
    name="univfd", builder=UnivFD.build, filename="fc_weights.pth",
    url="https://github.com/WisconsinAIVision/UniversalFakeDetect/raw/main/pretrained_weights/fc_weights.pth",
    sha256=None, head="sigmoid1", mean_std=(CLIP_MEAN, CLIP_STD), input_policy="center_crop",
    input_size=224, training_data="ProGAN (CNNDetection's training set)",
    licence="see the UniversalFakeDetect repository",
    citation="Ojha, Li, Lee, Towards Universal Fake Image Detectors that Generalize Across "
    "Generative Models, 2023", target="fc",
))  # fmt: skip
_add(ReleasedSpec(
    name="dfb_xception", builder=dfb_xception, filename="xception_best.pth",
    url=_GH_DFB + "xception_best.pth", sha256=None, head="softmax2", mean_std=HALF,
    input_policy="resize", input_size=256, training_data="FaceForensics++ (c23)",
    licence="CC BY-NC 4.0 (DeepfakeBench)", citation=_DFB, strip=("module.", "backbone."),
    drop=("adjust_channel.",), renames={"last_linear.": "fc."},
))  # fmt: skip


def get_spec(name: str) -> ReleasedSpec:
    if name not in SPECS:
        raise KeyError(f"unknown released checkpoint {name!r}; known: {sorted(SPECS)}")
    return SPECS[name]
