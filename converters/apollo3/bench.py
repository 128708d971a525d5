"""Benchmark figures of an Apollo3 bundle on the emulated Cortex-M4F (QEMU
mps2-an386), for both kernel sets: MACs, flash, RAM, instructions per
inference (instruction-count plugin), instructions per MAC, estimated
latency, and a per-op instruction profile.

Latency is estimated, not measured: cycles = instructions x CPI with CPI
assumed 1.0 (Cortex-M4 executes most ALU / DSP / MAC instructions in one
cycle; loads, taken branches and the 2-cycle SMLAD-free paths cost more),
so the figure is a lower bound at zero flash wait states. The Apollo3's flash
cache and wait states (and TurboSPOT's 96 MHz burst mode) are not modelled.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from edge_affect.bundle import load_bundle
from edge_affect.converters.apollo3 import app, codegen, toolchain
from edge_affect.converters.apollo3.converter import HarnessRunner, outputs_of
from edge_affect.converters.apollo3.reference import quantize_inputs

CPI = 1.0
CLOCKS_HZ = (48_000_000, 96_000_000)
CPI_NOTE = ("latency = instructions x CPI / clock with CPI = 1.0 (Cortex-M4, zero-wait-state memory): a lower "
            "bound; the Apollo3's flash cache and wait states (and 96 MHz burst mode) are not modelled")
TARGETS = {"instructions_per_mac_optimized_max": 2.5, "arena_bytes_max": 160 * 1024,
           "flash_model_runtime_bytes_max": 160 * 1024}


def bench_firmware(firmware: Path, bundle_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    toolchain.find_tools().require("make", "arm_gcc", "arm_size", "arm_nm", "qemu")
    bundle = load_bundle(bundle_dir, verify=False)  # the caller has verified it
    info = manifest.get("apollo3", {})
    macs = int(info.get("macs", 0))
    ops = info.get("ops", [])
    first_input = bundle.load_array("inputs")[:1]
    figures: dict[str, Any] = {
        "bundle": str(bundle_dir), "model": manifest.get("model"), "target": manifest.get("target"),
        "device": "Cortex-M4F (QEMU mps2-an386, instruction-count plugin)", "macs": macs,
        "arena_bytes": int(info.get("arena_bytes", 0)), "cpi_assumption": CPI, "latency_note": CPI_NOTE,
        "kernels": {},
    }
    for kernels in app.KERNEL_SETS:
        figures["kernels"][kernels] = _bench_kernel_set(firmware, kernels, first_input, macs, ops,
                                                        figures["arena_bytes"])
    opt = figures["kernels"]["optimized"]
    figures["targets"] = {
        "instructions_per_mac_optimized": {"value": opt["instructions_per_mac"],
                                           "max": TARGETS["instructions_per_mac_optimized_max"],
                                           "met": opt["instructions_per_mac"]
                                           <= TARGETS["instructions_per_mac_optimized_max"]},
        "arena_bytes": {"value": figures["arena_bytes"], "max": TARGETS["arena_bytes_max"],
                        "met": figures["arena_bytes"] <= TARGETS["arena_bytes_max"]},
        "flash_model_runtime_bytes": {"value": opt["flash_model_runtime_bytes"],
                                      "max": TARGETS["flash_model_runtime_bytes_max"],
                                      "met": opt["flash_model_runtime_bytes"]
                                      <= TARGETS["flash_model_runtime_bytes_max"]},
    }
    return figures


def _bench_kernel_set(firmware: Path, kernels: str, first_input: np.ndarray, macs: int, ops: list,
                      arena_bytes: int) -> dict[str, Any]:
    runner = HarnessRunner(firmware, "qemu", kernels=kernels)
    x = quantize_inputs(runner.program(), first_input)
    plugin = toolchain.build_plugin(runner.workdir / "plugin")

    elf = runner.image(x)
    run = toolchain.run_qemu(elf, plugin=True, plugin_path=plugin, timeout=300)
    outputs_of(run, 1, runner.program().output_tensor.size, f"qemu bench image ({kernels})")
    instructions = run.region_instructions[0]
    sizes = toolchain.elf_sizes(elf)
    symbols = symbol_sizes(elf)
    flash_image = sizes["text"] + sizes["rodata"] + sizes["data"]
    flash_inputs = symbols.get(app.INPUTS_SYMBOL, 0)
    flash_model = sum(size for name, size in symbols.items()
                      if name.startswith(codegen.SYMBOL_PREFIX) or name.startswith("ea_model_"))
    stack = int(run.console.stack_bytes or 0)

    profile_elf = runner.image(x, defines="EA_MODEL_PROFILE")
    profile_run = toolchain.run_qemu(profile_elf, plugin=True, plugin_path=plugin, timeout=300)
    outputs_of(profile_run, 1, runner.program().output_tensor.size, f"qemu profile image ({kernels})")
    per_op = []
    for i, count in enumerate(profile_run.region_instructions):
        op = ops[i] if i < len(ops) and isinstance(ops[i], dict) else {}
        op_macs = int(op.get("macs", 0))
        per_op.append({"op": i, "layer": op.get("layer"), "kind": op.get("kind"), "macs": op_macs,
                       "instructions": int(count),
                       "instructions_per_mac": round(count / op_macs, 3) if op_macs else None,
                       "share": round(count / max(sum(profile_run.region_instructions), 1), 4)})
    return {
        "instructions_per_inference": int(instructions),
        "instructions_per_mac": round(instructions / macs, 3) if macs else None,
        **{f"latency_ms_at_{hz // 1_000_000}mhz": round(instructions * CPI / hz * 1e3, 2) for hz in CLOCKS_HZ},
        "flash_image_bytes": flash_image,
        "flash_inputs_bytes": flash_inputs,
        "flash_model_runtime_bytes": flash_image - flash_inputs,
        "flash_model_bytes": flash_model,
        "ram_bytes": arena_bytes + stack,
        "stack_high_water_bytes": stack,
        "static_ram_bytes": sizes["data"] + sizes["bss"],
        "per_op": per_op,
        "per_kind": _per_kind(per_op),
    }


def _per_kind(per_op: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds: dict[str, dict[str, Any]] = {}
    for row in per_op:
        k = kinds.setdefault(row["kind"], {"kind": row["kind"], "instructions": 0, "macs": 0})
        k["instructions"] += row["instructions"]
        k["macs"] += row["macs"]
    total = sum(k["instructions"] for k in kinds.values()) or 1
    for k in kinds.values():
        k["share"] = round(k["instructions"] / total, 4)
        k["instructions_per_mac"] = round(k["instructions"] / k["macs"], 3) if k["macs"] else None
    return sorted(kinds.values(), key=lambda k: -k["instructions"])


def symbol_sizes(elf: Path) -> dict[str, int]:
    """Symbol -> size in bytes (arm-none-eabi-nm -S), for the flash breakdown."""
    tools = toolchain.find_tools()
    tools.require("arm_nm")
    result = subprocess.run([tools.arm_nm, "-S", str(elf)], capture_output=True, text=True)
    if result.returncode != 0:
        raise toolchain.ToolchainError(f"arm-none-eabi-nm -S {elf} failed: {result.stderr.strip()}")
    sizes: dict[str, int] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = sizes.get(parts[3], 0) + int(parts[1], 16)
    return sizes
