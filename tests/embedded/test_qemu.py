"""The Cortex-M4F build on QEMU mps2-an386: the C preprocessing compiled with
arm-none-eabi-gcc equals the numpy reference bit for bit on an HM01B0-sized
frame linked into the image, and the instruction-count plugin counts what
it should."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_affect.converters.apollo3 import toolchain
from edge_affect.runtime.preprocess import crop_face, margin_permille
from edge_affect.spec import InputSpec

HERE = Path(__file__).parent
FRAME_W, FRAME_H = 324, 244  # HM01B0


def require_qemu_tools() -> None:
    tools = toolchain.find_tools()
    if not tools.can_run_qemu:
        missing = [name for name in ("make", "host_cc", "arm_gcc", "arm_size", "arm_nm", "qemu")
                   if getattr(tools, name) is None]
        pytest.skip(f"Cortex-M4 toolchain incomplete (missing {missing}); install: {toolchain.INSTALL_HINT}")


def spec_of(size, color="gray", resize="bilinear", margin=0.0, keep_aspect=False, pad_value=0) -> InputSpec:
    channels = 3 if color == "rgb" else 1
    return InputSpec(source="face_box", color=color, size=size, resize=resize, crop_margin=margin,
                     pad="keep_aspect" if keep_aspect else "none", pad_value=pad_value,
                     scale=(1 / 255,) * channels, offset=(0.0,) * channels)


# (box, spec): case 0 is the headline figure, 324x244 -> 64x64 with a margin.
CASES = [
    ((110, 40, 100, 130), spec_of((64, 64), margin=0.2, keep_aspect=True)),
    ((-30, -20, 90, 70), spec_of((48, 48))),
    ((200, 120, 150, 150), spec_of((96, 96), resize="nearest", margin=0.1, keep_aspect=True, pad_value=128)),
    ((160, 100, 6, 4), spec_of((64, 64))),  # upscaling a tiny box
    ((40, 30, 120, 100), spec_of((64, 48), color="rgb", margin=0.25, keep_aspect=True, pad_value=7)),
]


def hm01b0_frame() -> np.ndarray:
    data = pytest.importorskip("skimage.data", reason="scikit-image provides the real test photograph")
    return np.ascontiguousarray(data.camera()[100:100 + FRAME_H, 90:90 + FRAME_W])


def case_table() -> np.ndarray:
    rows = [[*box, *spec.size, 3 if spec.color == "rgb" else 1, 1 if spec.resize == "nearest" else 0,
             margin_permille(spec), int(spec.pad == "keep_aspect"), spec.pad_value] for box, spec in CASES]
    return np.asarray(rows, dtype=np.int32)


def input_lut() -> np.ndarray:
    """A table like the converter's: pixel/255 quantized with scale 1/255, zp -128."""
    return (np.arange(256) - 128).astype(np.int8)


@pytest.fixture(scope="module")
def preprocess_run(tmp_path_factory):
    require_qemu_tools()
    build = tmp_path_factory.mktemp("qemu_preprocess")
    frame = hm01b0_frame()
    data_c = toolchain.write_data_source(build / "data.c", {"ea_test_frame": frame, "ea_test_cases": case_table(),
                                                           "ea_test_lut": input_lut()})
    elf = toolchain.build_qemu_image(
        [toolchain.embedded_dir() / "src" / "ea_preprocess.c", HERE / "c" / "preprocess_harness.c", data_c], [],
        build / "preprocess.elf", {"EA_TEST_FRAME_W": FRAME_W, "EA_TEST_FRAME_H": FRAME_H})
    return frame, elf, toolchain.run_qemu(elf, timeout=60)


def test_cortex_m4_preprocessing_matches_reference(preprocess_run):
    frame, elf, run = preprocess_run
    assert run.exit_code == 0, run.stdout[-2000:]
    assert run.console.exit_code == 0
    for i, (box, spec) in enumerate(CASES):
        assert run.console.values[f"status{i:02d}"] == 0
        expected = crop_face(frame, spec, box)
        got = run.console.array(f"crop{i:02d}", shape=expected.shape)
        np.testing.assert_array_equal(got, expected, err_msg=f"case {i}: box {box}, spec {spec}")
    crop0 = crop_face(frame, CASES[0][1], CASES[0][0])
    np.testing.assert_array_equal(run.console.array("quantized", np.int8), input_lut()[crop0.reshape(-1)])


def test_cortex_m4_preprocessing_cost(preprocess_run):
    """Measured figures (printed), with loose sanity bounds: a 64x64 bilinear
    crop is a few hundred thousand instructions, not millions."""
    _, elf, run = preprocess_run
    regions = run.region_instructions
    assert len(regions) == len(CASES) + 1  # + the quantization of case 0
    per_pixel = regions[0] / (64 * 64)
    print(f"\nCortex-M4 (QEMU) instructions: 324x244 -> 64x64 bilinear {regions[0]} ({per_pixel:.1f}/pixel); "
          f"48x48 {regions[2]}; 96x96 nearest {regions[3]}; LUT quantize 64x64 {regions[1]}; "
          f"stack high-water {run.console.stack_bytes} B; sizes {toolchain.elf_sizes(elf)}")
    assert 10 < per_pixel < 200
    assert regions[1] < 10 * 64 * 64
    assert 0 < run.console.stack_bytes < 1024
    assert run.instructions_total > run.instructions_marked > 0


@pytest.fixture(scope="module")
def loop_counts(tmp_path_factory):
    require_qemu_tools()
    build = tmp_path_factory.mktemp("qemu_loop")
    plugin = toolchain.build_plugin(build)
    counts = {}
    for n in (500, 1000, 2000):
        elf = toolchain.build_qemu_image([HERE / "c" / "loop_harness.c"], [], build / f"loop{n}.elf",
                                         {"EA_LOOP_N": n})
        run = toolchain.run_qemu(elf, plugin_path=plugin, timeout=30)
        assert run.exit_code == 0
        assert run.console.values["acc"] == n * (n - 1) // 2
        counts[n] = run
    return counts


def test_plugin_counts_scale_with_loop_iterations(loop_counts):
    marked = {n: run.instructions_marked for n, run in loop_counts.items()}
    per_iteration, rest = divmod(marked[2000] - marked[1000], 1000)
    assert rest == 0
    # the loop adds a fixed body per iteration: exactly linear in n
    assert marked[1000] - marked[500] == 500 * per_iteration
    assert 3 <= per_iteration <= 12  # load, add, store, increment, compare, branch (+/- scheduling)
    # outside the region only the printing of the sum differs (500 and 1000 print six digits each)
    outside = {n: run.instructions_total - run.instructions_marked for n, run in loop_counts.items()}
    assert outside[500] == outside[1000]
    assert all(len(run.region_instructions) == 1 for run in loop_counts.values())


def test_fault_ends_the_emulation_with_a_message(tmp_path):
    """A HardFault must stop QEMU with the fault status, not hang the suite."""
    require_qemu_tools()
    source = tmp_path / "fault.c"
    source.write_text('#include <stdint.h>\n#include "ea_harness.h"\n'
                      "int ea_harness_run(void) {\n"
                      "    void (*const jump)(void) = (void (*)(void))(uintptr_t)0xFFFFFFF0u;\n"
                      "    jump();\n    return 0;\n}\n")
    elf = toolchain.build_qemu_image([source], [], tmp_path / "fault.elf")
    run = toolchain.run_qemu(elf, plugin=False, timeout=30)
    assert run.exit_code == toolchain.FAULT_EXIT_CODE
    assert run.console.fault is not None
