"""Target converters, installed as ``edge_affect.converters``.

One module per target, one interface (``base.Converter``). Modules are
imported only when their target is asked for, so a missing optional runtime
for one target never breaks the others.
"""

from __future__ import annotations

import importlib

from edge_affect.errors import ConversionError

# target -> (module, class, default precision)
TARGETS: dict[str, tuple[str, str]] = {
    "executorch": ("edge_affect.converters.executorch", "ExecuTorchConverter"),
    "onnx": ("edge_affect.converters.onnx", "OnnxConverter"),
    "coreml": ("edge_affect.converters.coreml", "CoreMLConverter"),
    "apollo3": ("edge_affect.converters.apollo3.converter", "Apollo3Converter"),
}
# Targets that phones run; `convert --target all` builds every precision of each.
PHONE_TARGETS = ("executorch", "coreml", "onnx")


def get_converter(target: str):
    try:
        module_name, class_name = TARGETS[target]
    except KeyError:
        raise ConversionError(f"target {target!r} is unknown; expected one of {sorted(TARGETS)}") from None
    return getattr(importlib.import_module(module_name), class_name)()
