"""What detectors build on: the per-sample feature cache and pretrained-weight resolution.

Nothing here knows the harness; detectors import it, the engine does not need to.
"""
