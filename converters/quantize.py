"""The one int8 recipe every int8 target shares: static post-training
quantization with torch pt2e and the XNNPACK quantizer configuration.

Weights are int8 symmetric per output channel (zero point 0, range
[-127, 127]); activations are int8 asymmetric per tensor ([-128, 127]),
their ranges set by histogram observers over the calibration set. The result
is the converted pt2e graph (float ops between quantize/dequantize pairs:
the computation every int8 artifact must reproduce) plus its quantization
parameters as plain JSON. Nothing here is specific to one runtime: the phone
build lowers the graph to XNNPACK, the microcontroller build reads the same
scales.

The output quantum (the unit of the int8 parity bar) is the scale of the
last quantized tensor before the graph output. The XNNPACK quantizer
quantizes a final conv / linear / mean / flatten itself, so usually that is
the output's own scale; a final op it leaves in float (tanh, sigmoid, amax)
scales the quantum by its Lipschitz bound, and one without a known bound
(e.g. exp) is refused.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import fx

from edge_affect.errors import ConversionError

# Images per calibration forward pass. Histogram observers refine their range
# per call, so the chunking is part of the recipe: fixed, for determinism.
CALIBRATION_BATCH = 64

QUANTIZER_DESCRIPTION = ("executorch XNNPACKQuantizer, "
                         "get_symmetric_quantization_config(is_per_channel=True), static")

# Ops that can sit between the last dequantize and the graph output because
# the quantizer leaves them in float, with a bound on how much they can
# stretch a difference in their input (Lipschitz constant). A one-LSB
# difference at the last int8 tensor moves the output by at most
# scale * product(bounds): that is the output quantum.
_FLOAT_TAIL_BOUNDS: dict[str, float] = {
    # value-preserving: output stays on the int8 grid
    "view": 1.0, "reshape": 1.0, "flatten": 1.0, "squeeze": 1.0, "unsqueeze": 1.0,
    "permute": 1.0, "clone": 1.0, "contiguous": 1.0, "_unsafe_view": 1.0,
    # computed in float by reference and artifact alike
    "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "hardtanh": 1.0, "clamp": 1.0,
    "amax": 1.0, "neg": 1.0,
}


@dataclass(frozen=True)
class QuantizedModel:
    """A pt2e-converted graph and its quantization parameters (JSON-serialisable)."""

    module: fx.GraphModule
    params: dict[str, Any]

    @property
    def output_quantum(self) -> float:
        """Largest output change one int8 step of the last quantized tensor can cause."""
        return float(self.params["output"]["quantum"])

    def runner(self) -> Callable[[np.ndarray], np.ndarray]:
        """float32 inputs (N, C, H, W) -> raw outputs (N, K) of the converted graph."""
        return lambda inputs: run_batched(self.module, inputs)


def check_calibration(calibration: Any, input_shape: tuple[int, ...]) -> np.ndarray:
    """The calibration set as (N, C, H, W) float32, N >= 1, finite; ConversionError otherwise."""
    expected = f"a float32 array (N, {', '.join(map(str, input_shape[1:]))}) with N >= 1"
    if not isinstance(calibration, np.ndarray):
        raise ConversionError(f"calibration: expected {expected}, got {type(calibration).__name__}")
    got = f"{calibration.dtype} {tuple(calibration.shape)}"
    if (calibration.dtype != np.float32 or calibration.ndim != len(input_shape)
            or tuple(calibration.shape[1:]) != tuple(input_shape[1:]) or len(calibration) == 0):
        raise ConversionError(f"calibration: expected {expected}, got {got}")
    if not np.all(np.isfinite(calibration)):
        raise ConversionError(f"calibration: expected finite values, got {int(np.sum(~np.isfinite(calibration)))} "
                              f"NaN/inf value(s) in {got}")
    return np.ascontiguousarray(calibration)


def capture(model: torch.nn.Module, example_input: torch.Tensor) -> fx.GraphModule:
    """torch.export the model with a dynamic batch dimension, as an fx GraphModule.

    A global mean written without keepdim is rewritten to mean(keepdim=True)
    + flatten: the same numbers, in the form runtimes map to one global
    average pool (XNNPACK rejects mean.dim with keepdim=False).
    """
    # Batch 2: torch.export specialises a dimension whose example size is 1.
    example = example_input.expand(2, *example_input.shape[1:]).contiguous()
    graph_module = _export_dynamic_batch(model.eval(), example)
    if _keepdim_global_means(graph_module):
        # Export again so every node's shape metadata describes the rewritten graph.
        graph_module = _export_dynamic_batch(graph_module, example)
    return graph_module


def _export_dynamic_batch(model: torch.nn.Module, example: torch.Tensor) -> fx.GraphModule:
    try:
        exported = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    except Exception as exc:  # torch raises many types here; all mean "cannot capture"
        raise ConversionError(f"torch.export of {type(model).__name__} with a dynamic batch dimension "
                              f"failed: {type(exc).__name__}: {exc}") from exc
    return exported.module()


def quantize_pt2e(model: torch.nn.Module, example_input: torch.Tensor, calibration: np.ndarray) -> QuantizedModel:
    """Calibrate and convert `model` (deterministic given the calibration set)."""
    # Imported here: torchao and executorch are heavy, and only int8 builds need them.
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (XNNPACKQuantizer,
                                                                          get_symmetric_quantization_config)
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    calibration = check_calibration(calibration, tuple(example_input.shape))
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(capture(model, example_input), quantizer)
    run_batched(prepared, calibration)
    converted = convert_pt2e(prepared)
    return QuantizedModel(module=converted, params=quantization_params(converted, len(calibration)))


def run_batched(module: Callable[[torch.Tensor], torch.Tensor], inputs: np.ndarray,
                batch: int = CALIBRATION_BATCH) -> np.ndarray:
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32))
            outputs.append(module(chunk).detach().numpy().copy())
    return np.concatenate(outputs).astype(np.float32, copy=False)


def quantization_params(module: fx.GraphModule, calibration_samples: int) -> dict[str, Any]:
    """Input, output, per-activation and per-weight parameters of a converted graph."""
    nodes = list(module.graph.nodes)
    activations = [
        {"tensor": n.args[0].name, "op": _producer_op(n), "scale": float(n.args[1]), "zero_point": int(n.args[2])}
        for n in nodes if _is_op(n, "quantize_per_tensor")
    ]
    weights = [_weight_record(module, n) for n in nodes
               if _is_op(n, "dequantize_per_channel") and n.args[0].op == "get_attr"]
    return {
        "scheme": {
            "quantizer": QUANTIZER_DESCRIPTION,
            "weights": "int8 symmetric per output channel (axis 0), zero point 0, range [-127, 127]",
            "activations": "int8 asymmetric per tensor, range [-128, 127], HistogramObserver",
            "bias": "float in the pt2e graph; integer kernels use int32 with scale input_scale * weight_scale[c]",
            "real_value": "(q - zero_point) * scale",
        },
        "calibration": {"samples": int(calibration_samples), "batch": CALIBRATION_BATCH},
        "input": _input_params(module),
        "output": _output_params(module),
        "activations": activations,
        "weights": weights,
    }


def _input_params(module: fx.GraphModule) -> dict[str, Any]:
    inputs = [n for n in module.graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise ConversionError(f"int8: expected a model with 1 input tensor, got {len(inputs)}")
    quantize = [u for u in inputs[0].users if _is_op(u, "quantize_per_tensor")]
    if not quantize:
        raise ConversionError("int8: the quantizer left the model input in float (its first op is not "
                              "quantizable), so there is no input scale / zero point for an int8 build")
    return {"scale": float(quantize[0].args[1]), "zero_point": int(quantize[0].args[2])}


def _output_params(module: fx.GraphModule) -> dict[str, Any]:
    """The int8 tensor behind the graph output, and the float ops (if any) after it."""
    (output_node,) = [n for n in module.graph.nodes if n.op == "output"]
    results = output_node.args[0]
    results = results if isinstance(results, (tuple, list)) else (results,)
    if len(results) != 1:
        raise ConversionError(f"int8: expected a model with 1 output tensor, got {len(results)}")
    node, tail = results[0], []
    while not _is_op(node, "dequantize_per_tensor"):
        if not isinstance(node, fx.Node) or node.op != "call_function":
            raise ConversionError("int8: the model output is not computed from a quantized tensor")
        name = _op_name(node)
        if name not in _FLOAT_TAIL_BOUNDS:
            raise ConversionError(
                f"int8: the quantizer leaves {name!r} in float after the last quantized tensor, and its "
                f"effect on a one-step int8 difference is unbounded; move it to the spec's post-processing "
                f"or use one of {sorted(_FLOAT_TAIL_BOUNDS)}")
        tail.append(name)
        node = node.args[0]
    scale, zero_point = float(node.args[1]), int(node.args[2])
    return {
        "scale": scale,
        "zero_point": zero_point,
        "float_ops_after": list(reversed(tail)),
        "quantum": scale * math.prod(_FLOAT_TAIL_BOUNDS[name] for name in tail),
    }


def _weight_record(module: fx.GraphModule, dequantize: fx.Node) -> dict[str, Any]:
    scales = getattr(module, dequantize.args[1].target)
    consumers = list(dequantize.users)
    return {
        "consumer": consumers[0].name if consumers else None,
        "op": _op_name(consumers[0]) if consumers else None,
        "axis": int(dequantize.args[3]),
        "scales": [float(s) for s in scales.flatten()],
    }


def _keepdim_global_means(graph_module: fx.GraphModule) -> bool:
    graph = graph_module.graph
    changed = False
    for node in list(graph.nodes):
        if node.target is not torch.ops.aten.mean.dim or node.kwargs.get("dtype") is not None:
            continue
        value = node.args[0].meta.get("val")
        keepdim = len(node.args) > 2 and bool(node.args[2])
        if value is None or value.dim() != 4 or keepdim:
            continue
        if sorted(d % 4 for d in node.args[1]) != [2, 3]:
            continue
        node.args = (node.args[0], list(node.args[1]), True)
        with graph.inserting_after(node):
            flat = graph.call_function(torch.ops.aten.flatten.using_ints, (node, 1, -1))
        node.replace_all_uses_with(flat, delete_user_cb=lambda user: user is not flat)
        changed = True
    if changed:
        graph.lint()
        graph_module.recompile()
    return changed


def _is_op(node: Any, name: str) -> bool:
    return (isinstance(node, fx.Node) and node.op == "call_function"
            and isinstance(node.target, torch._ops.OpOverload)
            and node.target.namespace == "quantized_decomposed" and node.target._opname == name)


def _op_name(node: fx.Node) -> str:
    if node.target is operator.getitem:
        return "getitem"
    return getattr(node.target, "_opname", getattr(node.target, "__name__", str(node.target)))


def _producer_op(quantize: fx.Node) -> str:
    producer = quantize.args[0]
    return "input" if producer.op == "placeholder" else _op_name(producer)
