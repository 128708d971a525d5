"""The C kernel library, built once per test session into a pytest tmp dir
(never into the source tree), and the two kernel sets as fixtures."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from ea_kernels_ctypes import KERNELS_DIR, Kernels


def _build(out_so: Path) -> None:
    subprocess.run(["make", "-s", "-C", str(KERNELS_DIR), "hostlib", f"OUT_SO={out_so}"],
                   check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def kernel_lib(tmp_path_factory) -> ctypes.CDLL:
    """libea_kernels.so built with gcc -O2 -fPIC -Werror into the session's tmp dir."""
    missing = [tool for tool in ("make", "gcc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"host C toolchain missing: {', '.join(missing)} not on PATH")
    out_so = tmp_path_factory.mktemp("ea_kernels") / "libea_kernels.so"
    try:
        _build(out_so)
    except subprocess.CalledProcessError as err:
        pytest.fail(f"building the kernel library failed:\n{err.stdout}\n{err.stderr}")
    return ctypes.CDLL(str(out_so))


@pytest.fixture(scope="session")
def ref(kernel_lib) -> Kernels:
    return Kernels(kernel_lib, "ea_kernels_reference")


@pytest.fixture(scope="session")
def opt(kernel_lib) -> Kernels:
    return Kernels(kernel_lib, "ea_kernels_optimized")
