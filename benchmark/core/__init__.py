"""The bottom layer: samples and datasets, events, atomic writes and provenance, metrics,
references. Imports nothing else of fakebench."""
