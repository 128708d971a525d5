"""Model registry and the registered models."""

from edge_affect.models import zoo  # noqa: F401  (registers the models)
from edge_affect.models.registry import (ModelEntry, count_macs, count_params, create_model, get_entry,
                                         get_spec, list_models, register_model)

__all__ = ["ModelEntry", "register_model", "create_model", "list_models", "get_entry", "get_spec",
           "count_params", "count_macs"]
