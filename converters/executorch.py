"""ExecuTorch target: a .pte program with the whole graph delegated to XNNPACK.

fp32 lowers the captured float graph; int8 lowers the pt2e-converted graph
of the shared recipe (converters.quantize), whose quantize/dequantize pairs
XNNPACK fuses into integer kernels. CI runs the artifact in
executorch.runtime, the same C++ runtime and XNNPACK build the Android
demo links.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edge_affect.converters.base import Converter, ExportResult, Runner
from edge_affect.converters.quantize import QuantizedModel, capture, quantize_pt2e
from edge_affect.errors import BundleError, ConversionError, InputError
from edge_affect.models.runner import eager_runner
from edge_affect.spec import PipelineSpec

ARTIFACT = "model.pte"
XNNPACK_BACKEND = "XnnpackBackend"
# fp32 bar on raw outputs. The runtime only reorders float sums: measured
# max |d logits| 8.6e-6 on mini-Xception logits up to |16| (4-5 ulps), so
# 1e-5 would sit at the edge. Probabilities (the parity bar, 1e-5) are
# tighter by construction: softmax never magnifies a logit difference.
FP32_TOLERANCE = 1e-4
# int8 bar, in output quanta. Op by op, XNNPACK's integer kernels equal the
# pt2e float simulation except for rare requantization ties (measured: 0.03%
# of conv outputs, 0.1% of adds, 0.6% of global means off by one step). In a
# 20-layer network those flips propagate and add up: mini-Xception on 200
# synthetic faces gave 64.6% of logits exact, 33.6% one step off, 1.8% two,
# 0.07% three (max three, mean offset ~0). So the bar is three quanta, not
# one; quantization["output"]["quantum"] keeps the single step.
INT8_TOLERANCE_QUANTA = 3
# Float32 rounding of the two dequantisations ((q - zp) * scale, computed
# separately by reference and runtime) on top of whole quanta.
INT8_QUANTUM_SLACK = 1e-4


class ExecuTorchConverter(Converter):
    target = "executorch"
    precisions = ("fp32", "int8")

    def __init__(self) -> None:
        # export() and then reference() on the same model and calibration set
        # (what the bundle builder does) calibrate once.
        self._last_quantized: tuple[torch.nn.Module, str, QuantizedModel] | None = None

    def reference(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
                  calibration: np.ndarray) -> Runner:
        _check_precision(precision, self.precisions)
        if precision == "fp32":
            return eager_runner(model)
        return self._quantize(model, spec, calibration).runner()

    def export(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
               calibration: np.ndarray, workdir: Path) -> ExportResult:
        _check_precision(precision, self.precisions)
        example = torch.zeros(spec.input.shape)
        tools = {"torch": torch.__version__, "executorch": version("executorch")}
        if precision == "fp32":
            graph, quantization, tolerance, notes = capture(model, example), None, FP32_TOLERANCE, {}
        else:
            quantized = self._quantize(model, spec, calibration)
            graph, quantization = quantized.module, quantized.params
            tolerance = INT8_TOLERANCE_QUANTA * quantized.output_quantum * (1 + INT8_QUANTUM_SLACK)
            tools["torchao"] = version("torchao")
            notes = {"tolerance_quanta": INT8_TOLERANCE_QUANTA}
        program, delegation = lower_to_xnnpack(graph, example)
        with open(Path(workdir) / ARTIFACT, "wb") as f:
            program.write_to_file(f)
        return ExportResult(artifact=ARTIFACT, tools=tools, quantization=quantization,
                            output_tolerance=tolerance, extra_manifest={"executorch": {**delegation, **notes}})

    def load(self, bundle_dir: Path, manifest: dict[str, Any]) -> Runner:
        if self.threads:
            # XNNPACK's thread pool is process-wide; this is the only knob the Python runtime exposes.
            from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

            _unsafe_reset_threadpool(self.threads)
        return pte_runner(Path(bundle_dir) / manifest.get("artifact", ARTIFACT))

    def can_execute(self) -> tuple[bool, str]:
        from executorch.runtime import Runtime

        if not Runtime.get().backend_registry.is_available(XNNPACK_BACKEND):
            return False, f"this executorch build has no {XNNPACK_BACKEND}"
        return True, ""

    def _quantize(self, model: torch.nn.Module, spec: PipelineSpec, calibration: np.ndarray) -> QuantizedModel:
        key = _fingerprint(model, calibration)
        if self._last_quantized is not None and self._last_quantized[0] is model and self._last_quantized[1] == key:
            return self._last_quantized[2]
        quantized = quantize_pt2e(model, torch.zeros(spec.input.shape), calibration)
        self._last_quantized = (model, key, quantized)
        return quantized


def lower_to_xnnpack(graph: torch.nn.Module, example: torch.Tensor):
    """Export at batch 1, delegate to XNNPACK, return (ExecutorchProgramManager, delegation summary)."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    exported = torch.export.export(graph, (example,))
    _finite_max_pool_padding(exported.graph_module)
    try:
        edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
        program = edge.to_executorch()
    except Exception as exc:  # lowering raises anything from flatc errors to asserts
        raise ConversionError(f"executorch: lowering to XNNPACK failed: {type(exc).__name__}: {exc}") from exc
    return program, delegation_summary(edge.exported_program().graph_module)


def delegation_summary(graph_module: torch.fx.GraphModule) -> dict[str, Any]:
    """Which ops XNNPACK runs and which fall back to ExecuTorch's portable kernels."""
    delegated: Counter[str] = Counter()
    fallback: Counter[str] = Counter()
    subgraphs = 0
    for node in graph_module.graph.nodes:
        if node.op == "get_attr" and node.name.startswith("lowered_module"):
            subgraphs += 1
            lowered = getattr(graph_module, node.target)
            delegated.update(_op_name(n) for n in lowered.original_module.graph.nodes
                             if n.op == "call_function" and n.target is not operator.getitem)
        elif node.op == "call_function" and node.target is not operator.getitem \
                and _op_name(node) != "executorch_call_delegate":
            fallback[_op_name(node)] += 1
    return {
        "delegate": XNNPACK_BACKEND,
        "delegated_subgraphs": subgraphs,
        "delegated_ops": sum(delegated.values()),
        "delegated_by_op": dict(sorted(delegated.items())),
        "non_delegated_ops": dict(sorted(fallback.items())),
    }


def pte_runner(path: Path) -> Runner:
    """Run a batch-1 .pte row by row in executorch.runtime."""
    from executorch.runtime import Runtime

    if not path.is_file():
        raise BundleError(f"{path}: ExecuTorch program not found")
    method = Runtime.get().load_program(path).load_method("forward")
    input_shape = tuple(method.metadata.input_tensor_meta(0).sizes())

    def run(inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.dtype != np.float32 or inputs.ndim != 4 or inputs.shape[1:] != input_shape[1:]:
            raise InputError(f"{path.name}: expected float32 inputs (N, {', '.join(map(str, input_shape[1:]))}), "
                             f"got {inputs.dtype} {inputs.shape}")
        rows = []
        for row in inputs:
            (output,) = method.execute([torch.from_numpy(np.ascontiguousarray(row[None]))])
            rows.append(output.numpy().copy())  # the runtime reuses its output buffer
        return np.concatenate(rows)

    return run


def _finite_max_pool_padding(graph_module: torch.fx.GraphModule) -> None:
    """-inf constant padding in front of a max-pool -> the lowest finite float.

    ExecuTorch 1.4.1 writes XNNPACK graphs through JSON, and its flatc cannot
    parse -Infinity (fixed upstream after 1.4.1). For a max-pool the lowest
    finite float is exactly equivalent, as long as no window lies entirely in
    the padding.
    """
    pad_ops = (torch.ops.aten.pad.default, torch.ops.aten.constant_pad_nd.default)
    changed = False
    for node in graph_module.graph.nodes:
        if node.op != "call_function" or node.target not in pad_ops:
            continue
        value_index = 3 if node.target is torch.ops.aten.pad.default else 2
        value = node.args[value_index] if len(node.args) > value_index else node.kwargs.get("value")
        if value is None or math.isfinite(value):
            continue
        if not _only_feeds_max_pools_wider_than(node, node.args[1]) or value > 0:
            raise ConversionError(f"executorch: padding with {value} at {node.name} cannot be serialised by "
                                  f"executorch {version('executorch')} (non-finite constant), and is "
                                  f"only rewritten when it feeds max-pools whose windows are wider than the padding")
        args = list(node.args) + [None] * (value_index + 1 - len(node.args))
        args[value_index] = torch.finfo(torch.float32).min
        node.args = tuple(args)
        node.kwargs = {k: v for k, v in node.kwargs.items() if k != "value"}
        changed = True
    if changed:
        graph_module.recompile()


def _only_feeds_max_pools_wider_than(pad: torch.fx.Node, padding: list[int]) -> bool:
    if len(padding) != 4:
        return False
    pad_w, pad_h = max(padding[0:2]), max(padding[2:4])
    for user in pad.users:
        if user.target is not torch.ops.aten.max_pool2d.default:
            return False
        kernel = user.args[1]
        kernel_h, kernel_w = (kernel[0], kernel[-1]) if isinstance(kernel, (list, tuple)) else (kernel, kernel)
        if pad_h >= kernel_h or pad_w >= kernel_w:
            return False
    return True


def _fingerprint(model: torch.nn.Module, calibration: np.ndarray) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    if isinstance(calibration, np.ndarray):
        digest.update(str((calibration.dtype, calibration.shape)).encode())
        digest.update(np.ascontiguousarray(calibration).tobytes())
    return digest.hexdigest()


def _check_precision(precision: str, supported: tuple[str, ...]) -> None:
    if precision not in supported:
        raise ConversionError(f"executorch: precision {precision!r} is not built; expected one of {list(supported)}")


def _op_name(node: torch.fx.Node) -> str:
    target = node.target
    name = getattr(target, "__name__", str(target))
    # Edge ops print as "aten.conv2d.default"; keep "conv2d.default"-style short names.
    return name.split("aten.")[-1] if isinstance(name, str) else str(target)
