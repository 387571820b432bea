"""One-logit heads for the shared two-logit loop: ``[0, z]`` has softmax ``[1 - σ(z), σ(z)]``.

The shared loop (``detectors.deep.loop``) trains with two-logit cross-entropy; on ``[0, z]`` it
equals binary cross-entropy with logits on ``z``, so a paper's single sigmoid output trains
unchanged. The wrapped network stays reachable as ``.net``: a released checkpoint loads
strictly with ``wrapper.net.load_state_dict(sd)`` (the wrapper's own keys carry ``net.``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def two_logit(net: nn.Module) -> nn.Module:
    """Wrap a ``(N, 1)``-logit network so it returns ``(N, 2)`` logits ``[0, z]``."""
    import torch
    from torch import nn

    class OneLogit(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.net = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.net(x).reshape(len(x), 1)
            return torch.cat([torch.zeros_like(z), z], dim=1)

    return OneLogit(net)
