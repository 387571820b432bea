"""fakebench: a comparative benchmark harness for deepfake image detectors."""

__version__ = "0.1.0"
