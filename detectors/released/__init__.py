"""Released deepfake-detector checkpoints: their specs, strict loading, and the zoo's zero-shot
and fine-tuned detectors."""
