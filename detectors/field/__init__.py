"""The field's own deepfake detectors, trained from scratch (no pretrained weights needed).

One module per method, each cited by authors, title and year in its docstring, each with CPU
defaults that fit ``run --all`` and the paper's recipe behind ``run --recipe paper``.
"""
