"""Built-in detector plugins. Each module registers its factories with ``@register_detector``."""
