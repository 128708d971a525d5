"""Parameter and MAC counts of a registered model without allocating its weights.

The full-size entries (ocular M1/M2 with FC-6144 layers, ResNet152) hold
hundreds of MB of weights and take seconds per forward pass. Built under
torch's meta device, every parameter and activation is a shape with no
storage, so the same counting rules as ``count_params`` / ``count_macs``
(forward hooks on conv and linear layers) run by shape propagation alone,
in milliseconds and a few MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edge_affect.models.registry import count_macs, count_params, create_model, get_entry


@dataclass(frozen=True)
class ModelCost:
    params: int
    macs: int  # of one forward pass on the spec's input shape (batch 1)


def meta_model(name: str, **model_kwargs) -> nn.Module:
    """Registered model ``name`` with every parameter and buffer on the meta device."""
    with torch.device("meta"):
        return create_model(name, pretrained=False, **model_kwargs)


def model_cost(name: str, **model_kwargs) -> ModelCost:
    """Params and MACs of registered model ``name`` (built with ``model_kwargs``)
    on its spec's input shape; equal to count_params / count_macs of a real instance."""
    shape = get_entry(name).spec.input.shape
    model = meta_model(name, **model_kwargs)
    # The device context puts count_macs' probe input (torch.zeros) on meta too.
    with torch.device("meta"):
        return ModelCost(params=count_params(model), macs=count_macs(model, shape))


__all__ = ["ModelCost", "meta_model", "model_cost"]
