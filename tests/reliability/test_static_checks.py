"""Every C source of the runtime (preprocessing, both kernel sets, ports,
QEMU plugin) and the code the Apollo3 converter generates is cppcheck-clean
and compiles warning-free with -std=c99 -Wall -Wextra -Werror -pedantic
under gcc and clang. (tests/converters/apollo3/test_toolchain.py runs the
Makefile's `check` target, which covers the preprocessing and ports only.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

EMBEDDED = Path(__file__).resolve().parents[2] / "embedded"
INCLUDES = [EMBEDDED / "include", EMBEDDED / "ports", EMBEDDED / "ports" / "qemu_mps2_an386", EMBEDDED / "kernels",
            EMBEDDED / "kernels" / "optimized"]
# Portable sources: everything but the two bare-metal ports, which only build for the Cortex-M4
# (their compilation is covered by the QEMU image tests) and the Apollo3 board file (needs AmbiqSuite).
HOST_SOURCES = sorted([*EMBEDDED.glob("src/*.c"), *EMBEDDED.glob("kernels/*/*.c"), EMBEDDED / "ports" / "ea_harness.c",
                       EMBEDDED / "ports" / "host" / "board.c"])
CPPCHECK = ["cppcheck", "--std=c99", "--enable=warning,style,performance,portability", "--error-exitcode=1",
            "--inline-suppr", "--suppress=missingIncludeSystem", "-q", *(f"-I{d}" for d in INCLUDES)]


def _all_sources() -> list[Path]:
    return sorted(p for p in EMBEDDED.rglob("*.c"))


def test_the_source_list_is_complete():
    assert len(_all_sources()) >= 20 and all(p.is_file() for p in HOST_SOURCES)


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="cppcheck not installed (apt-get install cppcheck)")
@pytest.mark.slow
def test_every_embedded_source_is_cppcheck_clean():
    result = subprocess.run([*CPPCHECK, *map(str, _all_sources())], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# Initialisers of numbers only (the weight and bias tables): cppcheck spends minutes
# parsing 300 KB of literals it has nothing to say about, so their values are elided.
_NUMBER_TABLE = re.compile(r"\{[\s0-9,\-uUlLxXa-fA-F]{200,}\}")


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="cppcheck not installed (apt-get install cppcheck)")
def test_generated_model_code_is_cppcheck_clean(apollo3_bundle, tmp_path):
    firmware = apollo3_bundle / "firmware"
    model_c = tmp_path / "model.c"
    model_c.write_text(_NUMBER_TABLE.sub("{0}", (firmware / "model" / "model.c").read_text()))
    result = subprocess.run([*CPPCHECK, f"-I{firmware / 'model'}", str(model_c), str(firmware / "app" / "ea_app.c")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_warning_free_with_werror(compiler, tmp_path):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c", *(f"-I{d}" for d in INCLUDES)]
    for source in HOST_SOURCES:
        result = subprocess.run([compiler, *flags, str(source), "-o", str(tmp_path / f"{source.stem}.o")],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{compiler} {source}:\n{result.stderr}"
