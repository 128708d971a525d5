"""The bundle's C application and build files: a harness that runs the model
on inputs linked into the image, and the Makefile / README that make the
bundle a drop-in firmware component."""

from __future__ import annotations

from edge_affect.converters.apollo3.lower import Program
from edge_affect.converters.apollo3.memory import MemoryPlan

# Name of the int8 input array the harness runs (written by toolchain.write_data_source).
INPUTS_SYMBOL = "ea_app_inputs"
KERNEL_SETS = ("optimized", "reference")

APP_C = """\
/*
 * Harness application: runs the model on every input linked into the image
 * (app/inputs.c: `ea_app_inputs`, EA_MODEL_INPUT_SIZE int8 values each, NHWC)
 * and prints each output as an `EA_HEX out` line (embedded/ports/ea_harness.h).
 * Each inference is one measured region: cycles on a board with a cycle
 * counter, instructions under the QEMU plugin. With -DEA_MODEL_PROFILE every
 * op is a region instead.
 *
 *   -DEA_APP_KERNELS=ea_kernels_reference   kernel set (default: optimized)
 *   -DEA_APP_ARENA_BYTES=n                  arena size passed to ea_model_run()
 */
#include <stddef.h>
#include <stdint.h>

#include "ea_harness.h"
#include "model.h"

#ifndef EA_APP_KERNELS
#define EA_APP_KERNELS ea_kernels_optimized
#endif
#ifndef EA_APP_ARENA_BYTES
#define EA_APP_ARENA_BYTES EA_MODEL_ARENA_SIZE
#endif

extern const int8_t ea_app_inputs[];
extern const size_t ea_app_inputs_len;

/* The model's working memory, owned by the application (8-byte aligned). */
static int64_t arena[(EA_MODEL_ARENA_SIZE + 7u) / 8u];

int ea_harness_run(void) {
    int8_t output[EA_MODEL_OUTPUT_SIZE];
    const size_t count = ea_app_inputs_len / EA_MODEL_INPUT_SIZE;
    size_t i;
    for (i = 0; i < count; ++i) {
        ea_status_t status;
#ifndef EA_MODEL_PROFILE
        ea_measure_begin();
#endif
        status = ea_model_run(&EA_APP_KERNELS, ea_app_inputs + i * EA_MODEL_INPUT_SIZE, output, arena,
                              EA_APP_ARENA_BYTES);
#ifndef EA_MODEL_PROFILE
        ea_measure_end();
#endif
        if (status != EA_OK) {
            ea_print_value("status", (int32_t)status);
            return (int)status;
        }
        ea_print_hex("out", output, sizeof output);
    }
    ea_print_value("arena_bytes", (int32_t)ea_model_arena_size());
    return 0;
}

#ifdef EA_MODEL_PROFILE
void ea_model_profile_begin(int32_t op) {
    (void)op;
    ea_marker_begin();
}

void ea_model_profile_end(int32_t op) {
    (void)op;
    ea_marker_end();
}
#endif
"""

MAKEFILE = """\
# Builds this model with the edge-affect C runtime (everything it needs is in
# this directory). Targets:
#
#   make host                 host harness          -> $(BUILD)/host/ea_app
#   make qemu                 Cortex-M4F image      -> $(BUILD)/qemu/ea_app.elf  (QEMU mps2-an386)
#   make apollo3 AMBIQSUITE=/path/to/AmbiqSuite [AMBIQ_BOARD=apollo3_evb]
#                             Apollo3 image         -> $(BUILD)/apollo3/ea_app.axf
#   make run-host / run-qemu  build, then run on the inputs in $(INPUTS)
#
# Options: KERNELS=optimized|reference  INPUTS=app/inputs.c  BUILD=build  DEFINES="NAME=VALUE ..."
# To use the model in your own firmware instead, compile model/model.c,
# embedded/kernels/{reference,optimized}/*.c and embedded/src/ea_preprocess.c
# with -Imodel -Iembedded/include -Iembedded/kernels (see README.md).

HERE := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
EA_ROOT := $(HERE)/embedded
KERNELS ?= optimized
INPUTS ?= $(HERE)/app/inputs.c
BUILD ?= $(HERE)/build
DEFINES ?=
AMBIQ_BOARD ?= apollo3_evb

include $(EA_ROOT)/kernels/kernels.mk

APP_SRCS := $(HERE)/model/model.c $(HERE)/app/ea_app.c $(abspath $(INPUTS)) $(EA_KERNEL_SRCS) \\
	$(EA_ROOT)/src/ea_preprocess.c
APP_INCLUDES := $(HERE)/model $(EA_KERNEL_INCLUDE_DIRS)
APP_DEFINES := EA_APP_KERNELS=ea_kernels_$(KERNELS) $(DEFINES)
EA_MAKE = $(MAKE) --no-print-directory -f $(EA_ROOT)/tools/Makefile EA_ROOT=$(EA_ROOT) \\
	APP_SRCS="$(APP_SRCS)" APP_INCLUDES="$(APP_INCLUDES)" APP_DEFINES="$(APP_DEFINES)"

.PHONY: host qemu apollo3 run-host run-qemu clean

host:
	$(EA_MAKE) host OUT_EXE=$(BUILD)/host/ea_app

qemu:
	$(EA_MAKE) qemu OUT_ELF=$(BUILD)/qemu/ea_app.elf

apollo3:
	@test -n "$(AMBIQSUITE)" || { echo "apollo3: set AMBIQSUITE=/path/to/AmbiqSuite (see README.md)"; exit 2; }
	$(EA_MAKE) apollo3 OUT_AXF=$(BUILD)/apollo3/ea_app.axf AMBIQSUITE_ROOT=$(AMBIQSUITE) AMBIQ_BOARD=$(AMBIQ_BOARD)

run-host: host
	$(BUILD)/host/ea_app

run-qemu: qemu
	qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \\
		-semihosting-config enable=on,target=native -kernel $(BUILD)/qemu/ea_app.elf

clean:
	rm -rf $(BUILD)
"""


def readme(model_name: str, program: Program, plan: MemoryPlan) -> str:
    x, y = program.input_tensor, program.output_tensor
    _, h, w, c = x.shape
    output = ("probabilities, real = (q + 128) / 256" if program.output_post == "softmax"
              else f"values, real = (q - {y.zero_point}) * {y.scale:.9g}")
    return f"""\
# {model_name} for the Apollo3 (Cortex-M4F) — edge-affect C bundle

Generated by `edge-affect convert {model_name} --target apollo3`. Everything
here is plain C99 with no heap and no mutable globals; the model's working
memory is one arena you pass in.

| | |
|---|---|
| input | {h}x{w}x{c} int8 NHWC, scale {x.scale:.9g}, zero point {x.zero_point} |
| output | {y.size} int8 {output} |
| arena | {plan.arena_bytes} bytes, {plan.alignment}-byte aligned (`EA_MODEL_ARENA_SIZE`) |
| ops | {len(program.ops)}, {program.macs():,} MACs |

## Layout

```
model/model.h, model.c   weights, quantization parameters and the layer program (generated)
embedded/include/        runtime API: ea_kernels.h, ea_quant.h, ea_status.h, ea_preprocess.h
embedded/kernels/        int8 kernels: reference/ (plain C) and optimized/ (Cortex-M4 DSP), bit-exact
embedded/src/            on-device preprocessing (camera frame + face box -> int8 input)
embedded/ports/          harness main(), board files: host/, qemu_mps2_an386/, apollo3/
embedded/tools/          Makefiles and the QEMU instruction-count plugin
app/ea_app.c             harness: runs the model on app/inputs.c and prints the outputs
Makefile                 host / qemu / apollo3 builds of the harness
```

## Using the model in firmware

```c
#include "model.h"

static int64_t arena[(EA_MODEL_ARENA_SIZE + 7) / 8];
static int8_t input[EA_MODEL_INPUT_SIZE];
int8_t scores[EA_MODEL_OUTPUT_SIZE];

/* frame: 8-bit gray camera frame (HM01B0: 324x244), box: the face */
ea_model_preprocess(frame, 324, 244, 324, box, input, (uint8_t *)input);
if (ea_model_run(&ea_kernels_optimized, input, scores, arena, sizeof arena) == EA_OK) {{
    /* scores[i] -> ea_model_labels[i] */
}}
```

Compile `model/model.c`, `embedded/kernels/reference/*.c`,
`embedded/kernels/optimized/*.c` and `embedded/src/ea_preprocess.c` with
`-Imodel -Iembedded/include -Iembedded/kernels` and
`-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb`.
`ea_model_run()` returns `EA_ERR_ARENA_TOO_SMALL` instead of overrunning a
short arena.

## Building the harness

```
make run-host                   # host compiler, prints EA_HEX out ... per input
make run-qemu                   # arm-none-eabi-gcc + qemu-system-arm (mps2-an386)
make apollo3 AMBIQSUITE=/opt/AmbiqSuite_R2.5.1 AMBIQ_BOARD=apollo3_evb
```

`KERNELS=reference` selects the reference kernels. The board-specific part of
the Apollo3 build is one file, `embedded/ports/apollo3/ea_board_apollo3.c`
(see `embedded/ports/apollo3/README.md`). `edge-affect parity` runs this
bundle's host and QEMU builds against the numpy int8 reference (bit-exact);
`edge-affect bench` counts instructions per inference on the emulated Cortex-M4.
"""
