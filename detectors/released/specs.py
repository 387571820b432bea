"""Specs of released deepfake-detector checkpoints: where each file is, its format, its model.

Papers: Wang, Wang, Zhang, Owens, Efros, "CNN-generated images are surprisingly easy to spot...
for now" (CVPR 2020); Ojha, Li, Lee, "Towards Universal Fake Image Detectors that Generalize
Across Generative Models" (CVPR 2023); Tan et al., "Rethinking the Up-Sampling Operations in
CNN-based Generative Network for Generalizable Deepfake Detection" (CVPR 2024); Yan, Zhang,
Yuan, Lyu, Wu, "DeepfakeBench: A Comprehensive Benchmark of Deepfake Detection" (NeurIPS 2023
D&B), whose v1.0.1 release holds a ``<name>_best.pth`` per detector: here every one whose
network the suite builds (``detectors.released.dfb_nets``).

File formats, from each source's own loading code: CNNDetection saves ``{'model': state_dict,
...}`` (its demo loads ``state_dict['model']``); NPR's ``NPR.pth`` is a plain state dict of its
truncated ResNet-50 (its ``test.py`` loads it strictly as is; a checkpoint of NPR's trainer
saved from ``DataParallel`` carries ``module.``, stripped where present); UnivFD's
``fc_weights.pth`` is the ``{'weight', 'bias'}`` of the linear layer on CLIP ViT-L/14 image
features; DeepfakeBench's are the detector's state dict (``backbone.`` and, from
``DataParallel``, ``module.``).

``sha256`` is ``None`` where the upstream hash is not known here (this machine cannot
download): ``weights fetch`` then pins the hash of the file it downloaded, and every later
load checks that pin. A known hash that does not match is refused. Each spec also registers
its file with ``benchmark.toolkit.weights`` (``weights list`` / ``weights fetch``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from benchmark.toolkit.weights import ReleasedFile, register_released
from detectors.released import dfb_nets

HEADS = ("sigmoid1", "softmax2")  # one logit (fake = sigmoid) or two (fake = softmax index 1)
POLICIES = ("resize", "center_crop", "native")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@dataclass(frozen=True)
class ReleasedSpec:
    """One released checkpoint: its file, its format (key rules), its model and its origin.

    ``builder(input_size, allow_random_init=False)`` returns the network, randomly initialised
    (``allow_random_init``: a pretrained part the file does not hold, UnivFD's CLIP, may start
    random when absent). Input: ``input_policy`` (``resize`` the whole image to ``input_size``;
    ``center_crop``: shorter side to ``input_size / crop_pct``, then the central square, i.e.
    the central 224 px of a 256 px image at 0.875; ``native``: as stored) and ``mean_std``.
    Key rules, applied in order: ``wrapper`` (the dict key holding the state dict, or None),
    ``strip`` (prefixes removed where present), ``drop`` (prefixes of modules the published
    model holds but never runs, e.g. DeepfakeBench's unused ``adjust_channel``), ``renames``
    (prefix -> prefix). ``target``: the submodule of the built model the file fills ("" =
    all of it; UnivFD's file is its ``fc`` only). ``paper``: the registry's citation (short
    forms of ``benchmark.core.references``); ``citation``: the full one.
    """

    name: str
    builder: Callable[..., Any]
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
    paper: str
    crop_pct: float = 0.875
    wrapper: str | None = None
    strip: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    renames: Mapping[str, str] = field(default_factory=dict, hash=False)
    target: str = ""
    requires: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "renames", MappingProxyType(dict(self.renames)))
        if self.head not in HEADS:
            raise ValueError(f"{self.name}: head must be one of {HEADS}, got {self.head!r}")
        if self.input_policy not in POLICIES:
            raise ValueError(f"{self.name}: input_policy must be one of {POLICIES}")


def resnet50_one_logit(input_size: int = 224, allow_random_init: bool = False) -> Any:
    """CNNDetection's model: torchvision ResNet-50 with ``fc = Linear(2048, 1)``."""
    from torchvision.models import resnet50

    return resnet50(num_classes=1)


def npr_net(input_size: int = 256, allow_random_init: bool = False) -> Any:
    """NPR's truncated ResNet-50 with the official key names and ``fc1 = Linear(512, 1)``."""
    from detectors.field.npr import build_npr

    return build_npr(num_classes=1)


class UnivFD:  # a namespace for the builder, so tests can swap the CLIP config
    clip_model = "ViT-L-14"
    clip_pretrained: str | None = "openai"  # read from the Hugging Face cache, never fetched

    @classmethod
    def build(cls, input_size: int = 224, allow_random_init: bool = False) -> Any:
        """CLIP image encoder (open_clip) + ``fc = Linear(width, 1)``; ``clip_source`` says
        which CLIP file was read (``random-init`` when none)."""
        import open_clip
        from torch import nn

        from benchmark.toolkit.weights import RANDOM_INIT, WeightsNotFoundError, locate

        source, quick_gelu = RANDOM_INIT, False
        if cls.clip_pretrained:  # the HF cache only: no download, offline or not
            ident = f"{cls.clip_model}/{cls.clip_pretrained}"
            where = locate("open_clip", ident)
            cfg = open_clip.get_pretrained_cfg(cls.clip_model, cls.clip_pretrained)
            quick_gelu = bool(cfg.get("quick_gelu", False))
            if where["cached"]:
                source = where["path"]
            elif not allow_random_init:
                raise WeightsNotFoundError(
                    f"CLIP {ident} weights for univfd are not in the Hugging Face cache "
                    f"({where['path']}; nothing is downloaded): run `python -m benchmark "
                    f"weights fetch univfd` on a connected machine"
                )
        native = open_clip.get_model_config(cls.clip_model)["vision_cfg"]["image_size"]
        clip = open_clip.create_model(
            cls.clip_model, pretrained=None if source == RANDOM_INIT else source,
            force_quick_gelu=quick_gelu,  # OpenAI's CLIP uses QuickGELU; open_clip only warns
            force_image_size=None if int(input_size) == native else int(input_size),
        )  # fmt: skip
        visual = clip.visual

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.visual = visual
                self.fc = nn.Linear(int(visual.output_dim), 1)
                self.clip_source = source

            def features(self, x: Any) -> Any:
                return self.visual(x)

            def forward(self, x: Any) -> Any:
                return self.fc(self.visual(x))

        return Net()


_GH_DFB = "https://github.com/SCLBD/DeepfakeBench/releases/download/v1.0.1/"
_WANG = (
    "Wang, Wang, Zhang, Owens, Efros, CNN-generated images are surprisingly easy to spot... "
    "for now, 2020"
)
_DFB = (
    "Yan, Zhang, Yuan, Lyu, Wu, DeepfakeBench: A Comprehensive Benchmark of Deepfake "
    "Detection, 2023"
)
_DFB_DATA = "FaceForensics++ (c23), 256 px face crops"
_DFB_LICENCE = "CC BY-NC 4.0 (DeepfakeBench)"

SPECS: dict[str, ReleasedSpec] = {}


def _add(spec: ReleasedSpec) -> None:
    if spec.name in SPECS:
        raise ValueError(f"duplicate released spec {spec.name!r}")
    SPECS[spec.name] = spec
    register_released(ReleasedFile(spec.name, spec.filename, spec.url, spec.sha256,
                                   spec.training_data, spec.licence, spec.requires))  # fmt: skip


for _prob, _box in (("0.5", "2g2jagq2jn1fd0i"), ("0.1", "h7tkpcgiwuftb6g")):
    _add(ReleasedSpec(
        name=f"cnndetection_blur_jpg_prob{_prob.replace('.', '')}",
        builder=resnet50_one_logit, filename=f"blur_jpg_prob{_prob}.pth",
        url=f"https://www.dropbox.com/s/{_box}/blur_jpg_prob{_prob}.pth?dl=1", sha256=None,
        head="sigmoid1", mean_std=IMAGENET, input_policy="center_crop", input_size=224,
        training_data=f"ProGAN, 20 LSUN classes; blur+JPEG augmentation p={_prob}",
        licence="CC BY-NC-SA 4.0", citation=_WANG, wrapper="model",
        paper=f"Wang et al. 2020, CNN-generated images are surprisingly easy to spot... for "
        f"now (released ResNet-50, blur_jpg_prob{_prob})",
    ))  # fmt: skip
_add(ReleasedSpec(
    name="univfd", builder=UnivFD.build, filename="fc_weights.pth",
    url="https://github.com/WisconsinAIVision/UniversalFakeDetect/raw/main/pretrained_weights/fc_weights.pth",
    sha256=None, head="sigmoid1", mean_std=(CLIP_MEAN, CLIP_STD), input_policy="center_crop",
    input_size=224, training_data="ProGAN (CNNDetection's training set)",
    licence="see the UniversalFakeDetect repository",
    citation="Ojha, Li, Lee, Towards Universal Fake Image Detectors that Generalize Across "
    "Generative Models, 2023", target="fc", requires=(("open_clip", "ViT-L-14/openai"),),
    paper="Ojha, Li, Lee 2023, Towards Universal Fake Image Detectors that Generalize Across "
    "Generative Models (CLIP ViT-L/14 + linear layer, on Wang et al. 2020's ProGAN set)",
))  # fmt: skip
_add(ReleasedSpec(
    name="npr_released", builder=npr_net, filename="NPR.pth",
    url="https://github.com/chuangchuangtan/NPR-DeepfakeDetection/raw/main/NPR.pth",
    sha256=None, head="sigmoid1", mean_std=IMAGENET, input_policy="resize", input_size=256,
    training_data="ProGAN, 4 LSUN classes (car, cat, chair, horse)",
    licence="none stated in the NPR-DeepfakeDetection repository",
    citation="Tan, Liu, Zhao, Wei, Gu, Liu, Wei, Rethinking the Up-Sampling Operations in "
    "CNN-based Generative Network for Generalizable Deepfake Detection, 2024",
    strip=("module.",),
    paper="Tan et al. 2024, Rethinking the Up-Sampling Operations ... (NPR, released NPR.pth)",
))  # fmt: skip
_DFB_NETS = (  # name, file, builder, the paper of the method
    ("dfb_xception", "xception", dfb_nets.xception, "Chollet 2017, Xception"),
    ("dfb_meso4", "meso4", dfb_nets.meso4, "Afchar et al. 2018, MesoNet (Meso-4)"),
    ("dfb_meso4incep", "meso4Incep", dfb_nets.meso4_inception,
     "Afchar et al. 2018, MesoNet (MesoInception-4)"),
    ("dfb_effnb4", "effnb4", dfb_nets.efficientnet_b4, "Tan & Le 2019, EfficientNet-B4"),
    ("dfb_cnnaug", "cnnaug", dfb_nets.resnet34, "Wang et al. 2020, CNN-Aug on ResNet-34"),
    ("dfb_core", "core", dfb_nets.xception,
     "Ni et al. 2022, CORE: Consistent Representation Learning (Xception)"),
)  # fmt: skip
for _name, _file, _builder, _paper in _DFB_NETS:
    _add(ReleasedSpec(
        name=_name, builder=_builder, filename=f"{_file}_best.pth",
        url=f"{_GH_DFB}{_file}_best.pth", sha256=None, head="softmax2", mean_std=HALF,
        input_policy="resize", input_size=256,
        training_data=_DFB_DATA, licence=_DFB_LICENCE, citation=_DFB,
        strip=("module.", "backbone."), drop=("adjust_channel.",),
        renames={"last_linear.": "fc."} if _builder is dfb_nets.xception else {},
        paper=f"{_paper}; DeepfakeBench v1.0.1 checkpoint (Yan et al. 2023)",
    ))  # fmt: skip


def get_spec(name: str) -> ReleasedSpec:
    if name not in SPECS:
        raise KeyError(f"unknown released checkpoint {name!r}; known: {sorted(SPECS)}")
    return SPECS[name]
