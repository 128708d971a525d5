"""The generated C model's entry points with a bad input buffer or arena:
ea_model_run() returns an error code without touching memory (here checked
byte for byte) instead of overrunning. The kernels' and the preprocessing's
own parameter checks are tested in tests/embedded/ and fuzzed (fuzz/c/)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # converts the Apollo3 bundle (about a minute, shared with the soak test)

EA_OK, EA_ERR_NULL_POINTER, EA_ERR_MISALIGNED, EA_ERR_ARENA_TOO_SMALL = 0, 1, 6, 7
EA_PP_ERR_NULL, EA_PP_ERR_SIZE, EA_PP_ERR_BOX_OUTSIDE, EA_PP_ERR_RANGE = -1, -2, -4, -6


class Box(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int32), ("y", ctypes.c_int32), ("width", ctypes.c_int32), ("height", ctypes.c_int32)]


@pytest.fixture(scope="module")
def model(apollo3_bundle, tmp_path_factory):
    from edge_affect.app.c_runtime import build_model_library

    lib = ctypes.CDLL(str(build_model_library(apollo3_bundle / "firmware",
                                              tmp_path_factory.mktemp("c_model") / "libmodel.so")))
    lib.ea_model_arena_size.restype = ctypes.c_size_t
    lib.ea_model_run.restype = ctypes.c_int
    lib.ea_model_run.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_size_t]
    lib.ea_model_preprocess.restype = ctypes.c_int
    lib.ea_model_preprocess.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, Box,
                                        ctypes.c_void_p, ctypes.c_void_p]
    return lib


def _run(lib, input_buf, output, arena, size):
    kernels = ctypes.c_void_p.in_dll(lib, "ea_kernels_optimized")
    addr = ctypes.addressof(kernels)
    return lib.ea_model_run(addr, input_buf, output, arena, size)


def test_arena_and_pointers(model):
    size = model.ea_model_arena_size()
    arena = (ctypes.c_int64 * (size // 8 + 2))()
    ctypes.memset(arena, 0xA5, ctypes.sizeof(arena))
    x = (ctypes.c_int8 * 4096)()
    out = (ctypes.c_int8 * 7)(*([0x5A] * 7))
    base = ctypes.addressof(arena)
    assert _run(model, x, out, base, size - 1) == EA_ERR_ARENA_TOO_SMALL
    assert _run(model, x, out, base, 0) == EA_ERR_ARENA_TOO_SMALL
    assert _run(model, x, out, base + 4, size) == EA_ERR_MISALIGNED
    assert _run(model, None, out, base, size) == EA_ERR_NULL_POINTER
    assert _run(model, x, None, base, size) == EA_ERR_NULL_POINTER
    assert _run(model, x, out, None, size) == EA_ERR_NULL_POINTER
    # Every refusal happened before any write: arena and output are as they were.
    assert bytes(arena) == b"\xa5" * ctypes.sizeof(arena)
    assert list(out) == [0x5A] * 7
    assert _run(model, x, out, base, size) == EA_OK
    probabilities = (np.array(list(out)) + 128) / 256
    assert abs(probabilities.sum() - 1) < 0.05


@pytest.mark.parametrize("width, height, stride, box, status", [
    (324, 244, 323, (10, 10, 50, 50), EA_PP_ERR_SIZE),          # stride shorter than a row
    (0, 244, 324, (10, 10, 50, 50), EA_PP_ERR_SIZE),            # empty frame
    (324, 244, 324, (400, 10, 50, 50), EA_PP_ERR_BOX_OUTSIDE),  # box right of the frame
    (324, 244, 324, (10, 10, 0, 50), EA_PP_ERR_SIZE),           # empty box
    (324, 244, 324, (10, 10, 1 << 30, 50), EA_PP_ERR_RANGE),    # beyond EA_PP_MAX_FRAME_DIM
    (70000, 244, 70000, (10, 10, 50, 50), EA_PP_ERR_RANGE),
])
def test_camera_frame_and_box(model, width, height, stride, box, status):
    frame = (ctypes.c_uint8 * 16)()  # a token buffer: the call must refuse before reading the frame
    x = (ctypes.c_int8 * 4096)(*([7] * 4096))
    assert model.ea_model_preprocess(frame, width, height, stride, Box(*box), x, x) == status
    assert list(x)[:8] == [7] * 8 and len(set(x)) == 1
    assert model.ea_model_preprocess(None, 324, 244, 324, Box(0, 0, 10, 10), x, x) == EA_PP_ERR_NULL


class Shape(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("n", "h", "w", "c")]


class Requant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(ctypes.c_int32)), ("shift", ctypes.POINTER(ctypes.c_int32)),
                ("count", ctypes.c_int32)]


class ConvParams(ctypes.Structure):
    _fields_ = [("input", Shape), ("filter", Shape), ("output", Shape), ("stride_h", ctypes.c_int32),
                ("stride_w", ctypes.c_int32), ("pad", ctypes.c_int32 * 4), ("input_zero_point", ctypes.c_int32),
                ("output_zero_point", ctypes.c_int32), ("requant", Requant), ("act_min", ctypes.c_int32),
                ("act_max", ctypes.c_int32)]


@pytest.mark.parametrize("kernel", ["ea_ref_conv2d_s8", "ea_opt_conv2d_s8", "ea_ref_depthwise_conv2d_s8",
                                    "ea_opt_depthwise_conv2d_s8"])
def test_padding_beyond_int32_is_refused(model, kernel):
    """Pads of INT32_MAX with a consistent output size (4 rows at stride 2^30)
    passed validation and overflowed `oy * stride` in int32 (UBSan)."""
    mult, shift = ctypes.c_int32(1 << 30), ctypes.c_int32(0)
    big = 2**31 - 1
    params = ConvParams(Shape(1, 1, 1, 1), Shape(1, 1, 1, 1), Shape(1, 4, 1, 1), 1 << 30, 1, (big, big, 0, 0), 0, 0,
                        Requant(ctypes.pointer(mult), ctypes.pointer(shift), 1), -128, 127)
    x, w, out = (ctypes.c_int8 * 1)(5), (ctypes.c_int8 * 1)(3), (ctypes.c_int8 * 4)(*([9] * 4))
    scratch = (ctypes.c_int32 * 256)()
    fn = getattr(model, kernel)
    fn.restype = ctypes.c_int
    assert fn(ctypes.byref(params), x, w, None, out, scratch, ctypes.c_size_t(1024)) == 2  # EA_ERR_BAD_DIMS
    assert list(out) == [9] * 4


def test_depthwise_too_wide_for_the_optimized_ring_matches_the_reference(model):
    """A padded width of 2^28 (valid) makes the optimized kernel's int16 ring
    exceed int32: it used an uninitialised layout and a NULL scratch (found
    by the kernels fuzzer); it now runs the reference loops."""
    mult, shift = ctypes.c_int32(1 << 30), ctypes.c_int32(0)
    params = ConvParams(Shape(1, 1, 1, 1), Shape(1, 1, 1, 1), Shape(1, 1, 2, 1), 1, 1 << 28, (0, 0, 1 << 28, 0), 0,
                        0, Requant(ctypes.pointer(mult), ctypes.pointer(shift), 1), -128, 127)
    x, w = (ctypes.c_int8 * 1)(100), (ctypes.c_int8 * 1)(1)
    outputs = {}
    for kernel in ("ea_ref_depthwise_conv2d_s8", "ea_opt_depthwise_conv2d_s8"):
        out = (ctypes.c_int8 * 2)(9, 9)
        fn = getattr(model, kernel)
        fn.restype = ctypes.c_int
        assert fn(ctypes.byref(params), x, w, None, out, None, ctypes.c_size_t(0)) == EA_OK
        outputs[kernel] = list(out)
    assert outputs["ea_ref_depthwise_conv2d_s8"] == outputs["ea_opt_depthwise_conv2d_s8"] == [0, 50]
