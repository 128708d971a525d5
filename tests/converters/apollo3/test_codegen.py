"""The generated C: constants in flash, no mutable state, an arena check that
refuses a short arena, and an on-device preprocessing helper that matches the
reference preprocessing + input quantization bit for bit."""

from __future__ import annotations

import re

import numpy as np
import pytest

from edge_affect.bundle import load_bundle
from edge_affect.converters.apollo3 import toolchain
from edge_affect.converters.apollo3.converter import HarnessRunner
from edge_affect.converters.apollo3.scratch import kernel_sources
from edge_affect.runtime.int8.kernels import quantize_s8
from edge_affect.runtime.preprocess import crop_face, normalize

FRAME_W, FRAME_H = 324, 244  # HM01B0
BOXES = [(110, 40, 100, 130), (-20, -10, 90, 80), (200, 120, 150, 140), (150, 100, 8, 6)]


@pytest.fixture(scope="module")
def bundle(apollo3_bundle):
    return load_bundle(apollo3_bundle)


@pytest.fixture(scope="module")
def firmware(bundle):
    return bundle.root / bundle.manifest["artifact"]


def test_weights_and_tables_are_const_and_nothing_is_mutable(firmware):
    source = (firmware / "model" / "model.c").read_text()
    file_scope_data = [line for line in source.splitlines()
                       if re.match(r"^(static )?(const )?(int8_t|int32_t|ea_\w+_t|char|size_t)\b.*[=;]\s*{?$", line)]
    assert file_scope_data and all(" const " in f" {line} " for line in file_scope_data), file_scope_data
    assert "malloc" not in source and "ea_model_run(const ea_kernel_set_t *ks" in source
    header = (firmware / "model" / "model.h").read_text()
    arena = load_bundle(firmware.parent).manifest["apollo3"]["arena_bytes"]
    assert f"#define EA_MODEL_ARENA_SIZE {arena}u" in header
    assert "ea_model_arena_size(void)" in header and "ea_model_preprocess(" in header


def test_a_short_arena_is_refused_with_an_error_code(firmware, bundle):
    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler")
    runner = HarnessRunner(firmware, "host", defines="EA_APP_ARENA_BYTES=1024")
    with pytest.raises(toolchain.RunError, match=r"returned 7 \(arena too small\)"):
        runner(bundle.load_array("inputs")[:1])


PREPROCESS_APP = """
#include <stdint.h>
#include "ea_harness.h"
#include "model.h"
extern const uint8_t frame[];
extern const int32_t boxes[];
extern const size_t boxes_len;
int ea_harness_run(void) {
    int8_t input[EA_MODEL_INPUT_SIZE];
    size_t i;
    for (i = 0; i + 4 <= boxes_len; i += 4) {
        const ea_box_t box = {boxes[i], boxes[i + 1], boxes[i + 2], boxes[i + 3]};
        /* scratch = the input buffer itself, as model.h allows */
        const ea_pp_status_t status = ea_model_preprocess(frame, FRAME_W, FRAME_H, FRAME_W, box, input,
                                                          (uint8_t *)input);
        if (status != EA_PP_OK) {
            return 10 - (int)status;
        }
        ea_print_hex("input", input, sizeof input);
    }
    return 0;
}
"""


def test_on_device_preprocessing_matches_the_reference(firmware, bundle, tmp_path):
    if not toolchain.find_tools().can_build_host:
        pytest.skip("no make or host C compiler")
    data = pytest.importorskip("skimage.data", reason="scikit-image provides the real test photograph")
    frame = np.ascontiguousarray(data.camera()[100:100 + FRAME_H, 90:90 + FRAME_W])
    (tmp_path / "app.c").write_text(PREPROCESS_APP)
    data_c = toolchain.write_data_source(tmp_path / "data.c", {"frame": frame,
                                                               "boxes": np.asarray(BOXES, np.int32)})
    embedded = firmware / "embedded"
    exe = toolchain.build_host_harness(
        [tmp_path / "app.c", data_c, firmware / "model" / "model.c", *kernel_sources(embedded),
         embedded / "src" / "ea_preprocess.c"],
        [firmware / "model", embedded / "include", embedded / "kernels"], tmp_path / "pp",
        defines={"FRAME_W": FRAME_W, "FRAME_H": FRAME_H})
    run = toolchain.run_host(exe)
    assert run.exit_code == 0, run.stdout[-500:]
    device = run.console.array("input", dtype=np.int8).reshape(len(BOXES), 64, 64, 1)

    spec = bundle.spec.input
    inputs = np.stack([normalize(crop_face(frame, spec, box=box), spec) for box in BOXES])
    expected = quantize_s8(inputs, scale=spec.quant.scale, zero_point=spec.quant.zero_point)
    np.testing.assert_array_equal(device, expected.transpose(0, 2, 3, 1))
