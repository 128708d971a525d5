"""The C toolchain behind the Apollo3 target: find the tools, build images
with ``embedded/tools/Makefile``, run them on the host or on QEMU's
Cortex-M4F (``mps2-an386``) and read back what they print.

Images speak the console protocol of ``embedded/ports/ea_harness.h``
(``EA_HEX`` / ``EA_VALUE`` / ``EA_STACK`` / ``EA_EXIT`` lines); on QEMU the
instruction-count plugin (``embedded/tools/qemu_insn_plugin.c``) counts the
guest instructions between the harness's two marker functions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from edge_affect.errors import EdgeAffectError

EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "embedded"
INSTALL_HINT = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
QEMU_MACHINE = "mps2-an386"
MARKER_BEGIN = "ea_marker_begin"
MARKER_END = "ea_marker_end"
# Exit status the QEMU startup uses after a fault (it prints "EA_FAULT <n>").
FAULT_EXIT_CODE = 3


class ToolchainError(EdgeAffectError):
    """Building or running a C image failed."""


class ToolNotFoundError(ToolchainError):
    """A compiler, emulator or build tool is not installed."""


class BuildError(ToolchainError):
    """The compiler or linker rejected the sources."""


class RunError(ToolchainError):
    """An image did not run to completion (timeout, emulator failure)."""


@dataclass(frozen=True)
class Tools:
    """Paths of the tools; None where one is not installed."""

    make: str | None
    host_cc: str | None
    arm_gcc: str | None
    arm_size: str | None
    arm_nm: str | None
    qemu: str | None

    def require(self, *names: str) -> None:
        missing = [name for name in names if getattr(self, name) is None]
        if missing:
            programs = ", ".join(_PROGRAMS[name] for name in missing)
            raise ToolNotFoundError(f"{programs} not found on PATH; install with: {INSTALL_HINT} "
                                    f"(and make / a C compiler for the host)")

    @property
    def can_build_host(self) -> bool:
        return self.make is not None and self.host_cc is not None

    @property
    def can_run_qemu(self) -> bool:
        return None not in (self.make, self.host_cc, self.arm_gcc, self.arm_size, self.arm_nm, self.qemu)


_PROGRAMS = {
    "make": "make",
    "host_cc": "a host C compiler ($CC, cc, gcc or clang)",
    "arm_gcc": "arm-none-eabi-gcc",
    "arm_size": "arm-none-eabi-size",
    "arm_nm": "arm-none-eabi-nm",
    "qemu": "qemu-system-arm",
}


def find_tools() -> Tools:
    host_cc = next((p for p in (os.environ.get("CC"), "cc", "gcc", "clang") if p and shutil.which(p)), None)
    return Tools(
        make=shutil.which("make"),
        host_cc=shutil.which(host_cc) if host_cc else None,
        arm_gcc=shutil.which("arm-none-eabi-gcc"),
        arm_size=shutil.which("arm-none-eabi-size"),
        arm_nm=shutil.which("arm-none-eabi-nm"),
        qemu=shutil.which("qemu-system-arm"),
    )


def embedded_dir() -> Path:
    if not (EMBEDDED_DIR / "tools" / "Makefile").is_file():
        raise ToolchainError(f"embedded C sources not found at {EMBEDDED_DIR} (expected tools/Makefile there)")
    return EMBEDDED_DIR


# ---------------------------------------------------------------- building

def _make(target: str, variables: Mapping[str, str], tools: Tools) -> None:
    command = [tools.make, "-B", "-s", "-f", str(embedded_dir() / "tools" / "Makefile"), target,
               f"EA_ROOT={embedded_dir()}", *(f"{k}={v}" for k, v in variables.items())]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"make {target} failed (exit {result.returncode}):\n{result.stderr.strip()}")


def _app_variables(sources: Iterable[Path | str], include_dirs: Iterable[Path | str],
                   defines: Mapping[str, object] | Iterable[str] | None) -> dict[str, str]:
    srcs = [Path(s).resolve() for s in sources]
    if not srcs:
        raise BuildError("no C sources given")
    for path in srcs:
        if not path.is_file():
            raise BuildError(f"C source not found: {path}")
    for path in [*srcs, *map(Path, include_dirs)]:
        if " " in str(path):
            raise BuildError(f"path with a space cannot go through make: {path}")
    if defines is None:
        define_list: list[str] = []
    elif isinstance(defines, Mapping):
        define_list = [k if v is None else f"{k}={v}" for k, v in defines.items()]
    else:
        define_list = list(defines)
    return {
        "APP_SRCS": " ".join(map(str, srcs)),
        "APP_INCLUDES": " ".join(str(Path(d).resolve()) for d in include_dirs),
        "APP_DEFINES": " ".join(define_list),
    }


def build_qemu_image(sources: Sequence[Path | str], include_dirs: Sequence[Path | str], out_elf: Path | str,
                     defines: Mapping[str, object] | Iterable[str] | None = None, *,
                     stack_size: int = 65536, opt: str = "-O2") -> Path:
    """A Cortex-M4F image for QEMU mps2-an386: `sources` (which define
    ea_harness_run) + the QEMU port + the harness main."""
    tools = find_tools()
    tools.require("make", "arm_gcc")
    out_elf = Path(out_elf).resolve()
    variables = _app_variables(sources, include_dirs, defines)
    _make("qemu", {**variables, "OUT_ELF": str(out_elf), "EA_STACK_SIZE": str(int(stack_size)),
                   "EA_OPT": opt}, tools)
    return out_elf


def build_host_harness(sources: Sequence[Path | str], include_dirs: Sequence[Path | str], out_exe: Path | str,
                       defines: Mapping[str, object] | Iterable[str] | None = None, *, opt: str = "-O2") -> Path:
    """The same harness for the build machine."""
    tools = find_tools()
    tools.require("make", "host_cc")
    out_exe = Path(out_exe).resolve()
    variables = _app_variables(sources, include_dirs, defines)
    _make("host", {**variables, "OUT_EXE": str(out_exe), "HOST_CC": tools.host_cc, "EA_OPT": opt}, tools)
    return out_exe


def build_host_library(sources: Sequence[Path | str], include_dirs: Sequence[Path | str], out_so: Path | str,
                       defines: Mapping[str, object] | Iterable[str] | None = None, *, opt: str = "-O2") -> Path:
    """A shared library of `sources` alone (no harness), for ctypes."""
    tools = find_tools()
    tools.require("make", "host_cc")
    out_so = Path(out_so).resolve()
    variables = _app_variables(sources, include_dirs, defines)
    _make("hostlib", {**variables, "OUT_SO": str(out_so), "HOST_CC": tools.host_cc, "EA_OPT": opt}, tools)
    return out_so


def build_plugin(out_dir: Path | str) -> Path:
    """The QEMU instruction-count plugin, as out_dir/libea_insn.so."""
    tools = find_tools()
    tools.require("make", "host_cc")
    out_so = Path(out_dir).resolve() / "libea_insn.so"
    _make("plugin", {"PLUGIN_SO": str(out_so), "HOST_CC": tools.host_cc}, tools)
    return out_so


def write_data_source(path: Path | str, arrays: Mapping[str, np.ndarray], includes: Sequence[str] = ()) -> Path:
    """A .c file of `const` arrays (int8/uint8/int16/int32) for linking
    inputs into an image; each array `name` also gets `name_len`."""
    c_types = {np.dtype(np.uint8): "uint8_t", np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
               np.dtype(np.int32): "int32_t", np.dtype(np.uint32): "uint32_t"}
    lines = ["/* Generated by edge_affect.converters.apollo3.toolchain: input data. */",
             "#include <stddef.h>", "#include <stdint.h>", *(f'#include "{h}"' for h in includes), ""]
    for name, array in arrays.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise BuildError(f"data array name {name!r} is not a C identifier")
        flat = np.ascontiguousarray(array).reshape(-1)
        if flat.dtype not in c_types:
            raise BuildError(f"data array {name!r}: dtype {flat.dtype} has no C type here")
        if flat.size == 0:
            raise BuildError(f"data array {name!r} is empty")
        body = ",\n".join("  " + ", ".join(str(v) for v in flat[i:i + 24].tolist())
                          for i in range(0, flat.size, 24))
        lines += [f"const {c_types[flat.dtype]} {name}[{flat.size}] __attribute__((aligned(4))) = {{", body, "};",
                  f"const size_t {name}_len = {flat.size};", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


# ---------------------------------------------------------------- running

@dataclass
class Console:
    """What a harness image printed, parsed (see ea_harness.h)."""

    hex: dict[str, bytes] = field(default_factory=dict)
    values: dict[str, int] = field(default_factory=dict)
    region_cycles: list[int | None] = field(default_factory=list)
    stack_bytes: int | None = None
    exit_code: int | None = None
    fault: int | None = None

    def array(self, tag: str, dtype=np.uint8, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if tag not in self.hex:
            raise RunError(f"the image printed no EA_HEX line tagged {tag!r} (tags: {sorted(self.hex)})")
        out = np.frombuffer(self.hex[tag], dtype=dtype)
        return out.reshape(shape) if shape is not None else out


def parse_console(text: str) -> Console:
    console = Console()
    chunks: dict[str, list[bytes]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        try:
            if key == "EA_HEX" and len(parts) == 3:
                chunks.setdefault(parts[1], []).append(bytes.fromhex(parts[2]))
            elif key == "EA_VALUE" and len(parts) == 3:
                console.values[parts[1]] = int(parts[2])
            elif key == "EA_END":
                console.region_cycles.append(int(parts[1]) if len(parts) > 1 else None)
            elif key == "EA_STACK" and len(parts) == 2:
                console.stack_bytes = int(parts[1])
            elif key == "EA_EXIT" and len(parts) == 2:
                console.exit_code = int(parts[1])
            elif key == "EA_FAULT" and len(parts) == 2:
                console.fault = int(parts[1])
        except ValueError:
            raise RunError(f"malformed harness line: {line!r}") from None
    console.hex = {tag: b"".join(parts) for tag, parts in chunks.items()}
    return console


@dataclass
class QemuRun:
    stdout: str
    exit_code: int
    instructions_total: int | None  # None when run without the plugin
    instructions_marked: int | None  # summed over every begin/end region
    region_instructions: list[int] = field(default_factory=list)
    console: Console = field(default_factory=Console)


def elf_symbols(elf: Path | str) -> dict[str, int]:
    """Global/local symbol -> address (Thumb bit cleared) via arm-none-eabi-nm."""
    tools = find_tools()
    tools.require("arm_nm")
    result = subprocess.run([tools.arm_nm, str(elf)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"arm-none-eabi-nm {elf} failed: {result.stderr.strip()}")
    symbols = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16) & ~1
    return symbols


def elf_sizes(elf: Path | str) -> dict[str, int]:
    """Bytes of text, rodata (incl. unwind tables), data and bss of an image."""
    tools = find_tools()
    tools.require("arm_size")
    result = subprocess.run([tools.arm_size, "-A", "-d", str(elf)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"arm-none-eabi-size {elf} failed: {result.stderr.strip()}")
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    group = {".text": "text", ".rodata": "rodata", ".ARM.extab": "rodata", ".ARM.exidx": "rodata",
             ".data": "data", ".bss": "bss"}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in group:
            sizes[group[parts[0]]] += int(parts[1])
    return sizes


def _parse_plugin_counts(path: Path) -> tuple[int, int, list[int]]:
    text = path.read_text() if path.is_file() else ""
    head = re.search(r"insn_total=(\d+) insn_marked=(\d+) regions=(\d+)", text)
    if head is None:
        raise RunError(f"the instruction-count plugin wrote no result to {path}")
    regions = [int(n) for _, n in re.findall(r"^region (\d+) (\d+)$", text, flags=re.M)]
    return int(head.group(1)), int(head.group(2)), regions


def run_qemu(elf: Path | str, plugin: bool = True, timeout: float = 60.0,
             plugin_path: Path | str | None = None) -> QemuRun:
    """Run an image on QEMU mps2-an386 with semihosting; QEMU's exit status is
    the image's exit code. With `plugin`, count instructions (the plugin is
    built next to the image unless `plugin_path` is given)."""
    tools = find_tools()
    tools.require("qemu")
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise RunError(f"image not found: {elf}")
    command = [tools.qemu, "-M", QEMU_MACHINE, "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native,chardev=ea_console",
               "-chardev", "stdio,id=ea_console", "-kernel", str(elf)]
    with tempfile.TemporaryDirectory(prefix="ea_qemu_") as tmp:
        counts_path = Path(tmp) / "counts.txt"
        if plugin:
            so = Path(plugin_path) if plugin_path is not None else build_plugin(elf.parent)
            symbols = elf_symbols(elf)
            missing = [s for s in (MARKER_BEGIN, MARKER_END) if s not in symbols]
            if missing:
                raise RunError(f"{elf.name} has no symbol(s) {missing}: is ports/ea_harness.c linked in?")
            if "," in str(so) or "," in str(counts_path):
                raise RunError(f"QEMU plugin arguments cannot contain commas: {so}")
            command += ["-plugin", f"{so},begin={symbols[MARKER_BEGIN]:#x},end={symbols[MARKER_END]:#x},"
                                   f"out={counts_path}"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RunError(f"{elf.name} did not finish on QEMU within {timeout:g} s "
                           f"(an endless loop in the image?)") from None
        console = parse_console(result.stdout)
        if "qemu-system-arm:" in result.stderr:
            raise RunError(f"QEMU failed to run {elf.name} (exit {result.returncode}): {result.stderr.strip()}")
        total = marked = None
        regions: list[int] = []
        if plugin:
            total, marked, regions = _parse_plugin_counts(counts_path)
    return QemuRun(stdout=result.stdout, exit_code=result.returncode, instructions_total=total,
                   instructions_marked=marked, region_instructions=regions, console=console)


@dataclass
class HostRun:
    stdout: str
    exit_code: int
    console: Console


def run_host(exe: Path | str, timeout: float = 60.0) -> HostRun:
    exe = Path(exe).resolve()
    try:
        result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RunError(f"host harness not found: {exe}") from None
    except subprocess.TimeoutExpired:
        raise RunError(f"{exe.name} did not finish within {timeout:g} s") from None
    return HostRun(stdout=result.stdout, exit_code=result.returncode, console=parse_console(result.stdout))
