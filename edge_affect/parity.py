"""Parity: run a bundle in its real runtime and compare with desktop torch.

Bars (DESIGN.md):
  fp32 builds   max |Δ| of post-processed outputs (probabilities) <= 1e-5 vs eager torch,
                or 4x the drift of eager fp32 from float64 on the goldens where that is
                larger (deep networks: fp32 arithmetic alone exceeds 1e-5; see fp32_bar)
  int8 builds   max |Δ| of raw outputs within the converter's tolerance (in output
                quanta) vs the pt2e-converted torch model
  fp16 builds   the converter's stated tolerance on raw outputs
  C int8 builds bit-exact (tolerance 0) vs the numpy int8 reference, per build
                (host harness, emulated Cortex-M4)
  all           top-1 agreement vs eager fp32 >= 98% (classifiers) on the inputs
                whose fp32 decision an int8 logit grid can resolve (see
                decisive_inputs); agreement over all inputs is reported too
A target with several builds of one artifact reports each under `builds`;
the top-level figures are the worst over its builds.
A target whose runtime this machine lacks (Core ML off macOS) reports its
numeric check as skipped with the reason, and still runs its structural checks.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from edge_affect.bundle import MANIFEST, Bundle, find_bundles, load_bundle
from edge_affect.errors import BundleError
from edge_affect.models import create_model
from edge_affect.models.runner import eager_runner
from edge_affect.runtime.postprocess import postprocess, top1
from edge_affect.runtime.preprocess import preprocess_crops

FP32_PROB_TOLERANCE = 1e-5
# An fp32 runtime rounds differently from eager torch, by about as much as eager
# fp32 strays from float64; the bar allows this many times that measured drift.
FP32_ROUNDING_FACTOR = 4.0
TOP1_BAR = 0.98
DECISIVE_MARGIN_QUANTA = 2


@dataclass
class ParityReport:
    bundle: str
    model: str
    target: str
    precision: str
    artifact_bytes: int
    n_inputs: int = 0
    max_abs_diff: float | None = None  # post-processed outputs vs the reference
    max_abs_diff_raw: float | None = None  # raw outputs vs the reference
    tolerance_raw: float | None = None
    top1_agreement: float | None = None  # vs eager fp32, all inputs
    top1_agreement_decisive: float | None = None  # vs eager fp32, inputs with a resolvable margin (the bar)
    n_decisive: int | None = None
    bit_exact: bool | None = None  # bundles with tolerance 0: outputs equal the reference exactly
    max_abs_diff_fp32: float | None = None  # post-processed outputs vs eager fp32
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)  # per build, when there are several
    numeric: str = "ran"  # "ran" or "skipped: <reason>"
    structural: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "pass": self.passed}


def _converter(target: str):
    # Lazy by name: edge_affect never imports the converters package statically.
    return importlib.import_module("edge_affect.converters").get_converter(target)


def check_bundle(path: Path, crops: np.ndarray | None = None) -> ParityReport:
    """Verify and run one bundle on its golden inputs, or on user `crops` (uint8 face crops)."""
    bundle = load_bundle(path)  # verifies every sha256 first
    converter = _converter(bundle.target)
    report = ParityReport(bundle=str(path), model=bundle.model, target=bundle.target,
                          precision=bundle.precision, artifact_bytes=int(bundle.manifest.get("artifact_bytes", 0)))
    model = _model_for(bundle)
    checks = converter.structural_checks(bundle.root, bundle.manifest, model)
    report.structural = [asdict(c) for c in checks]
    report.failures += [f"structural check {c.name}: {c.detail}" for c in checks if not c.passed]

    runnable, reason = converter.can_execute()
    if not runnable:
        report.numeric = f"skipped: {reason}"
        return report

    inputs, expected, fp32 = _inputs_and_references(bundle, converter, model, crops)
    runners = converter.builds(bundle.root, bundle.manifest)
    report.n_inputs = int(len(inputs))
    results = {}
    for name, runner in runners.items():
        prefix = "" if len(runners) == 1 else f"{name}: "
        results[name] = _compare(bundle, runner(inputs), expected, fp32, report.failures, prefix)
    if len(runners) > 1:
        report.builds = {name: asdict(result) for name, result in results.items()}
    _worst_of(report, list(results.values()))
    return report


def check_bundles(root: Path, crops: np.ndarray | None = None) -> Iterator[ParityReport]:
    """Every bundle under `root`; a bundle that cannot be trusted (bad manifest,
    sha256 mismatch) is a failed row, not the end of the run."""
    for path in find_bundles(root):
        try:
            yield check_bundle(path, crops)
        except BundleError as exc:
            yield _unreadable(path, exc)


def _unreadable(path: Path, exc: BundleError) -> ParityReport:
    try:
        manifest = json.loads((Path(path) / MANIFEST).read_text())
        target, precision, model = manifest["target"], manifest["precision"], manifest["model"]
    except (OSError, ValueError, KeyError, TypeError):
        target = precision = model = "?"
    return ParityReport(bundle=str(path), model=model, target=target, precision=precision, artifact_bytes=0,
                        numeric="not run", failures=[str(exc)])


def _model_for(bundle: Bundle):
    weights = bundle.manifest.get("weights")
    kwargs = bundle.manifest.get("model_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise BundleError(f"{bundle.root / MANIFEST}: model_kwargs must be an object, got {type(kwargs).__name__}")
    # A user model is rebuilt from its built-in base and kwargs, so its bundle checks anywhere.
    base = bundle.manifest.get("base_model", bundle.model)
    if not weights:
        return create_model(base, pretrained=False, **kwargs)
    if weights["file"] not in bundle.manifest["files"]:
        raise BundleError(f"{bundle.root / MANIFEST}: weights {weights['file']!r} are not among the verified files")
    return create_model(base, weights_path=bundle.path(weights["file"]), **kwargs)


def _inputs_and_references(bundle: Bundle, converter, model, crops: np.ndarray | None):
    if crops is None:
        return (bundle.load_array("inputs"), bundle.load_array("outputs"), bundle.load_array("fp32_outputs"))
    inputs = preprocess_crops(crops, bundle.spec.input)
    calibration = None
    if bundle.manifest.get("calibration"):
        calibration = preprocess_crops(bundle.load_array("crops", section="calibration"), bundle.spec.input)
    reference = converter.reference(model, bundle.spec, bundle.precision, calibration)
    return inputs, reference(inputs), eager_runner(model)(inputs)


@dataclass
class BuildResult:
    """One build of a bundle on the inputs (fields as in ParityReport)."""

    max_abs_diff: float | None = None
    max_abs_diff_raw: float | None = None
    tolerance_raw: float | None = None
    top1_agreement: float | None = None
    top1_agreement_decisive: float | None = None
    n_decisive: int | None = None
    bit_exact: bool | None = None
    max_abs_diff_fp32: float | None = None


def fp32_bar(manifest: dict[str, Any]) -> float:
    """The fp32 bar on post-processed outputs: 1e-5, or FP32_ROUNDING_FACTOR times
    the fp32-vs-float64 drift measured at convert time where that is larger."""
    rounding = manifest["tolerance"].get("fp32_rounding") or {}
    return max(FP32_PROB_TOLERANCE, FP32_ROUNDING_FACTOR * float(rounding.get("post_max_abs", 0.0)))


def _compare(bundle: Bundle, actual: np.ndarray, expected: np.ndarray, fp32: np.ndarray, failures: list[str],
             prefix: str = "") -> BuildResult:
    result = BuildResult()
    if actual.shape != expected.shape:
        failures.append(f"{prefix}output shape {actual.shape}, expected {expected.shape}")
        return result
    out_spec = bundle.spec.output
    actual_post, expected_post, fp32_post = (_post(actual, bundle), _post(expected, bundle),
                                             postprocess(fp32, out_spec))
    result.max_abs_diff_raw = float(np.max(np.abs(actual.astype(np.float64) - expected)))
    result.max_abs_diff = float(np.max(np.abs(actual_post - expected_post)))
    result.max_abs_diff_fp32 = float(np.max(np.abs(actual_post - fp32_post)))
    result.tolerance_raw = float(bundle.manifest["tolerance"]["raw_max_abs"])
    if result.tolerance_raw == 0:
        result.bit_exact = bool(np.array_equal(actual, expected))
    if bundle.precision == "fp32":
        bar = fp32_bar(bundle.manifest)
        if result.max_abs_diff > bar:
            failures.append(f"{prefix}max abs diff {result.max_abs_diff:.3g} > {bar:.3g}")
    elif result.bit_exact is False:
        differ = int(np.sum(actual != expected))
        failures.append(f"{prefix}not bit-exact: {differ} of {actual.size} outputs differ from the reference "
                        f"(max raw abs diff {result.max_abs_diff_raw:.3g})")
    elif result.max_abs_diff_raw > result.tolerance_raw * (1 + 1e-6):
        failures.append(f"{prefix}max raw abs diff {result.max_abs_diff_raw:.3g} > tolerance "
                        f"{result.tolerance_raw:.3g}")
    if bundle.spec.task in ("expression", "smile") and out_spec.post == "softmax":
        agree = top1(actual) == top1(fp32)
        decisive = decisive_inputs(fp32, logit_quantum(bundle.manifest))
        result.top1_agreement = float(np.mean(agree))
        result.n_decisive = int(decisive.sum())
        result.top1_agreement_decisive = float(np.mean(agree[decisive])) if decisive.any() else None
        if result.top1_agreement_decisive is not None and result.top1_agreement_decisive < TOP1_BAR:
            failures.append(f"{prefix}top-1 agreement {result.top1_agreement_decisive:.3f} < {TOP1_BAR} "
                            f"on the {result.n_decisive} inputs whose fp32 margin exceeds "
                            f"{DECISIVE_MARGIN_QUANTA} output quanta")
    return result


def logit_quantum(manifest: dict[str, Any]) -> float:
    """The step of the int8 logit grid (0 for float builds)."""
    quant = manifest.get("quantization") or {}
    for key in ("logits", "output"):  # apollo3 outputs int8 probabilities; its logits are under "logits"
        if isinstance(quant.get(key), dict) and "quantum" in quant[key]:
            return float(quant[key]["quantum"])
    return 0.0


def decisive_inputs(fp32_logits: np.ndarray, quantum: float) -> np.ndarray:
    """Inputs whose fp32 top-2 logit margin exceeds DECISIVE_MARGIN_QUANTA quanta.

    An int8 build rounds every logit to a grid of step `quantum`; two classes
    closer than a couple of steps can swap order under any int8 model, so the
    top-1 bar is applied where the fp32 decision is resolvable at that
    precision. Agreement over all inputs is reported beside it."""
    ordered = np.sort(np.asarray(fp32_logits, dtype=np.float64), axis=1)
    return (ordered[:, -1] - ordered[:, -2]) > DECISIVE_MARGIN_QUANTA * quantum


def _post(raw: np.ndarray, bundle: Bundle) -> np.ndarray:
    """Raw outputs -> what the app shows; some artifacts (int8 C with the softmax
    on the device) output post-processed values already."""
    if bundle.manifest.get("raw_outputs") == "post_processed":
        return np.asarray(raw, dtype=np.float64)
    return postprocess(raw, bundle.spec.output)


def _worst_of(report: ParityReport, results: list[BuildResult]) -> None:
    def worst(name: str, pick):
        values = [getattr(r, name) for r in results if getattr(r, name) is not None]
        return pick(values) if values else None

    report.max_abs_diff = worst("max_abs_diff", max)
    report.max_abs_diff_raw = worst("max_abs_diff_raw", max)
    report.tolerance_raw = worst("tolerance_raw", max)
    report.top1_agreement = worst("top1_agreement", min)
    report.top1_agreement_decisive = worst("top1_agreement_decisive", min)
    report.n_decisive = worst("n_decisive", min)
    report.bit_exact = worst("bit_exact", all)
    report.max_abs_diff_fp32 = worst("max_abs_diff_fp32", max)
