"""converters/apollo3/toolchain.py: finding tools, building with the
embedded Makefile, running images (host and QEMU), parsing what they print,
and the errors a user sees when something is missing or wrong."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from edge_affect.converters.apollo3 import toolchain
from edge_affect.errors import EdgeAffectError

TOOLS = toolchain.find_tools()
needs_host = pytest.mark.skipif(not TOOLS.can_build_host, reason="no make or host C compiler installed")
needs_qemu = pytest.mark.skipif(not TOOLS.can_run_qemu,
                                reason=f"Cortex-M4 toolchain or QEMU missing; install: {toolchain.INSTALL_HINT}")

HARNESS = """
#include <stdint.h>
#include "ea_harness.h"
#include "data.h"
int ea_harness_run(void) {
    int32_t sum = 0;
    size_t i;
    ea_measure_begin();
    for (i = 0; i < values_len; ++i) {
        sum += values[i];
    }
    ea_measure_end();
    ea_print_value("sum", sum);
    ea_print_value("scale", SCALE);
    ea_print_hex("bytes", bytes, bytes_len);
    return (int)(sum % 100);
}
"""
DATA_H = "#include <stddef.h>\n#include <stdint.h>\n" \
         "extern const int16_t values[]; extern const size_t values_len;\n" \
         "extern const uint8_t bytes[]; extern const size_t bytes_len;\n"


@pytest.fixture
def app(tmp_path):
    """A small harness application with linked-in data arrays."""
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "data.h").write_text(DATA_H)
    (tmp_path / "app.c").write_text(HARNESS)
    values = np.arange(-50, 77, dtype=np.int16)
    data_bytes = np.arange(70, dtype=np.uint8)
    data_c = toolchain.write_data_source(tmp_path / "data.c", {"values": values, "bytes": data_bytes})
    return {"sources": [tmp_path / "app.c", data_c], "includes": [tmp_path / "inc"], "sum": int(values.sum()),
            "bytes": data_bytes.tobytes()}


def test_errors_are_edge_affect_errors():
    for error in (toolchain.ToolNotFoundError, toolchain.BuildError, toolchain.RunError):
        assert issubclass(error, toolchain.ToolchainError)
        assert issubclass(error, EdgeAffectError)


def test_missing_tools_name_the_tool_and_the_install_command(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CC", raising=False)
    tools = toolchain.find_tools()
    assert tools.arm_gcc is None and tools.qemu is None and not tools.can_run_qemu
    with pytest.raises(toolchain.ToolNotFoundError, match="arm-none-eabi-gcc.*apt-get install gcc-arm-none-eabi"):
        tools.require("arm_gcc")
    with pytest.raises(toolchain.ToolNotFoundError, match="qemu-system-arm"):
        toolchain.run_qemu("whatever.elf")
    with pytest.raises(toolchain.ToolNotFoundError, match="make"):
        toolchain.build_plugin("/tmp")


def test_parse_console():
    text = ("noise before\nEA_BEGIN\nEA_END 1234\nEA_BEGIN\nEA_END\nEA_HEX out 0102\nEA_HEX out ff\n"
            "EA_HEX other 80\nEA_VALUE answer -42\nEA_STACK 512\nEA_EXIT 0\n")
    console = toolchain.parse_console(text)
    assert console.hex == {"out": b"\x01\x02\xff", "other": b"\x80"}
    assert console.values == {"answer": -42}
    assert console.region_cycles == [1234, None]
    assert (console.stack_bytes, console.exit_code, console.fault) == (512, 0, None)
    np.testing.assert_array_equal(console.array("other", np.int8), [-128])
    with pytest.raises(toolchain.RunError, match="no EA_HEX line tagged 'missing'"):
        console.array("missing")
    with pytest.raises(toolchain.RunError, match="malformed"):
        toolchain.parse_console("EA_HEX out zz\n")
    assert toolchain.parse_console("EA_FAULT 03\n").fault == 3


def test_write_data_source(tmp_path):
    path = toolchain.write_data_source(tmp_path / "d.c", {"frame": np.array([[1, 2], [3, 255]], np.uint8),
                                                         "lut": np.array([-128, 127], np.int8)})
    text = path.read_text()
    assert "const uint8_t frame[4]" in text and "1, 2, 3, 255" in text
    assert "const int8_t lut[2]" in text and "const size_t lut_len = 2;" in text
    with pytest.raises(toolchain.BuildError, match="not a C identifier"):
        toolchain.write_data_source(tmp_path / "e.c", {"2bad": np.zeros(1, np.uint8)})
    with pytest.raises(toolchain.BuildError, match="float64"):
        toolchain.write_data_source(tmp_path / "e.c", {"x": np.zeros(1)})
    with pytest.raises(toolchain.BuildError, match="empty"):
        toolchain.write_data_source(tmp_path / "e.c", {"x": np.zeros(0, np.uint8)})


@needs_host
def test_host_harness_runs_and_reports(app, tmp_path):
    exe = toolchain.build_host_harness(app["sources"], app["includes"], tmp_path / "host" / "app",
                                       {"SCALE": 3})
    run = toolchain.run_host(exe)
    assert run.exit_code == app["sum"] % 100
    assert run.console.values == {"sum": app["sum"], "scale": 3}
    assert run.console.hex["bytes"] == app["bytes"]
    assert run.console.exit_code == run.exit_code
    assert run.console.region_cycles[0] is not None  # the host has a clock


@needs_host
def test_build_error_carries_the_compiler_message(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int ea_harness_run(void) { return undeclared_name; }\n")
    with pytest.raises(toolchain.BuildError, match="undeclared_name"):
        toolchain.build_host_harness([bad], [], tmp_path / "bad")
    with pytest.raises(toolchain.BuildError, match="not found"):
        toolchain.build_host_harness([tmp_path / "missing.c"], [], tmp_path / "bad")
    with pytest.raises(toolchain.BuildError, match="no C sources"):
        toolchain.build_host_library([], [], tmp_path / "lib.so")


@needs_qemu
def test_qemu_image_runs_counts_and_sizes(app, tmp_path):
    elf = toolchain.build_qemu_image(app["sources"], app["includes"], tmp_path / "m4" / "app.elf", {"SCALE": 5})
    run = toolchain.run_qemu(elf, timeout=30)
    assert run.exit_code == app["sum"] % 100  # QEMU's own exit status is main's return value
    assert run.console.values == {"sum": app["sum"], "scale": 5}
    assert run.console.hex["bytes"] == app["bytes"]
    assert run.console.region_cycles == [None]  # QEMU has no cycle counter
    assert 0 < run.console.stack_bytes < 1024
    assert len(run.region_instructions) == 1
    assert run.instructions_marked == run.region_instructions[0]
    # 127 int16 additions: a few instructions each
    assert 127 * 2 < run.instructions_marked < 127 * 12
    assert run.instructions_total > run.instructions_marked

    sizes = toolchain.elf_sizes(elf)
    assert set(sizes) == {"text", "rodata", "data", "bss"}
    assert sizes["text"] > 0 and sizes["rodata"] >= 127 * 2 + 70
    # no printf/stdio pulled in: the harness formats its own numbers
    assert sizes["text"] < 8 * 1024
    symbols = toolchain.elf_symbols(elf)
    assert symbols["ea_marker_begin"] % 2 == 0 and "ea_reset_handler" in symbols

    without_plugin = toolchain.run_qemu(elf, plugin=False, timeout=30)
    assert without_plugin.instructions_total is None and without_plugin.console.values == run.console.values


@needs_qemu
def test_endless_image_times_out(tmp_path):
    source = tmp_path / "hang.c"
    source.write_text("int ea_harness_run(void) { volatile int spin = 1; while (spin) { } return 0; }\n")
    elf = toolchain.build_qemu_image([source], [], tmp_path / "hang.elf")
    with pytest.raises(toolchain.RunError, match="did not finish on QEMU within 1 s"):
        toolchain.run_qemu(elf, plugin=False, timeout=1)


@needs_qemu
def test_image_without_harness_has_no_markers(tmp_path):
    """run_qemu's plugin needs the harness's marker symbols."""
    source = tmp_path / "plain.c"
    source.write_text("int main(void) { return 0; }\n")
    elf = tmp_path / "plain.elf"
    port = toolchain.embedded_dir() / "ports" / "qemu_mps2_an386"
    subprocess.run([TOOLS.arm_gcc, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                    f"-I{port}", f"-I{port.parent}", str(source), str(port / "startup.c"),
                    f"-T{port / 'mps2_an386.ld'}", "--specs=rdimon.specs", "-nostartfiles", "-o", str(elf)],
                   check=True, capture_output=True)
    with pytest.raises(toolchain.RunError, match="ea_marker_begin"):
        toolchain.run_qemu(elf, timeout=10)
    assert toolchain.run_qemu(elf, plugin=False, timeout=10).exit_code == 0


@needs_qemu
def test_apollo3_board_file_needs_ambiqsuite(tmp_path):
    """The Apollo3 board layer is the only file that needs AmbiqSuite, and says so."""
    board = toolchain.embedded_dir() / "ports" / "apollo3" / "ea_board_apollo3.c"
    result = subprocess.run([TOOLS.arm_gcc, "-mcpu=cortex-m4", "-mthumb", "-c", str(board), "-o",
                             str(tmp_path / "b.o")], capture_output=True, text=True)
    assert result.returncode != 0 and "needs AmbiqSuite" in result.stderr
    result = subprocess.run([TOOLS.make, "-s", "-f", str(toolchain.embedded_dir() / "tools" / "Makefile"), "apollo3",
                             f"APP_SRCS={board}", f"OUT_AXF={tmp_path / 'a.axf'}"], capture_output=True, text=True)
    assert result.returncode != 0 and "AMBIQSUITE_ROOT" in result.stderr


@pytest.mark.skipif(TOOLS.make is None or not shutil.which("cppcheck"),
                    reason="cppcheck or make not installed")
def test_embedded_sources_are_cppcheck_clean():
    result = subprocess.run([TOOLS.make, "-s", "-f", str(toolchain.embedded_dir() / "tools" / "Makefile"), "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
