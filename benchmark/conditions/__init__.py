"""Test conditions: pure corruptions ``(image, severity, rng) -> image``, their parameter
tables, and the condition grid (clean, corruption × severity, resolution × mode).

``grid`` holds :class:`~benchmark.conditions.grid.Condition` and rendering; ``corruptions``
the functions (ImageNet-C and the field's own), ``parameters`` their per-severity tables;
``blur``, ``frost`` and ``weather`` the heavier ones.
"""
