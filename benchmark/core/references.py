"""Every work fakebench cites: a short form for tables and ``list``, the full reference for docs.

Detector metadata (``DetectorMeta.paper``) and table captions cite by the short form
("Durall et al. 2020"); ``python -m benchmark list --references`` and the README's
References section print the full entries. The five source reports the project started
from are cited by their authors and titles like any other work.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    short: str
    full: str


REFERENCES: dict[str, Reference] = {
    r.short: r
    for r in (
        # -- the source reports (student reports and an arXiv preprint) ----------------------
        Reference(
            "Congiu et al. 2025",
            "F. Congiu, S. Giuffrida, F. Littera, G. Puglisi. Deep Learning and Applications, "
            "Module I - Deepfake Detection. University of Cagliari, report, April 2025.",
        ),
        Reference(
            "Govi, Poppi, Marinelli",
            "E. Govi, T. Poppi, F. Marinelli. Deep Learning for DeepFake Creation and "
            "Detection. University of Modena and Reggio Emilia, student report (undated).",
        ),
        Reference(
            "Leonardi",
            "G. Leonardi. DeepFake Detection: Fine-tuning Pretrained Networks to Identify the "
            "Best Model for Distinguishing Real and Fake Faces. University of Catania, Data "
            "Science, student report (undated).",
        ),
        Reference(
            "Ohayon 2025",
            "B. Ohayon. Computer Vision Project: Facial Manipulation Detection. Report, "
            "February 2025.",
        ),
        Reference(
            "Kroiß & Reschke 2025",
            "L. Kroiß, J. Reschke. Deepfake Detection of Face Images based on a Convolutional "
            "Neural Network. arXiv:2503.11389, 2025.",
        ),
        # -- methods -----------------------------------------------------------------------
        Reference(
            "Durall et al. 2019",
            "R. Durall, M. Keuper, F.-J. Pfreundt, J. Keuper. Unmasking DeepFakes with simple "
            "Features. arXiv:1911.00686, 2019.",
        ),
        Reference(
            "Durall et al. 2020",
            "R. Durall, M. Keuper, J. Keuper. Watch your Up-Convolution: CNN Based Generative "
            "Deep Neural Networks are Failing to Reproduce Spectral Distributions. CVPR 2020.",
        ),
        Reference(
            "Wang et al. 2020",
            "S.-Y. Wang, O. Wang, R. Zhang, A. Owens, A. A. Efros. CNN-generated images are "
            "surprisingly easy to spot... for now. CVPR 2020.",
        ),
        Reference(
            "Chollet 2017",
            "F. Chollet. Xception: Deep Learning with Depthwise Separable Convolutions. CVPR 2017.",
        ),
        Reference(
            "Lowe 2004",
            "D. G. Lowe. Distinctive Image Features from Scale-Invariant Keypoints. IJCV 60(2), "
            "2004.",
        ),
        Reference(
            "Csurka et al. 2004",
            "G. Csurka, C. Dance, L. Fan, J. Willamowski, C. Bray. Visual Categorization with "
            "Bags of Keypoints. ECCV Workshop on Statistical Learning in Computer Vision, 2004.",
        ),
        Reference(
            "Harris & Stephens 1988",
            "C. Harris, M. Stephens. A Combined Corner and Edge Detector. Alvey Vision "
            "Conference, 1988.",
        ),
        Reference(
            "He et al. 2016",
            "K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. "
            "CVPR 2016.",
        ),
        Reference(
            "Sandler et al. 2018",
            "M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen. MobileNetV2: Inverted "
            "Residuals and Linear Bottlenecks. CVPR 2018.",
        ),
        Reference(
            "Tan & Le 2019",
            "M. Tan, Q. V. Le. EfficientNet: Rethinking Model Scaling for Convolutional Neural "
            "Networks. ICML 2019.",
        ),
        Reference(
            "Huang et al. 2017",
            "G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger. Densely Connected "
            "Convolutional Networks. CVPR 2017.",
        ),
        Reference(
            "Dosovitskiy et al. 2021",
            "A. Dosovitskiy et al. An Image is Worth 16x16 Words: Transformers for Image "
            "Recognition at Scale. ICLR 2021.",
        ),
        Reference(
            "Li et al. 2020",
            "L. Li, J. Bao, T. Zhang, H. Yang, D. Chen, F. Wen, B. Guo. Face X-ray for More "
            "General Face Forgery Detection. CVPR 2020.",
        ),
        # -- benchmarks, corruptions, datasets, statistics ---------------------------------
        Reference(
            "Hendrycks & Dietterich 2019",
            "D. Hendrycks, T. Dietterich. Benchmarking Neural Network Robustness to Common "
            "Corruptions and Perturbations. ICLR 2019 (ImageNet-C).",
        ),
        Reference(
            "Jiang et al. 2020",
            "L. Jiang, R. Li, W. Wu, C. Qian, C. C. Loy. DeeperForensics-1.0: A Large-Scale "
            "Dataset for Real-World Face Forgery Detection. CVPR 2020.",
        ),
        Reference(
            "Yan et al. 2023",
            "Z. Yan, Y. Zhang, X. Yuan, S. Lyu, B. Wu. DeepfakeBench: A Comprehensive "
            "Benchmark of Deepfake Detection. NeurIPS 2023 Datasets and Benchmarks.",
        ),
        Reference(
            "Rössler et al. 2019",
            "A. Rössler, D. Cozzolino, L. Verdoliva, C. Riess, J. Thies, M. Nießner. "
            "FaceForensics++: Learning to Detect Manipulated Facial Images. ICCV 2019.",
        ),
        Reference(
            "Le et al. 2021",
            "T.-N. Le, H. H. Nguyen, J. Yamagishi, I. Echizen. OpenForensics: Large-Scale "
            "Challenging Dataset For Multi-Face Forgery Detection And Segmentation "
            "In-The-Wild. ICCV 2021.",
        ),
        Reference(
            "Selvaraju et al. 2017",
            "R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra. Grad-CAM: "
            "Visual Explanations from Deep Networks via Gradient-based Localization. ICCV 2017.",
        ),
        Reference(
            "DeLong et al. 1988",
            "E. R. DeLong, D. M. DeLong, D. L. Clarke-Pearson. Comparing the Areas under Two "
            "or More Correlated Receiver Operating Characteristic Curves: A Nonparametric "
            "Approach. Biometrics 44(3), 1988.",
        ),
        Reference(
            "Tan et al. 2024",
            "C. Tan, H. Liu, Y. Zhao, S. Wei, G. Gu, P. Liu, Y. Wei. Rethinking the Up-Sampling "
            "Operations in CNN-based Generative Network for Generalizable Deepfake Detection. "
            "CVPR 2024.",
        ),
        Reference(
            "Afchar et al. 2018",
            "D. Afchar, V. Nozick, J. Yamagishi, I. Echizen. MesoNet: a Compact Facial Video "
            "Forgery Detection Network. WIFS 2018.",
        ),
        Reference(
            "Chai et al. 2020",
            "L. Chai, D. Bau, S.-N. Lim, P. Isola. What makes fake images detectable? "
            "Understanding properties that generalize. ECCV 2020.",
        ),
        Reference(
            "Frank et al. 2020",
            "J. Frank, T. Eisenhofer, L. Schönherr, A. Fischer, D. Kolossa, T. Holz. Leveraging "
            "Frequency Analysis for Deep Fake Image Recognition. ICML 2020.",
        ),
        Reference(
            "Nataraj et al. 2019",
            "L. Nataraj, T. M. Mohammed, S. Chandrasekaran, A. Flenner, J. H. Bappy, "
            "A. K. Roy-Chowdhury, B. S. Manjunath. Detecting GAN generated Fake Images using "
            "Co-occurrence Matrices. Electronic Imaging 2019.",
        ),
        Reference(
            "McNemar 1947",
            "Q. McNemar. Note on the sampling error of the difference between correlated "
            "proportions or percentages. Psychometrika 12(2), 1947.",
        ),
    )
}


def cited_in(text: str) -> list[Reference]:
    """The references whose short form appears in ``text`` (e.g. a detector's ``paper``)."""
    return [ref for short, ref in REFERENCES.items() if short in text]


def markdown() -> str:
    """The references as a Markdown list (the README's References section is this list)."""
    return "\n".join(f"- **{r.short}.** {r.full}" for r in REFERENCES.values()) + "\n"
