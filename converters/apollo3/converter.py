"""The Apollo3 target: int8 C for a Cortex-M4F microcontroller.

export() quantizes with the shared pt2e recipe, lowers the graph to the C
runtime's integer program, plans its memory and writes a self-contained
firmware directory (generated model, a copy of the runtime, harness,
Makefile). The reference is the numpy int8 interpreter of the same program,
and the bar is bit-exact (tolerance 0). Two builds run the bundle: the host
harness and the Cortex-M4F image on QEMU mps2-an386, both compiled from the
bundle's own files with the bundle's own Makefile, in a temporary directory.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edge_affect.converters.apollo3 import app, codegen, toolchain
from edge_affect.converters.apollo3.lower import Program, lower, op_macs
from edge_affect.converters.apollo3.memory import MemoryPlan, plan_memory
from edge_affect.converters.apollo3.scratch import query_scratch_sizes
from edge_affect.converters.apollo3.reference import dequantize_outputs, quantize_inputs, reference_runner
from edge_affect.converters.base import Converter, ExportResult, Runner, StructuralCheck
from edge_affect.converters.quantize import QuantizedModel, check_calibration, quantize_pt2e
from edge_affect.errors import BundleError, ConversionError
from edge_affect.spec import PipelineSpec

ARTIFACT = "firmware"
# Golden-free sample inputs compiled into the bundle's harness so `make run-host` works out of the box.
SAMPLE_INPUTS = 4
# Inputs linked into one harness image; more are run in several images (the
# QEMU image keeps them in its 4 MB of code memory, and the emulator is slower).
INPUTS_PER_IMAGE = {"host": 1024, "qemu": 64}
_RUNTIME_PARTS = ("include", "kernels", "src", "ports", "tools")
_RUNTIME_IGNORE = shutil.ignore_patterns("build", "__pycache__", "*.o", "*.so", "*.a", "*.elf", "Makefile.local")


@dataclass(frozen=True)
class Lowered:
    quantized: QuantizedModel
    program: Program
    plan: MemoryPlan


class Apollo3Converter(Converter):
    target = "apollo3"
    precisions = ("int8",)

    def __init__(self) -> None:
        # build_bundle calls export() then reference() with the same model and
        # calibration set: calibrate once.
        self._last: tuple[torch.nn.Module, str, Lowered] | None = None

    # ------------------------------------------------------------------ converter interface

    def reference_name(self, precision: str) -> str:
        return "numpy_int8_reference"

    def reference(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
                  calibration: np.ndarray) -> Runner:
        _check_precision(precision)
        return reference_runner(self.lowered(model, spec, calibration).program)

    def export(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
               calibration: np.ndarray, workdir: Path) -> ExportResult:
        _check_precision(precision)
        lowered = self.lowered(model, spec, calibration)
        program, plan = lowered.program, lowered.plan
        root = Path(workdir) / ARTIFACT
        write_firmware(root, program, plan, spec, _model_name(model, spec), calibration)
        quantization = {
            **lowered.quantized.params,
            # What the C model outputs (the pt2e graph's output are the logits, kept below).
            "output": {"scale": program.output_tensor.scale, "zero_point": program.output_tensor.zero_point,
                       "post_on_device": program.output_post},
            "logits": lowered.quantized.params["output"],
            "arena_bytes": plan.arena_bytes,
        }
        return ExportResult(
            artifact=ARTIFACT,
            tools={"torch": torch.__version__, "executorch": _version("executorch"),
                   "c_runtime_sha256": _runtime_digest(root / "embedded")},
            quantization=quantization,
            output_tolerance=0.0,
            extra_manifest={
                # Raw outputs already went through spec.output.post (softmax on the device).
                "raw_outputs": "post_processed" if program.output_post != "none" else "model",
                "apollo3": {"arena_bytes": plan.arena_bytes, "arena_alignment": plan.alignment,
                            "macs": program.macs(),
                            "ops": [{"layer": op.layer, "kind": op.kind, "macs": op_macs(program, op)}
                                    for op in program.ops],
                            "reference": "numpy int8 interpreter of the same program "
                                         "(edge_affect.runtime.int8.kernels)",
                            "builds": {"host": "host C compiler, optimized kernels",
                                       "qemu": "arm-none-eabi-gcc Cortex-M4F on QEMU mps2-an386, "
                                               "optimized kernels"}},
            },
        )

    def load(self, bundle_dir: Path, manifest: dict[str, Any]) -> Runner:
        return self.builds(bundle_dir, manifest)["host"]

    def builds(self, bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Runner]:
        firmware = _firmware_dir(bundle_dir, manifest)
        runners: dict[str, Runner] = {"host": HarnessRunner(firmware, "host")}
        tools = toolchain.find_tools()
        if tools.can_run_qemu:
            runners["qemu"] = HarnessRunner(firmware, "qemu")
        return runners

    def can_execute(self) -> tuple[bool, str]:
        tools = toolchain.find_tools()
        if not tools.can_build_host:
            return False, "no make or host C compiler to build the host harness"
        return True, ""

    def structural_checks(self, bundle_dir: Path, manifest: dict[str, Any],
                          model: torch.nn.Module) -> list[StructuralCheck]:
        firmware = _firmware_dir(bundle_dir, manifest)
        checks = []
        missing = [p for p in ("Makefile", "README.md", "model/model.h", "model/model.c", "app/ea_app.c",
                               "embedded/include/ea_kernels.h", "embedded/tools/Makefile")
                   if not (firmware / p).is_file()]
        checks.append(StructuralCheck("firmware files", not missing, f"missing {missing}" if missing else ""))
        header = (firmware / "model" / "model.h").read_text() if not missing else ""
        arena = manifest.get("apollo3", {}).get("arena_bytes")
        declared = f"#define EA_MODEL_ARENA_SIZE {arena}u" in header
        checks.append(StructuralCheck("arena size", declared,
                                      "" if declared else f"model.h does not declare the manifest's arena {arena}"))
        tools = toolchain.find_tools()
        if not tools.can_run_qemu:
            checks.append(StructuralCheck("qemu build", True, f"not run: {toolchain.INSTALL_HINT} to enable it"))
        return checks

    def device_bench(self, bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        from edge_affect.converters.apollo3.bench import bench_firmware

        return bench_firmware(_firmware_dir(bundle_dir, manifest), Path(bundle_dir), manifest)

    # ------------------------------------------------------------------ lowering

    def lowered(self, model: torch.nn.Module, spec: PipelineSpec, calibration: np.ndarray) -> Lowered:
        """Quantize, lower and plan (cached for the last model + calibration set)."""
        calibration = check_calibration(calibration, spec.input.shape)
        key = _fingerprint(model, calibration)
        if self._last is not None and self._last[0] is model and self._last[1] == key:
            return self._last[2]
        quantized = quantize_pt2e(model, torch.zeros(spec.input.shape), calibration)
        program = lower(quantized.module, spec)
        result = Lowered(quantized, program, plan_memory(program, query_scratch_sizes(program, spec)))
        self._last = (model, key, result)
        return result


# ---------------------------------------------------------------------------- the firmware directory

def write_firmware(root: Path, program: Program, plan: MemoryPlan, spec: PipelineSpec, model_name: str,
                   calibration: np.ndarray | None = None) -> Path:
    """Generated model + runtime copy + harness + Makefile + README under `root`."""
    generated = codegen.generate(program, plan, spec, model_name)
    (root / "model").mkdir(parents=True)
    (root / "model" / codegen.HEADER).write_text(generated.header)
    (root / "model" / codegen.SOURCE).write_text(generated.source)
    for part in _RUNTIME_PARTS:
        shutil.copytree(toolchain.embedded_dir() / part, root / "embedded" / part, ignore=_RUNTIME_IGNORE)
    (root / "app").mkdir()
    (root / "app" / "ea_app.c").write_text(app.APP_C)
    samples = calibration[:SAMPLE_INPUTS] if calibration is not None and len(calibration) else None
    if samples is None:
        samples = np.zeros((1, *program.input_tensor.shape[1:]), np.int8)
    else:
        samples = quantize_inputs(program, samples)
    toolchain.write_data_source(root / "app" / "inputs.c", {app.INPUTS_SYMBOL: samples})
    (root / "Makefile").write_text(app.MAKEFILE)
    (root / "README.md").write_text(app.readme(model_name, program, plan))
    return root


def _firmware_dir(bundle_dir: Path, manifest: dict[str, Any]) -> Path:
    firmware = Path(bundle_dir) / manifest.get("artifact", ARTIFACT)
    if not (firmware / "Makefile").is_file():
        raise BundleError(f"{firmware}: not an apollo3 firmware directory (no Makefile)")
    return firmware


# ---------------------------------------------------------------------------- running the builds

class HarnessRunner:
    """Runs the bundle's harness (host executable or QEMU image) on float model inputs.

    Each call quantizes the inputs (as the reference does), links them into
    the image, builds it with the bundle's Makefile in a private temporary
    directory and reads the outputs the image prints. Outputs are dequantized
    the same way as the reference's.
    """

    def __init__(self, firmware: Path, build: str, kernels: str = "optimized", defines: str = "") -> None:
        if build not in ("host", "qemu"):
            raise ValueError(f"build must be 'host' or 'qemu', got {build!r}")
        if kernels not in app.KERNEL_SETS:
            raise ValueError(f"kernels must be one of {app.KERNEL_SETS}, got {kernels!r}")
        self.firmware, self.build, self.kernels, self.defines = Path(firmware), build, kernels, defines
        self.workdir = Path(tempfile.mkdtemp(prefix=f"ea_apollo3_{build}_"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.workdir, True)
        self._program: Program | None = None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        program = self.program()
        quantized = quantize_inputs(program, inputs)
        chunk = INPUTS_PER_IMAGE[self.build]
        outputs = [self.run_int8(quantized[i:i + chunk]) for i in range(0, len(quantized), chunk)]
        return dequantize_outputs(program, np.concatenate(outputs) if outputs else
                                  np.zeros((0, program.output_tensor.size), np.int8))

    def program(self) -> Program:
        """Input / output quantization, read back from the generated header."""
        if self._program is None:
            self._program = header_program(self.firmware / "model" / codegen.HEADER)
        return self._program

    def image(self, inputs_int8: np.ndarray, defines: str = "") -> Path:
        """Build the harness with these int8 NHWC inputs linked in; returns the executable / ELF."""
        inputs_c = toolchain.write_data_source(self.workdir / "inputs.c", {app.INPUTS_SYMBOL: inputs_int8})
        build_dir = self.workdir / "build"
        make_firmware(self.firmware, self.build, {"INPUTS": str(inputs_c), "BUILD": str(build_dir),
                                                  "KERNELS": self.kernels,
                                                  "DEFINES": " ".join(filter(None, (self.defines, defines)))})
        return build_dir / self.build / ("ea_app" if self.build == "host" else "ea_app.elf")

    def run_int8(self, inputs_int8: np.ndarray) -> np.ndarray:
        image = self.image(inputs_int8)
        timeout = 30.0 + 2.0 * len(inputs_int8)
        if self.build == "host":
            result = toolchain.run_host(image, timeout=timeout)
        else:
            result = toolchain.run_qemu(image, plugin=False, timeout=timeout)
        return outputs_of(result, len(inputs_int8), self.program().output_tensor.size, f"{self.build} harness")


def header_program(header: Path) -> Program:
    """A Program with just the input and output tensors, from model.h's #defines."""
    from edge_affect.converters.apollo3.lower import Tensor

    defines: dict[str, str] = {}
    for line in Path(header).read_text().splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("EA_MODEL_"):
            defines[parts[1]] = parts[2].strip().strip("()").rstrip("fu")
    try:
        h, w, c = (int(defines[f"EA_MODEL_INPUT_{k}"]) for k in ("HEIGHT", "WIDTH", "CHANNELS"))
        x = Tensor("input", (1, h, w, c), float(defines["EA_MODEL_INPUT_SCALE"]),
                   int(defines["EA_MODEL_INPUT_ZERO_POINT"]))
        y = Tensor("output", (1, 1, 1, int(defines["EA_MODEL_OUTPUT_SIZE"])),
                   float(defines["EA_MODEL_OUTPUT_SCALE"]), int(defines["EA_MODEL_OUTPUT_ZERO_POINT"]))
    except (KeyError, ValueError) as exc:
        raise BundleError(f"{header}: cannot read the model's input/output quantization ({exc})") from None
    post = "softmax" if defines.get("EA_MODEL_OUTPUT_IS_PROBABILITIES") == "1" else "none"
    return Program(tensors={"input": x, "output": y}, ops=(), input="input", output="output", output_post=post)


def make_firmware(firmware: Path, target: str, variables: dict[str, str]) -> None:
    """`make -C firmware <target> VAR=value...` with the bundle's own Makefile."""
    tools = toolchain.find_tools()
    tools.require("make", "host_cc" if target == "host" else "arm_gcc")
    for path in (firmware, *(Path(v) for k, v in variables.items() if k in ("INPUTS", "BUILD"))):
        if " " in str(Path(path).resolve()):
            raise toolchain.BuildError(f"path with a space cannot go through make: {path}")
    command = [tools.make, "-B", "-s", "-C", str(firmware), target,
               *(f"{k}={v}" for k, v in variables.items())]
    if target == "host":
        command.append(f"HOST_CC={tools.host_cc}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise toolchain.BuildError(f"make {target} in {firmware} failed (exit {result.returncode}):\n"
                                   f"{(result.stderr or result.stdout).strip()[-4000:]}")


def outputs_of(result, count: int, size: int, what: str) -> np.ndarray:
    console = result.console
    if "status" in console.values:
        code = console.values["status"]
        raise toolchain.RunError(f"{what}: ea_model_run returned {code} ({_STATUS.get(code, 'unknown')})")
    if result.exit_code != 0 or console.exit_code != 0:
        raise toolchain.RunError(f"{what} exited with {result.exit_code} (harness code {console.exit_code}, "
                                 f"fault {console.fault}):\n{result.stdout[-2000:]}")
    out = console.array("out", dtype=np.int8)
    if out.size != count * size:
        raise toolchain.RunError(f"{what} printed {out.size} output bytes, expected {count} x {size}")
    return out.reshape(count, size)


_STATUS = {0: "ok", 1: "null pointer", 2: "bad dims", 3: "bad param", 4: "unsupported", 5: "scratch too small",
           6: "misaligned", 7: "arena too small"}


# ---------------------------------------------------------------------------- helpers

def _check_precision(precision: str) -> None:
    if precision not in Apollo3Converter.precisions:
        raise ConversionError(f"apollo3: precision {precision!r} is not built; expected one of "
                              f"{list(Apollo3Converter.precisions)}")


def _model_name(model: torch.nn.Module, spec: PipelineSpec) -> str:
    """The registry name when exactly one registered model has this spec (names read
    better in generated code than class names), else the class name."""
    from edge_affect.models import get_entry, list_models

    names = [name for name in list_models(spec.task) if get_entry(name).spec == spec]
    return names[0] if len(names) == 1 else type(model).__name__


def _fingerprint(model: torch.nn.Module, calibration: np.ndarray) -> str:
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(str((calibration.dtype, calibration.shape)).encode())
    digest.update(np.ascontiguousarray(calibration).tobytes())
    return digest.hexdigest()


def _runtime_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
