"""Released deepfake-detector checkpoints (a spec registry and strict loading; issue #22)."""
