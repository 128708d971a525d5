"""The one interface every target converter implements.

A converter turns (torch model, pipeline spec, precision) into one artifact
file or directory, and knows how to execute that artifact in the target's real
runtime. Bundle layout, manifests, goldens and atomic writes are handled once,
in ``edge_affect.converters.build``; a converter only exports and runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from edge_affect.spec import PipelineSpec

# A runner maps float32 model inputs (N, C, H, W) to raw model outputs (N, K).
Runner = Callable[[np.ndarray], np.ndarray]


@dataclass
class ExportResult:
    artifact: str  # file or directory name inside the bundle
    tools: dict[str, str]  # tool name -> version used to build the artifact
    quantization: dict[str, Any] | None = None  # int8 builds: input/output quant params, scheme
    # Largest difference allowed between the artifact and its reference on raw outputs.
    output_tolerance: float = 1e-5
    extra_manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class StructuralCheck:
    """One check made on an artifact without executing it (e.g. Core ML on Linux)."""

    name: str
    passed: bool
    detail: str = ""


class Converter(ABC):
    target: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]
    # CPU threads the runtime may use when load() builds a runner; 0 = its default.
    threads: int = 0

    @abstractmethod
    def reference(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
                  calibration: np.ndarray) -> Runner:
        """The torch computation the artifact must reproduce: eager fp32, or the
        pt2e-converted model for int8 (deterministic given the calibration set)."""

    @abstractmethod
    def export(self, model: torch.nn.Module, spec: PipelineSpec, precision: str,
               calibration: np.ndarray, workdir: Path) -> ExportResult:
        """Write the artifact into `workdir` (a fresh temporary directory)."""

    @abstractmethod
    def load(self, bundle_dir: Path, manifest: dict[str, Any]) -> Runner:
        """Load the artifact in the target runtime and return a runner."""

    def reference_name(self, precision: str) -> str:
        """What `reference()` computes, recorded with the golden outputs."""
        return "torch_pt2e_int8" if precision == "int8" else "torch_eager_fp32"

    def builds(self, bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Runner]:
        """Every build of the artifact that parity runs, by name. Most targets have
        one runtime; a C target has several (host harness, emulated device)."""
        return {"default": self.load(bundle_dir, manifest)}

    def device_bench(self, bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Figures for a target whose speed is not wall-clock time on this machine
        (a microcontroller measured on an emulator); None: time the runner here."""
        return None

    def can_execute(self) -> tuple[bool, str]:
        """Whether this machine can run the artifact; if not, the reason, printed as a skip."""
        return True, ""

    def structural_checks(self, bundle_dir: Path, manifest: dict[str, Any],
                          model: torch.nn.Module) -> list[StructuralCheck]:
        """Checks that need no runtime (always run, in addition to numeric parity)."""
        return []
