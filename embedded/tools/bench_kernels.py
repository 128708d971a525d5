#!/usr/bin/env python3
"""Per-layer instruction counts of the int8 kernel sets on the emulated Cortex-M4.

Every layer shape of mini-Xception (FER-2013 build: 64x64x1 input, stem 8/8,
modules 16/32/64/128, 7 classes), pooling / add / mean / softmax included,
runs through the reference and the optimized kernels on QEMU mps2-an386
(tests/embedded/c/bench_kernels.c); the instruction-count plugin counts each
call. Prints instructions per MAC per layer and for the whole model, and
checks that the two sets wrote the same bytes on the device.

    python embedded/tools/bench_kernels.py [--json] [--opt -O2] [--build DIR]

Needs arm-none-eabi-gcc, libnewlib-arm-none-eabi, qemu-system-arm, make and a
host C compiler. Exit status 1 when the sets disagree or a kernel fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge_affect.converters.apollo3 import toolchain
from edge_affect.runtime.int8 import quant_math as qm

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "embedded" / "c" / "bench_kernels.c"
KERNELS = REPO / "embedded" / "kernels"

# Layer kinds and row layout of bench_kernels.c's ea_bench_layers.
KINDS = ("conv", "depthwise", "pointwise", "max_pool", "add", "mean", "softmax", "fc")
FIELDS = ("kind", "h", "w", "c_in", "c_out", "kh", "kw", "stride", "pad_t", "pad_b", "pad_l", "pad_r",
          "input_zp", "output_zp", "act_min", "act_max")


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str
    h: int
    w: int
    c_in: int
    c_out: int
    kh: int = 1
    kw: int = 1
    stride: int = 1
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    input_zp: int = -128
    output_zp: int = -128
    act_min: int = -128
    act_max: int = 127

    @property
    def out_hw(self) -> tuple[int, int]:
        return ((self.h + self.pad[0] + self.pad[1] - self.kh) // self.stride + 1,
                (self.w + self.pad[2] + self.pad[3] - self.kw) // self.stride + 1)

    @property
    def macs(self) -> int:
        oh, ow = self.out_hw
        if self.kind in ("conv", "pointwise", "fc"):
            return oh * ow * self.c_out * self.kh * self.kw * self.c_in
        if self.kind == "depthwise":
            return oh * ow * self.c_in * self.kh * self.kw
        return 0

    @property
    def shape_text(self) -> str:
        oh, ow = self.out_hw
        k = f" {self.kh}x{self.kw}" if self.kind in ("conv", "depthwise", "max_pool") else ""
        s = f"/{self.stride}" if self.stride != 1 else ""
        return f"{self.h}x{self.w}x{self.c_in}{k}{s} -> {oh}x{ow}x{self.c_out}"

    def row(self) -> list[int]:
        return [KINDS.index(self.kind), self.h, self.w, self.c_in, self.c_out, self.kh, self.kw, self.stride,
                *self.pad, self.input_zp, self.output_zp, self.act_min, self.act_max]


def keras_same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def mini_xception_layers(size: int = 64, stem=(8, 8), modules=(16, 32, 64, 128), classes: int = 7) -> list[Layer]:
    """The kernel calls of one mini-Xception inference, in execution order
    (BN folded into the convs, ReLU into the activation ranges)."""
    layers: list[Layer] = []
    c = 1
    for i, f in enumerate(stem):
        layers.append(Layer(f"stem{i + 1}", "conv", size, size, c, f, 3, 3, input_zp=-128 if i else 0,
                            output_zp=-128, act_min=-128))
        size, c = size - 2, f
    for m, f in enumerate(modules, start=1):
        half = (size - 1) // 2 + 1
        pool_pad = (*keras_same_pad(size, 3, 2), *keras_same_pad(size, 3, 2))
        layers += [
            Layer(f"m{m}.shortcut", "pointwise", size, size, c, f, stride=2, input_zp=-7, output_zp=3),
            Layer(f"m{m}.dw1", "depthwise", size, size, c, c, 3, 3, pad=(1, 1, 1, 1), input_zp=-7, output_zp=5),
            Layer(f"m{m}.pw1", "pointwise", size, size, c, f, input_zp=5, output_zp=-128),  # + ReLU
            Layer(f"m{m}.dw2", "depthwise", size, size, f, f, 3, 3, pad=(1, 1, 1, 1), input_zp=-128, output_zp=9),
            Layer(f"m{m}.pw2", "pointwise", size, size, f, f, input_zp=9, output_zp=-2),
            Layer(f"m{m}.pool", "max_pool", size, size, f, f, 3, 3, stride=2, pad=pool_pad),
            Layer(f"m{m}.add", "add", half, half, f, f),
        ]
        size, c = half, f
    layers += [
        Layer("classifier", "conv", size, size, c, classes, 3, 3, pad=(1, 1, 1, 1), input_zp=-7, output_zp=12),
        Layer("mean", "mean", size, size, classes, classes, input_zp=12, output_zp=10),
        Layer("softmax", "softmax", 1, 1, classes, classes),
    ]
    return layers


def requant_tables(layers: list[Layer], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel multipliers that map random int8 accumulators onto the
    int8 range (spread over it, a few saturating), as calibration would."""
    rng = np.random.default_rng(seed)
    mults, shifts = [], []
    for layer in layers:
        if layer.kind in ("conv", "depthwise", "pointwise", "fc"):
            depth = layer.kh * layer.kw * (1 if layer.kind == "depthwise" else layer.c_in)
            # random x - zp and w have std ~74: the accumulator's std is ~74^2 sqrt(depth)
            reals = 40.0 / (74.0 ** 2 * np.sqrt(depth)) * rng.uniform(0.5, 2.0, layer.c_out)
            m, s = qm.quantize_multipliers(reals)
            mults.append(m)
            shifts.append(s)
    return np.concatenate(mults).astype(np.int32), np.concatenate(shifts).astype(np.int32)


def data_arrays(layers: list[Layer]) -> dict[str, np.ndarray]:
    mult, shift = requant_tables(layers)
    add = qm.add_params(0.05, -3, 0.08, 6, 0.1, -1)
    mean_mult, mean_shift = qm.mean_multiplier(0.1, 0.05, 16)
    softmax = qm.softmax_params(0.1)
    return {
        "ea_bench_layers": np.array([layer.row() for layer in layers], np.int32),
        "ea_bench_multiplier": mult,
        "ea_bench_shift": shift,
        "ea_bench_add": np.array([add.input1_zero_point, add.input2_zero_point, add.output_zero_point,
                                  add.left_shift, add.input1_multiplier, add.input1_shift, add.input2_multiplier,
                                  add.input2_shift, add.output_multiplier, add.output_shift, add.act_min,
                                  add.act_max], np.int32),
        "ea_bench_misc": np.array([mean_mult, mean_shift, softmax.input_multiplier, softmax.input_left_shift,
                                   softmax.diff_min], np.int32),
    }


@dataclass
class LayerResult:
    name: str
    kind: str
    shape: str
    macs: int
    reference: int  # instructions
    optimized: int
    mismatches: int
    status: int  # 16 * reference status + optimized status

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.status == 0


def run(layers: list[Layer], build: Path, opt: str = "-O2") -> tuple[list[LayerResult], int | None]:
    """Build the benchmark image for `layers`, run it on QEMU; per-layer counts
    and the image's stack high-water mark in bytes (kernels + harness)."""
    data_c = toolchain.write_data_source(build / "bench_data.c", data_arrays(layers))
    sources = [HARNESS, data_c, *sorted((KERNELS / "reference").glob("*.c")),
               *sorted((KERNELS / "optimized").glob("*.c"))]
    elf = toolchain.build_qemu_image(sources, [KERNELS], build / "bench_kernels.elf", opt=opt)
    result = toolchain.run_qemu(elf, timeout=600)
    regions = result.region_instructions
    if len(regions) != 2 * len(layers):
        raise toolchain.RunError(f"expected {2 * len(layers)} measured regions, got {len(regions)} "
                                 f"(exit {result.exit_code}):\n{result.stdout[-2000:]}")
    values = result.console.values
    return [LayerResult(layer.name, layer.kind, layer.shape_text, layer.macs, regions[2 * i], regions[2 * i + 1],
                        values.get(f"mismatch_{i:03d}", -1), values.get(f"status_{i:03d}", -1))
            for i, layer in enumerate(layers)], result.console.stack_bytes


def per_mac(instructions: int, macs: int) -> float | None:
    return instructions / macs if macs else None


def summary(results: list[LayerResult]) -> dict:
    macs = sum(r.macs for r in results)
    ref = sum(r.reference for r in results)
    opt = sum(r.optimized for r in results)
    return {"macs": macs, "reference_instructions": ref, "optimized_instructions": opt,
            "reference_per_mac": ref / macs, "optimized_per_mac": opt / macs,
            "bit_exact": all(r.ok for r in results)}


def print_table(results: list[LayerResult]) -> None:
    total = summary(results)
    print(f"{'layer':<13} {'shape':<30} {'MACs':>9} {'ref instr':>11} {'ref/MAC':>8} "
          f"{'opt instr':>10} {'opt/MAC':>8} {'opt share':>9}  same")
    for r in results:
        ref_pm, opt_pm = per_mac(r.reference, r.macs), per_mac(r.optimized, r.macs)
        print(f"{r.name:<13} {r.shape:<30} {r.macs:>9} {r.reference:>11} "
              f"{'' if ref_pm is None else f'{ref_pm:.2f}':>8} {r.optimized:>10} "
              f"{'' if opt_pm is None else f'{opt_pm:.2f}':>8} "
              f"{100 * r.optimized / total['optimized_instructions']:>8.1f}%  {'yes' if r.ok else 'NO'}")
    by_kind: dict[str, list[int]] = {}
    for r in results:
        acc = by_kind.setdefault(r.kind, [0, 0, 0])
        acc[0] += r.macs
        acc[1] += r.reference
        acc[2] += r.optimized
    print()
    for kind, (macs, ref, opt) in by_kind.items():
        ratio = f"  {ref / macs:.2f} -> {opt / macs:.2f} instr/MAC" if macs else ""
        print(f"{kind:<10} {ref:>11} -> {opt:>10} instructions "
              f"({100 * opt / total['optimized_instructions']:.1f}% of optimized){ratio}")
    print(f"\nwhole model: {total['macs']} MACs; reference {total['reference_instructions']} instructions "
          f"({total['reference_per_mac']:.2f}/MAC), optimized {total['optimized_instructions']} "
          f"({total['optimized_per_mac']:.2f}/MAC); sets bit-exact on the device: {total['bit_exact']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--opt", default="-O2",
                        help="compiler optimisation flag(s) for the image; write --opt=-O3 (leading dash)")
    parser.add_argument("--build", type=Path, help="build directory (default: a temporary one)")
    args = parser.parse_args(argv)
    layers = mini_xception_layers()
    if args.build is not None:
        args.build.mkdir(parents=True, exist_ok=True)
        results, stack = run(layers, args.build, args.opt)
    else:
        with tempfile.TemporaryDirectory(prefix="ea_bench_") as tmp:
            results, stack = run(layers, Path(tmp), args.opt)
    if args.json:
        print(json.dumps({"layers": [{**asdict(r), "ok": r.ok} for r in results],
                          "total": {**summary(results), "stack_high_water_bytes": stack}}, indent=2))
    else:
        print_table(results)
        print(f"stack high-water mark of the benchmark image (kernels + harness): {stack} bytes")
    return 0 if summary(results)["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
