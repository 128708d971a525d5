#!/usr/bin/env python3
"""Soak test of the C runtime: run an Apollo3 bundle's model thousands of
times in one image (QEMU Cortex-M4F, or the host build) and check that every
output is identical.

    python scripts/soak_c_runtime.py BUNDLE --runs 10000 --build qemu
    python scripts/soak_c_runtime.py --convert --runs 10000   (builds the bundle first)

The image cycles through a few golden inputs. Before every inference the
whole arena is overwritten with a pattern that changes from run to run, so
an output that depended on memory left over from an earlier run (an
uninitialised read, a plan that lets two live tensors overlap) would differ
between runs of the same input. The device compares each output with the
first output of the same input and counts mismatches and error statuses;
this script also checks the first outputs against the numpy int8
reference (bit-exact) and reports the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

SOAK_APP_C = r"""
/* Soak harness (scripts/soak_c_runtime.py): EA_SOAK_RUNS inferences over the
 * linked inputs, arena scribbled before each one, outputs compared on device. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ea_harness.h"
#include "model.h"

#ifndef EA_SOAK_RUNS
#define EA_SOAK_RUNS 100
#endif
#define EA_SOAK_MAX_INPUTS 16

extern const int8_t ea_app_inputs[];
extern const size_t ea_app_inputs_len;

#define EA_SOAK_ARENA_WORDS64 ((EA_MODEL_ARENA_SIZE + 7u) / 8u)
static int64_t arena[EA_SOAK_ARENA_WORDS64]; /* 8-byte aligned, as the model needs */
static int8_t first[EA_SOAK_MAX_INPUTS][EA_MODEL_OUTPUT_SIZE];

/* A different pattern every run (xorshift32), so stale data never repeats. */
static void scribble(uint32_t seed) {
    const size_t n = 2u * EA_SOAK_ARENA_WORDS64;
    uint32_t *words = (uint32_t *)arena;
    size_t i;
    uint32_t x = seed * 2654435761u + 1u;
    for (i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        words[i] = x;
    }
}

int ea_harness_run(void) {
    size_t count = ea_app_inputs_len / EA_MODEL_INPUT_SIZE;
    int32_t mismatches = 0, errors = 0, first_bad_run = -1;
    uint32_t run;
    if (count > EA_SOAK_MAX_INPUTS) {
        count = EA_SOAK_MAX_INPUTS;
    }
    for (run = 0; run < (uint32_t)EA_SOAK_RUNS; ++run) {
        const size_t i = run % count;
        int8_t out[EA_MODEL_OUTPUT_SIZE];
        ea_status_t status;
        scribble(run);
        status = ea_model_run(&ea_kernels_optimized, ea_app_inputs + i * EA_MODEL_INPUT_SIZE, out, arena,
                              sizeof arena);
        if (status != EA_OK) {
            ++errors;
            first_bad_run = first_bad_run < 0 ? (int32_t)run : first_bad_run;
        } else if (run < count) {
            memcpy(first[i], out, sizeof out);
            ea_print_hex("first", out, sizeof out);
        } else if (memcmp(first[i], out, sizeof out) != 0) {
            ++mismatches;
            first_bad_run = first_bad_run < 0 ? (int32_t)run : first_bad_run;
        }
    }
    ea_print_value("runs", (int32_t)EA_SOAK_RUNS);
    ea_print_value("inputs", (int32_t)count);
    ea_print_value("mismatches", mismatches);
    ea_print_value("errors", errors);
    ea_print_value("first_bad_run", first_bad_run);
    return mismatches != 0 || errors != 0;
}
"""

DEFAULT_INPUTS = 8


@dataclass
class SoakResult:
    build: str  # "qemu" | "host"
    runs: int
    inputs: int
    mismatches: int  # outputs that differ from the first output of the same input
    errors: int  # ea_model_run calls that did not return EA_OK
    first_bad_run: int  # -1 when none
    reference_bit_exact: bool  # first outputs == numpy int8 reference
    exit_code: int
    seconds: float  # wall time of the run (excluding the build)
    stack_bytes: int | None

    @property
    def ok(self) -> bool:
        return (self.mismatches == 0 and self.errors == 0 and self.reference_bit_exact and self.exit_code == 0
                and self.runs > 0)


def soak_inputs(bundle_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 NHWC inputs, int8 reference outputs) for the first n goldens."""
    from edge_affect.bundle import load_bundle
    from edge_affect.converters.apollo3.converter import header_program
    from edge_affect.converters.apollo3.reference import quantize_inputs

    bundle = load_bundle(bundle_dir)
    firmware = bundle.artifact_path
    program = header_program(firmware / "model" / "model.h")
    inputs = quantize_inputs(program, bundle.load_array("inputs")[:n])
    # The reference program (weights included) is in the converter's cache only at convert time; the
    # bundle's golden outputs are its dequantized outputs, exact in float32 for the 1/256 scale.
    out = program.output_tensor
    expected = np.round(bundle.load_array("outputs")[:n].astype(np.float64) / out.scale + out.zero_point)
    return inputs, expected.astype(np.int8)


def build_image(firmware: Path, inputs: np.ndarray, runs: int, build: str, workdir: Path) -> Path:
    from edge_affect.converters.apollo3 import toolchain

    workdir.mkdir(parents=True, exist_ok=True)
    app = workdir / "soak_app.c"
    app.write_text(SOAK_APP_C)
    data = toolchain.write_data_source(workdir / "inputs.c", {"ea_app_inputs": np.ascontiguousarray(inputs)})
    kernels = sorted((firmware / "embedded" / "kernels").glob("*/*.c"))
    sources = [firmware / "model" / "model.c", app, data, *kernels, firmware / "embedded" / "src" / "ea_preprocess.c"]
    includes = [firmware / "model", firmware / "embedded" / "include", firmware / "embedded" / "kernels"]
    defines = {"EA_SOAK_RUNS": int(runs)}
    if build == "qemu":
        return toolchain.build_qemu_image(sources, includes, workdir / "soak.elf", defines)
    return toolchain.build_host_harness(sources, includes, workdir / "soak", defines)


def soak(bundle_dir: Path, runs: int, build: str = "qemu", n_inputs: int = DEFAULT_INPUTS,
         timeout: float | None = None) -> SoakResult:
    from edge_affect.bundle import load_bundle
    from edge_affect.converters.apollo3 import toolchain

    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    firmware = load_bundle(bundle_dir).artifact_path
    inputs, expected = soak_inputs(bundle_dir, n_inputs)
    with tempfile.TemporaryDirectory(prefix=f"ea_soak_{build}_") as tmp:
        image = build_image(firmware, inputs, runs, build, Path(tmp))
        limit = timeout if timeout is not None else 60.0 + runs * (0.5 if build == "qemu" else 0.05)
        start = time.perf_counter()
        if build == "qemu":
            result = toolchain.run_qemu(image, plugin=False, timeout=limit)
        else:
            result = toolchain.run_host(image, timeout=limit)
        seconds = time.perf_counter() - start
    console = result.console
    values = console.values
    count = int(values.get("inputs", 0))
    first = console.hex.get("first", b"")
    got = np.frombuffer(first, dtype=np.int8).reshape(-1, expected.shape[1]) if first else np.zeros((0, 1), np.int8)
    exact = got.shape == expected[:count].shape and count > 0 and bool(np.array_equal(got, expected[:count]))
    return SoakResult(build=build, runs=int(values.get("runs", 0)), inputs=count,
                      mismatches=int(values.get("mismatches", -1)), errors=int(values.get("errors", -1)),
                      first_bad_run=int(values.get("first_bad_run", -1)), reference_bit_exact=exact,
                      exit_code=result.exit_code, seconds=round(seconds, 3), stack_bytes=console.stack_bytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", nargs="?", help="an apollo3 bundle directory")
    parser.add_argument("--convert", action="store_true",
                        help="build the mini_xception_fer2013 apollo3 bundle first (into a temporary directory)")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--build", choices=("qemu", "host", "both"), default="qemu")
    parser.add_argument("--inputs", type=int, default=DEFAULT_INPUTS, help="golden inputs cycled through (<= 16)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if (args.bundle is None) == (not args.convert):
        parser.error("give a bundle directory or --convert")
    if args.runs < 1 or not 1 <= args.inputs <= 16:
        parser.error("--runs must be >= 1 and --inputs in [1, 16]")
    with tempfile.TemporaryDirectory(prefix="ea_soak_bundle_") as tmp:
        bundle = Path(args.bundle) if args.bundle else None
        if bundle is None:
            from edge_affect.converters.build import build_bundle

            bundle = build_bundle("mini_xception_fer2013", "apollo3", "int8", Path(tmp) / "bundle")
        builds = ("host", "qemu") if args.build == "both" else (args.build,)
        results = [soak(bundle, args.runs, b, args.inputs) for b in builds]
    for r in results:
        if args.json:
            print(json.dumps({**asdict(r), "ok": r.ok, "seconds_per_run": r.seconds / max(r.runs, 1)}))
        else:
            print(f"{r.build}: {r.runs:,} runs over {r.inputs} inputs in {r.seconds:.1f} s "
                  f"({1000 * r.seconds / max(r.runs, 1):.2f} ms/run): {r.mismatches} mismatches, {r.errors} errors, "
                  f"first outputs bit-exact with the numpy reference: {r.reference_bit_exact}, "
                  f"stack {r.stack_bytes} B -> {'PASS' if r.ok else 'FAIL'}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
