"""Core ML target: an ML program (``model.mlpackage``) for iOS 16 and later.

Conversion goes torch.export -> coremltools 9 (``convert_to="mlprogram"``,
``minimum_deployment_target=iOS16``). ``fp16`` (the phone build) stores weights
and activations in float16, which is what the Neural Engine executes; ``fp32``
keeps float32 (CPU/GPU only) for debugging precision questions.

The input is a float32 ``TensorType`` named ``input`` with the spec's shape,
not an ``ImageType``: the SDK's own preprocessing (crop, integer resize,
normalisation; one C implementation shared by every device) produces that
tensor. An ``ImageType`` would make Core ML resize and normalise by itself, in
float16, with its own resampling, which is exactly the training/serving skew
the pipeline spec exists to prevent. The output ``output`` is float32 raw
model output (logits for classifiers): softmax etc. is the spec's
post-processing, so no ``ClassifierConfig``; the labels travel in the model
metadata instead, together with the full spec JSON.

Parity, honestly stated
-----------------------
Core ML prediction exists only on macOS (coremltools ships no Linux runtime),
so numeric parity against the real Core ML runtime runs only on macOS
(``load``). On Linux, ``structural_checks`` reads the saved package back
(no execution by Core ML) and checks format, interface, metadata, every
weight against the torch model (after the BatchNorm folding coremltools
does), the op set against the iOS 16 opset, and finally evaluates the saved
MIL program with our own small evaluator (``evaluate_mil_program``: each MIL
op mapped to its torch equivalent, float16 rounding applied to every fp16
tensor). That last check proves the graph that was written (wiring, padding,
strides, groups, fused weights) computes the torch model's function within
the fp16 tolerance; it is *not* Core ML's kernels, and it rounds storage but
not accumulation, so it is a necessary condition for device parity, not a
substitute for the macOS run.

Tolerance
---------
``output_tolerance(precision, outputs)``: ``FP16_RELATIVE_TOLERANCE`` (5e-3)
times the output scale max(1, max |torch output|), taken at export over the
calibration inputs plus ``probe_inputs``; recorded as the bundle's
``output_tolerance``. See the constant's comment for the measurement behind it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from edge_affect.converters.base import Converter, ExportResult, Runner, StructuralCheck
from edge_affect.errors import BundleError, ConversionError, EdgeAffectError
from edge_affect.spec import PipelineSpec

ARTIFACT_NAME = "model.mlpackage"
INPUT_NAME = "input"
OUTPUT_NAME = "output"
WEIGHTS_SUBDIR = ("Data", "com.apple.CoreML", "weights")

# Keys of the package's user-defined metadata that the iOS app and our checks read.
META_LABELS = "edge_affect.labels"
META_SPEC = "edge_affect.spec"
META_TASK = "edge_affect.task"
META_OUTPUT_KIND = "edge_affect.output_kind"
META_PRECISION = "edge_affect.precision"

# Largest |Core ML - torch fp32| allowed on raw outputs, relative to the output scale
# max(1, max |torch output|) over the inputs at hand: fp16 error grows with the
# magnitude of what is computed, so one absolute number cannot fit logits of
# +-15 and regression values in [-1, 1] alike. Measured with the MIL evaluator
# (fp16 storage rounding) on mini-Xception with logits up to +-15: 4e-4 to
# 9e-4 of the scale (1-2 fp16 ulps). Device kernels also accumulate in fp16,
# which the evaluator does not model, hence ~5-10x headroom: 5e-3 of the scale,
# i.e. 5e-2 on logits of magnitude 10 -- far below the logit gaps that decide a label.
FP16_RELATIVE_TOLERANCE = 5e-3
# fp32 packages differ from torch by kernel summation order only (evaluator: 1e-7).
FP32_RELATIVE_TOLERANCE = 1e-4

_PRECISIONS = {"fp16": "FLOAT16", "fp32": "FLOAT32"}


def _coremltools():
    """coremltools is imported lazily: it is slow to import and noisy on Linux."""
    import coremltools as ct

    return ct


class CoreMLConverter(Converter):
    target = "coreml"
    precisions = ("fp16", "fp32")

    # --- export ---------------------------------------------------------------------

    def reference(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
                  calibration: np.ndarray) -> Runner:
        _check_precision(precision)

        def run(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

        return run

    def export(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
               calibration: np.ndarray, workdir: Path) -> ExportResult:
        # Core ML fp16/fp32 builds need no activation statistics; `calibration` only
        # contributes realistic inputs to the output scale behind the tolerance.
        _check_precision(precision)
        if model.training:
            raise ConversionError("coreml export: model is in training mode (BatchNorm would use "
                                  "batch statistics); call model.eval() first")
        ct = _coremltools()
        mlmodel = _convert(model, spec, precision)
        _write_metadata(mlmodel, spec, precision)
        mlmodel.save(str(Path(workdir) / ARTIFACT_NAME))
        inputs = probe_inputs(spec)
        if calibration is not None and len(calibration):
            inputs = np.concatenate([np.asarray(calibration, dtype=np.float32), inputs])
        tolerance = output_tolerance(precision, self.reference(model, spec, precision, calibration)(inputs))
        return ExportResult(
            artifact=ARTIFACT_NAME,
            tools={"coremltools": ct.__version__, "torch": torch.__version__},
            output_tolerance=tolerance,
            extra_manifest={"coreml": {
                "minimum_deployment_target": "iOS16",
                "specification_version": int(ct.target.iOS16),
                "compute_precision": _PRECISIONS[precision].lower(),
                "input": INPUT_NAME,
                "output": OUTPUT_NAME,
            }},
        )

    # --- execution (macOS only) -------------------------------------------------------

    def can_execute(self) -> tuple[bool, str]:
        if sys.platform == "darwin":
            return True, ""
        return False, "Core ML prediction needs macOS"

    def load(self, bundle_dir: Path, manifest: dict[str, Any]) -> Runner:
        ok, reason = self.can_execute()
        if not ok:
            raise EdgeAffectError(f"coreml load({bundle_dir}): {reason}; on this platform only "
                                  "structural_checks() can inspect the package")
        ct = _coremltools()
        path = _artifact_path(bundle_dir)
        mlmodel = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.ALL)

        def run(x: np.ndarray) -> np.ndarray:
            rows = [mlmodel.predict({INPUT_NAME: np.ascontiguousarray(x[i:i + 1], dtype=np.float32)})[OUTPUT_NAME]
                    for i in range(x.shape[0])]
            return np.concatenate([np.asarray(r, dtype=np.float32).reshape(1, -1) for r in rows])

        return run

    # --- checks without execution -------------------------------------------------------

    def structural_checks(self, bundle_dir: Path, manifest: dict[str, Any],
                          model: torch.nn.Module) -> list[StructuralCheck]:
        try:
            spec = PipelineSpec.from_dict(manifest["spec"])
        except (KeyError, TypeError) as exc:
            raise BundleError(f"{bundle_dir}/manifest.json: no usable 'spec' section ({exc!r})") from None
        try:
            package = read_package(_artifact_path(bundle_dir))
        except BundleError as exc:
            # An unreadable package is a failed check, reported like the others.
            return [StructuralCheck("coreml.package", False, str(exc))]
        return [
            check_format(package),
            check_interface(package, spec),
            check_metadata(package, spec, manifest["spec"]),
            check_weights(package, model, spec),
            check_opset(package),
            check_program_numerics(package, model, spec),
        ]


# ======================================================================================
# Conversion
# ======================================================================================


def output_tolerance(precision: str, reference_outputs: np.ndarray) -> float:
    """Allowed max |package - torch| on raw outputs, scaled by the outputs' magnitude."""
    _check_precision(precision)
    relative = FP16_RELATIVE_TOLERANCE if precision == "fp16" else FP32_RELATIVE_TOLERANCE
    scale = max(1.0, float(np.max(np.abs(reference_outputs), initial=0.0)))
    return float(relative * scale)


def _check_precision(precision: str) -> None:
    if precision not in _PRECISIONS:
        raise ConversionError(f"coreml: precision {precision!r} not supported; "
                              f"expected one of {list(_PRECISIONS)}")


def _convert(model: torch.nn.Module, spec: PipelineSpec, precision: str):
    ct = _coremltools()
    example = torch.zeros(spec.input.shape, dtype=torch.float32)
    try:
        # coremltools consumes the ATen-level graph (its documented ExportedProgram input).
        exported = torch.export.export(model, (example,)).run_decompositions({})
        return ct.convert(
            exported,
            inputs=[ct.TensorType(name=INPUT_NAME, shape=spec.input.shape, dtype=np.float32)],
            outputs=[ct.TensorType(name=OUTPUT_NAME, dtype=np.float32)],
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS16,
            compute_precision=getattr(ct.precision, _PRECISIONS[precision]),
            # Compiling needs the Core ML framework (macOS); load() compiles there.
            skip_model_load=True,
        )
    except EdgeAffectError:
        raise
    except Exception as exc:  # coremltools raises bare ValueError/NotImplementedError/RuntimeError
        raise ConversionError(f"coreml: converting {type(model).__name__} failed: "
                              f"{type(exc).__name__}: {exc}") from exc


def _write_metadata(mlmodel, spec: PipelineSpec, precision: str) -> None:
    from edge_affect import __version__ as sdk_version

    labels = list(spec.output.labels)
    mlmodel.short_description = (f"edge-affect {spec.task}: {spec.output.kind} for {labels} "
                                 f"from a {spec.input.color} {spec.input.size[0]}x{spec.input.size[1]} "
                                 f"{spec.input.source} crop ({precision})")
    mlmodel.author = "edge-affect"
    mlmodel.license = "Apache-2.0 (edge-affect); weight provenance: see the bundle's manifest.json"
    mlmodel.version = str(sdk_version)
    mlmodel.input_description[INPUT_NAME] = (
        f"float32 {list(spec.input.shape)} NCHW, produced by the edge-affect preprocessing "
        f"(pixel * {list(spec.input.scale)} + {list(spec.input.offset)}); see {META_SPEC}")
    mlmodel.output_description[OUTPUT_NAME] = (
        f"float32 [1, {len(labels)}] raw {spec.output.kind} in the order of {META_LABELS}; "
        f"apply post-processing '{spec.output.post}' from {META_SPEC}")
    meta = mlmodel.user_defined_metadata
    meta[META_LABELS] = json.dumps(labels)
    meta[META_SPEC] = spec.to_json()
    meta[META_TASK] = spec.task
    meta[META_OUTPUT_KIND] = spec.output.kind
    meta[META_PRECISION] = precision


def _artifact_path(bundle_dir: Path) -> Path:
    path = Path(bundle_dir) / ARTIFACT_NAME
    if not (path / "Manifest.json").is_file():
        raise BundleError(f"{path}: not a Core ML package (no Manifest.json inside)")
    return path


# ======================================================================================
# Reading a saved package back (no Core ML runtime needed)
# ======================================================================================


@dataclass(frozen=True)
class Package:
    """The saved package as read from disk: model proto plus the MIL program with its weights."""

    path: Path
    proto: Any  # coremltools.proto.Model_pb2.Model
    program: Any  # coremltools MIL Program rebuilt from the proto and weight.bin

    @property
    def main(self):
        return self.program.functions["main"]

    def tensor_consts(self) -> dict[str, np.ndarray]:
        """Float constants with at least one dimension: the program's weights and biases."""
        out = {}
        for op in self.main.operations:
            value = op.outputs[0].val if op.op_type == "const" else None
            if isinstance(value, np.ndarray) and value.ndim >= 1 and np.issubdtype(value.dtype, np.floating):
                out[op.name] = value
        return out


def read_package(path: Path) -> Package:
    """Load the proto and rebuild the MIL program, reading weights from weight.bin."""
    ct = _coremltools()
    from coremltools.converters.mil.frontend.milproto import load as milproto

    try:
        proto = ct.utils.load_spec(str(path))
    except Exception as exc:
        raise BundleError(f"{path}: cannot read the Core ML spec ({type(exc).__name__}: {exc})") from None
    if proto.WhichOneof("Type") != "mlProgram":
        raise BundleError(f"{path}: expected an ML program, got model type {proto.WhichOneof('Type')!r}")
    weights_dir = Path(path, *WEIGHTS_SUBDIR)
    try:
        program = milproto.load(proto, proto.specificationVersion, str(weights_dir))
    except Exception as exc:
        raise BundleError(f"{path}: cannot rebuild the MIL program from the package "
                          f"({type(exc).__name__}: {exc})") from None
    return Package(Path(path), proto, program)


# ======================================================================================
# Structural checks
# ======================================================================================


def check_format(package: Package) -> StructuralCheck:
    ct = _coremltools()
    version = package.proto.specificationVersion
    want = int(ct.target.iOS16)
    opsets = {name: fn.opset_version for name, fn in package.program.functions.items()}
    # Exactly iOS16: a newer spec version would refuse to load on iOS 16 phones.
    ok = version == want and all(v == ct.target.iOS16 for v in opsets.values())
    detail = (f"mlProgram, specificationVersion {version} (iOS16 = {want}), function opsets "
              + ", ".join(f"{k}: {getattr(v, 'name', v)}" for k, v in opsets.items()))
    return StructuralCheck("coreml.format", ok, detail)


def check_interface(package: Package, spec: PipelineSpec) -> StructuralCheck:
    from coremltools.proto import FeatureTypes_pb2

    float32 = FeatureTypes_pb2.ArrayFeatureType.FLOAT32
    problems = []

    def describe(features, name: str, shape: tuple[int, ...]) -> None:
        names = [f.name for f in features]
        if names != [name]:
            problems.append(f"expected the single feature {name!r}, got {names}")
            return
        array = features[0].type.multiArrayType
        got_shape = tuple(array.shape)
        if got_shape != shape:
            problems.append(f"{name}: shape {list(got_shape)}, expected {list(shape)}")
        if array.dataType != float32:
            problems.append(f"{name}: dtype {FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(array.dataType)}, "
                            f"expected FLOAT32")

    k = len(spec.output.labels)
    describe(package.proto.description.input, INPUT_NAME, spec.input.shape)
    describe(package.proto.description.output, OUTPUT_NAME, (1, k))
    detail = "; ".join(problems) or f"input {INPUT_NAME} float32 {list(spec.input.shape)}, output {OUTPUT_NAME} float32 [1, {k}]"
    return StructuralCheck("coreml.interface", not problems, detail)


def check_metadata(package: Package, spec: PipelineSpec, manifest_spec: Any) -> StructuralCheck:
    meta = dict(package.proto.description.metadata.userDefined)
    problems = []
    try:
        labels = json.loads(meta[META_LABELS])
        if labels != list(spec.output.labels):
            problems.append(f"{META_LABELS} is {labels}, the spec says {list(spec.output.labels)}")
    except (KeyError, json.JSONDecodeError) as exc:
        problems.append(f"{META_LABELS} missing or not JSON ({exc!r})")
    try:
        # Round trip through JSON so tuples (dataclass) and lists (manifest) compare equal.
        if json.loads(meta[META_SPEC]) != json.loads(json.dumps(manifest_spec)):
            problems.append(f"{META_SPEC} differs from manifest['spec']")
    except (KeyError, json.JSONDecodeError) as exc:
        problems.append(f"{META_SPEC} missing or not JSON ({exc!r})")
    for key, want in ((META_TASK, spec.task), (META_OUTPUT_KIND, spec.output.kind)):
        if meta.get(key) != want:
            problems.append(f"{key} is {meta.get(key)!r}, expected {want!r}")
    detail = "; ".join(problems) or "labels, spec JSON, task and output kind agree with the manifest"
    return StructuralCheck("coreml.metadata", not problems, detail)


def check_weights(package: Package, model: torch.nn.Module, spec: PipelineSpec) -> StructuralCheck:
    """Every torch weight (BatchNorm folded) equals some package constant within storage rounding,
    and every package weight constant is explained by some torch weight."""
    expected = expected_weights(model, torch.zeros(spec.input.shape))
    consts = package.tensor_consts()
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for name, value in consts.items():
        by_shape.setdefault(value.shape, []).append(name)

    # ratios[t][c] <= 1 means constant c stores torch tensor t (see _rounding_ratio).
    ratios = {t: {c: _rounding_ratio(consts[c], want) for c in by_shape.get(tuple(want.shape), [])}
              for t, want in expected.items()}
    unmatched = [f"{t} {list(expected[t].shape)}" for t, r in ratios.items() if min(r.values(), default=2.0) > 1.0]
    explained = {c for r in ratios.values() for c, v in r.items() if v <= 1.0}
    # A constant that stores no torch tensor means an op the torch model does not have.
    unexplained = [f"{c} {list(consts[c].shape)}" for c in consts if c not in explained]
    worst = max((min(r.values()) for r in ratios.values() if r), default=0.0)
    ok = not unmatched and not unexplained
    detail = (f"{len(expected) - len(unmatched)}/{len(expected)} torch tensors (BatchNorm folded) found "
              f"among {len(consts)} package constants")
    if unmatched:
        detail += f"; no matching constant for {unmatched[:5]}{' ...' if len(unmatched) > 5 else ''}"
    if unexplained:
        detail += f"; constants matching no torch tensor: {unexplained[:5]}"
    if ok:
        detail += f"; worst difference {worst:.2f} x the storage-rounding bound"
    return StructuralCheck("coreml.weights", ok, detail)


def _rounding_ratio(stored: np.ndarray, want: np.ndarray) -> float:
    """max |stored - want| / bound, where bound is one unit in the last place of the stored
    dtype (rounding of a folded value can land on either neighbour) plus float32 noise from
    folding in a different order. <= 1 means 'the same number, stored'."""
    want = want.astype(np.float64)
    bound = (np.spacing(np.abs(want).astype(stored.dtype)).astype(np.float64)
             + 1e-6 * float(np.abs(want).max(initial=0.0)) + 1e-30)
    return float(np.max(np.abs(stored.astype(np.float64) - want) / bound, initial=0.0))


def check_opset(package: Package) -> StructuralCheck:
    allowed = ios16_op_types()
    used = sorted({op.op_type for op in package.main.operations})
    outside = [op for op in used if op not in allowed]
    detail = (f"ops outside the iOS16 opset: {outside}" if outside
              else f"{len(used)} op types, all in the iOS16 opset ({len(allowed)}): {used}")
    return StructuralCheck("coreml.opset", not outside, detail)


def ios16_op_types() -> frozenset[str]:
    """The MIL op types that coremltools registers for the iOS16 opset (CoreML6)."""
    ct = _coremltools()
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry

    return frozenset(op for op, versions in SSAOpRegistry.core_ops.items() if ct.target.iOS16 in versions)


def check_program_numerics(package: Package, model: torch.nn.Module, spec: PipelineSpec,
                           inputs: np.ndarray | None = None) -> StructuralCheck:
    """Evaluate the saved MIL program (our evaluator, fp16 rounding) against eager torch."""
    x = probe_inputs(spec) if inputs is None else inputs
    fp16 = any(v.dtype == np.float16 for v in package.tensor_consts().values())
    try:
        got = evaluate_mil_program(package.program, x)
    except ConversionError as exc:
        return StructuralCheck("coreml.program_numerics", False, f"cannot evaluate on Linux: {exc}")
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    tolerance = output_tolerance("fp16" if fp16 else "fp32", want)
    if got.shape != want.shape:
        return StructuralCheck("coreml.program_numerics", False,
                               f"program output shape {got.shape}, torch {want.shape}")
    diff = float(np.max(np.abs(got - want)))
    detail = (f"MIL program evaluated with {'fp16' if fp16 else 'fp32'} rounding on {len(x)} inputs "
              f"(our evaluator, not Core ML): max |diff| {diff:.3g} (tolerance {tolerance:g})")
    if spec.output.kind != "regression":
        detail += f", top-1 agreement {float(np.mean(got.argmax(1) == want.argmax(1))):.0%}"
    return StructuralCheck("coreml.program_numerics", diff <= tolerance, detail)


def probe_inputs(spec: PipelineSpec, count: int = 8) -> np.ndarray:
    """Deterministic face-like images (smooth shading, dark blobs for eyes and mouth, a bit of
    sensor noise) in the spec's pixel range, normalised exactly as the spec says. Structured
    inputs reach activation ranges that random noise does not."""
    n, c, h, w = (count,) + spec.input.shape[1:]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    pixels = np.empty((n, c, h, w), dtype=np.float64)
    for i in range(n):
        base = 90 + 80 * np.exp(-(((yy - 0.5) / 0.45) ** 2 + ((xx - 0.5) / 0.35) ** 2))
        base += 40 * (i / max(n - 1, 1) - 0.5) + 25 * np.sin(2 * np.pi * (xx + i / n))
        for cy, cx, ry, rx in ((0.38, 0.32, 0.05, 0.09), (0.38, 0.68, 0.05, 0.09),
                               (0.72 + 0.02 * (i % 3), 0.5, 0.04 + 0.02 * (i % 2), 0.16)):
            base -= 110 * np.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2))
        for ch in range(c):
            pixels[i, ch] = base + rng.normal(0.0, 6.0, size=(h, w))
    pixels = np.clip(np.round(pixels), 0, 255)
    scale = np.asarray(spec.input.scale, dtype=np.float64).reshape(1, c, 1, 1)
    offset = np.asarray(spec.input.offset, dtype=np.float64).reshape(1, c, 1, 1)
    return (pixels * scale + offset).astype(np.float32)


# ======================================================================================
# Expected weights: the torch model's tensors as coremltools stores them
# ======================================================================================

_CONV_OPS = ("conv1d.default", "conv2d.default", "convolution.default")
_LINEAR_OPS = ("linear.default",)
_BN_OPS = ("batch_norm.default", "_native_batch_norm_legit_no_training.default")


def expected_weights(model: torch.nn.Module, example: torch.Tensor) -> dict[str, np.ndarray]:
    """float64 tensors the package must contain: convolution weights and biases with a following
    BatchNorm folded in (coremltools' fuse_conv_batchnorm pass; it leaves linear + BatchNorm1d
    and BatchNorm after other ops unfused), every other parameter and buffer as is."""
    exported = torch.export.export(model, (example,))
    sig = exported.graph_signature
    source = {**sig.inputs_to_parameters, **sig.inputs_to_buffers}
    state = exported.state_dict

    def tensor(node) -> np.ndarray | None:
        if isinstance(node, torch.fx.Node) and node.name in source:
            return state[source[node.name]].detach().double().numpy()
        return None

    def name(node) -> str:
        return source.get(getattr(node, "name", ""), "?")

    def op_name(node) -> str:
        return str(node.target).removeprefix("aten.")

    out: dict[str, np.ndarray] = {}
    consumed: set[str] = set()
    for node in exported.graph.nodes:
        if node.op != "call_function" or op_name(node) not in _CONV_OPS + _LINEAR_OPS:
            continue
        w_node, b_node = node.args[1], node.args[2] if len(node.args) > 2 else None
        w, b = tensor(w_node), tensor(b_node)
        consumed.update(n.name for n in (w_node, b_node) if isinstance(n, torch.fx.Node))
        users = list(node.users)
        foldable = op_name(node) in _CONV_OPS and len(users) == 1 and op_name(users[0]) in _BN_OPS
        bn = users[0] if foldable else None
        if bn is not None:
            gamma, beta, mean, var = (tensor(a) for a in bn.args[1:5])
            eps = bn.args[7] if op_name(bn) == "batch_norm.default" else bn.args[6]
            consumed.update(a.name for a in bn.args[1:5] if isinstance(a, torch.fx.Node))
            s = (np.ones_like(var) if gamma is None else gamma) / np.sqrt(var + eps)
            w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
            b = ((np.zeros_like(mean) if b is None else b) - mean) * s + (0.0 if beta is None else beta)
            label = f"{name(w_node)} (+{name(bn.args[1])})"
        else:
            label = name(w_node)
        out[f"{label} weight"] = w
        if b is not None:
            out[f"{label} bias"] = b
    # Tensors outside a conv(+BN)/linear pattern must appear unchanged.
    for node_name, key in source.items():
        value = state[key]
        if node_name not in consumed and value.is_floating_point() and value.ndim >= 1:
            out[key] = value.detach().double().numpy()
    return out


# ======================================================================================
# MIL evaluator: each op of the saved program mapped to torch, fp16 tensors rounded
# ======================================================================================


def evaluate_mil_program(program, x: np.ndarray) -> np.ndarray:
    """Run the program's main function on a batch, one row at a time (the package's input
    shape has batch 1). Raises ConversionError for an op this evaluator does not know."""
    from coremltools.converters.mil.mil import types

    fn = program.functions["main"]
    (input_name,) = fn.inputs
    rows = []
    for i in range(x.shape[0]):
        env: dict[str, torch.Tensor] = {input_name: torch.from_numpy(np.ascontiguousarray(x[i:i + 1]))}

        def value(var):
            if isinstance(var, (tuple, list)):
                return [value(v) for v in var]
            if var.val is not None:
                return var.val
            return env[var.name]

        for op in fn.operations:
            if op.op_type == "const":
                continue
            evaluate = _MIL_EVALUATORS.get(op.op_type)
            if evaluate is None:
                raise ConversionError(f"MIL op {op.op_type!r} ({op.name}) has no evaluator in "
                                      f"converters/coreml.py; add one to _MIL_EVALUATORS")
            args = {k: value(v) for k, v in op.inputs.items()}
            result = evaluate(**args)
            out_var = op.outputs[0]
            if out_var.dtype == types.fp16:
                result = result.to(torch.float16).to(torch.float32)
            env[out_var.name] = result
        rows.append(env[fn.outputs[0].name].reshape(1, -1))
    return torch.cat(rows).numpy().astype(np.float32)


def _t(value) -> torch.Tensor:
    """A constant operand (numpy, fp16 included) as a float32 tensor for computing."""
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    return torch.from_numpy(array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array)


def _ints(value) -> list[int]:
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _spatial_padding(pad_type: str, pad, size: list[int], kernel: list[int], strides: list[int],
                     dilations: list[int]) -> list[tuple[int, int]]:
    """(before, after) per spatial axis for MIL's pad_type."""
    if pad_type == "valid":
        return [(0, 0)] * len(size)
    if pad_type == "custom":
        p = _ints(pad)
        return [(p[2 * i], p[2 * i + 1]) for i in range(len(size))]
    if pad_type in ("same", "same_lower"):
        out = []
        for n, k, s, d in zip(size, kernel, strides, dilations):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small, large = total // 2, total - total // 2
            out.append((small, large) if pad_type == "same" else (large, small))
        return out
    raise ConversionError(f"MIL pad_type {pad_type!r} is not supported by the evaluator")


def _torch_pad(pairs: list[tuple[int, int]]) -> list[int]:
    """F.pad wants the last axis first."""
    return [p for before_after in reversed(pairs) for p in before_after]


def _conv(x, weight, strides=None, pad_type="valid", pad=None, dilations=None, groups=1, bias=None):
    w = _t(weight)
    dims = w.ndim - 2
    strides = _ints(strides) if strides is not None else [1] * dims
    dilations = _ints(dilations) if dilations is not None else [1] * dims
    pairs = _spatial_padding(str(pad_type), pad, list(x.shape[2:]), list(w.shape[2:]), strides, dilations)
    x = F.pad(x, _torch_pad(pairs))
    conv = {1: F.conv1d, 2: F.conv2d}.get(dims)
    if conv is None:
        raise ConversionError(f"MIL conv with {dims} spatial dims is not supported by the evaluator")
    return conv(x, w, None if bias is None else _t(bias), stride=strides, dilation=dilations, groups=int(groups))


def _pool(kind: str):
    def pool(x, kernel_sizes, strides, pad_type, pad=None, ceil_mode=False, exclude_padding_from_average=False):
        kernel, stride = _ints(kernel_sizes), _ints(strides)
        pairs = _spatial_padding(str(pad_type), pad, list(x.shape[2:]), kernel, stride, [1] * len(kernel))
        symmetric = all(a == b for a, b in pairs)
        if kind == "max":
            if not symmetric:
                if ceil_mode:
                    raise ConversionError("MIL max_pool with asymmetric padding and ceil_mode")
                x, pairs = F.pad(x, _torch_pad(pairs), value=float("-inf")), [(0, 0)] * len(pairs)
            return F.max_pool2d(x, kernel, stride, padding=[a for a, _ in pairs], ceil_mode=bool(ceil_mode))
        if not symmetric:
            raise ConversionError("MIL avg_pool with asymmetric padding is not supported by the evaluator")
        return F.avg_pool2d(x, kernel, stride, padding=[a for a, _ in pairs], ceil_mode=bool(ceil_mode),
                            count_include_pad=not bool(exclude_padding_from_average))

    return pool


def _pad(x, pad, mode="constant", constant_val=0.0):
    if str(mode) != "constant":
        raise ConversionError(f"MIL pad mode {mode!r} is not supported by the evaluator")
    p = _ints(pad)
    pairs = [(p[2 * i], p[2 * i + 1]) for i in range(len(p) // 2)]
    return F.pad(x, _torch_pad(pairs), value=float(constant_val))


def _reduce(fn: Callable):
    def reduce(x, axes=None, keep_dims=False):
        dims = _ints(axes) if axes is not None else list(range(x.ndim))
        return fn(x, dim=dims, keepdim=bool(keep_dims))

    return reduce


def _binary(fn: Callable):
    return lambda x, y: fn(_t(x), _t(y))


_MIL_EVALUATORS: dict[str, Callable[..., torch.Tensor]] = {
    "cast": lambda x, dtype: _t(x) if str(dtype) in ("fp16", "fp32") else _unsupported_cast(dtype),
    "conv": _conv,
    "linear": lambda x, weight, bias=None: F.linear(x, _t(weight), None if bias is None else _t(bias)),
    "matmul": lambda x, y, transpose_x=False, transpose_y=False: torch.matmul(
        _t(x).transpose(-1, -2) if transpose_x else _t(x), _t(y).transpose(-1, -2) if transpose_y else _t(y)),
    "batch_norm": lambda x, mean, variance, gamma=None, beta=None, epsilon=1e-5: F.batch_norm(
        x, _t(mean), _t(variance), None if gamma is None else _t(gamma), None if beta is None else _t(beta),
        training=False, eps=float(epsilon)),
    "max_pool": _pool("max"),
    "avg_pool": _pool("avg"),
    "pad": _pad,
    "relu": lambda x: F.relu(x),
    "relu6": lambda x: F.relu6(x),
    "leaky_relu": lambda x, alpha=0.01: F.leaky_relu(x, float(alpha)),
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "clip": lambda x, alpha, beta: torch.clamp(x, float(alpha), float(beta)),
    "softmax": lambda x, axis=-1: torch.softmax(x, dim=int(axis)),
    "add": _binary(torch.add),
    "sub": _binary(torch.sub),
    "mul": _binary(torch.mul),
    "real_div": _binary(torch.div),
    "maximum": _binary(torch.maximum),
    "minimum": _binary(torch.minimum),
    "reduce_mean": _reduce(torch.mean),
    "reduce_sum": _reduce(torch.sum),
    "reduce_max": _reduce(torch.amax),
    "reshape": lambda x, shape: _t(x).reshape(_ints(shape)),
    "squeeze": lambda x, axes=None: _t(x).squeeze(tuple(_ints(axes))) if axes is not None else _t(x).squeeze(),
    "expand_dims": lambda x, axes: _expand_dims(_t(x), _ints(axes)),
    "transpose": lambda x, perm: _t(x).permute(_ints(perm)),
    "concat": lambda values, axis, interleave=False: _concat(values, int(axis), bool(interleave)),
}


def _unsupported_cast(dtype) -> torch.Tensor:
    raise ConversionError(f"MIL cast to {dtype!r} is not supported by the evaluator")


def _expand_dims(x: torch.Tensor, axes: list[int]) -> torch.Tensor:
    rank = x.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return x


def _concat(values, axis: int, interleave: bool) -> torch.Tensor:
    if interleave:
        raise ConversionError("MIL concat with interleave=True is not supported by the evaluator")
    return torch.cat([_t(v) for v in values], dim=axis)


__all__ = [
    "CoreMLConverter", "ARTIFACT_NAME", "FP16_RELATIVE_TOLERANCE", "FP32_RELATIVE_TOLERANCE",
    "output_tolerance",
    "read_package", "expected_weights", "evaluate_mil_program", "probe_inputs", "ios16_op_types",
]
