"""ONNX target: one self-contained .onnx file (fp32), run with ONNX Runtime's CPU provider.

Exported with torch.onnx's TorchScript exporter (``dynamo=False``): in torch
2.13 it needs nothing beyond the ``onnx`` package, while the default
torch.export-based exporter also needs ``onnxscript``. Input "input"
(N, C, H, W) and output "output" (N, K), batch dimension dynamic.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edge_affect.converters.base import Converter, ExportResult, Runner
from edge_affect.errors import BundleError, ConversionError, InputError
from edge_affect.models.runner import eager_runner
from edge_affect.spec import PipelineSpec

ARTIFACT = "model.onnx"
OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"
# fp32 bar on raw outputs. The runtime only reorders float sums: measured
# max |d logits| 8.6e-6 on mini-Xception logits up to |16| (4-5 ulps), so
# 1e-5 would sit at the edge. Probabilities (the parity bar, 1e-5) are
# tighter by construction: softmax never magnifies a logit difference.
FP32_TOLERANCE = 1e-4
# Rows per InferenceSession.run call: bounds memory for large golden sets. Large
# inputs get fewer rows (a 3x170x520 eye slot at 64 rows took ocular_va_m2's
# parity to 7.5 GiB of activations).
RUN_BATCH = 64
RUN_BATCH_VALUES = 1 << 20  # input values per call, at most


def run_batch(sample_shape: tuple[int, ...]) -> int:
    return max(1, min(RUN_BATCH, RUN_BATCH_VALUES // max(1, int(np.prod(sample_shape)))))


class OnnxConverter(Converter):
    target = "onnx"
    precisions = ("fp32",)

    def reference(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
                  calibration: np.ndarray) -> Runner:
        _check_precision(precision)
        return eager_runner(model)

    def export(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
               calibration: np.ndarray, workdir: Path) -> ExportResult:
        import onnx

        _check_precision(precision)
        path = Path(workdir) / ARTIFACT
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated in favour of the dynamo one; chosen knowingly (module doc).
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*legacy TorchScript-based ONNX")
            try:
                torch.onnx.export(
                    model.eval(), (torch.zeros(spec.input.shape),), str(path),
                    dynamo=False, opset_version=OPSET, do_constant_folding=True,
                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                    dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                )
            except Exception as exc:  # the exporter raises many types; all mean "cannot convert"
                raise ConversionError(f"onnx: torch.onnx.export failed: {type(exc).__name__}: {exc}") from exc
        proto = onnx.load(str(path))
        try:
            onnx.checker.check_model(proto, full_check=True)
        except onnx.checker.ValidationError as exc:
            raise ConversionError(f"onnx: {ARTIFACT} fails onnx.checker: {exc}") from exc
        _check_self_contained(proto)
        return ExportResult(
            artifact=ARTIFACT,
            tools={"torch": torch.__version__, "onnx": version("onnx"), "onnxruntime": version("onnxruntime")},
            output_tolerance=FP32_TOLERANCE,
            extra_manifest={"onnx": {"opset": OPSET, "exporter": "torch.onnx TorchScript (dynamo=False)",
                                     "input": INPUT_NAME, "output": OUTPUT_NAME, "dynamic_batch": True}},
        )

    def load(self, bundle_dir: Path, manifest: dict[str, Any]) -> Runner:
        return onnx_runner(Path(bundle_dir) / manifest.get("artifact", ARTIFACT), self.threads)


def onnx_runner(path: Path, intra_op_threads: int = 0) -> Runner:
    """Run an .onnx file with ONNX Runtime (CPU); 0 threads = ONNX Runtime's default."""
    import onnxruntime as ort

    if not path.is_file():
        raise BundleError(f"{path}: ONNX model not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    declared = session.get_inputs()[0].shape  # ["batch", C, H, W]

    def run(inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.dtype != np.float32 or inputs.ndim != 4 or list(inputs.shape[1:]) != list(declared[1:]):
            raise InputError(f"{path.name}: expected float32 inputs (N, {', '.join(map(str, declared[1:]))}), "
                             f"got {inputs.dtype} {inputs.shape}")
        rows = run_batch(inputs.shape[1:])
        return np.concatenate([
            session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(inputs[i:i + rows])})[0]
            for i in range(0, len(inputs), rows)
        ])

    return run


def _check_self_contained(proto: Any) -> None:
    import onnx

    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise ConversionError(f"onnx: expected a single self-contained {ARTIFACT}, got {len(external)} "
                              f"tensor(s) stored as external data, e.g. {external[0]!r}")


def _check_precision(precision: str) -> None:
    if precision != "fp32":
        raise ConversionError(f"onnx: precision {precision!r} is not built; expected one of ['fp32']")
