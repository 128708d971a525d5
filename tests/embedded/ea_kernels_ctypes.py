"""ctypes bindings of the C kernel library (embedded/kernels): the structs of
ea_kernels.h and a caller that mirrors the numpy reference's kernel signatures."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from edge_affect.runtime.int8.kernels import conv_output_size
from edge_affect.runtime.int8.quant_math import AddParams, SoftmaxParams

KERNELS_DIR = Path(__file__).resolve().parents[2] / "embedded" / "kernels"

EA_OK = 0
STATUS = {0: "ok", 1: "null pointer", 2: "bad dims", 3: "bad param", 4: "unsupported", 5: "scratch too small",
          6: "misaligned", 7: "arena too small"}

i32 = ctypes.c_int32


class Shape(ctypes.Structure):
    _fields_ = [("n", i32), ("h", i32), ("w", i32), ("c", i32)]


class Padding(ctypes.Structure):
    _fields_ = [("top", i32), ("bottom", i32), ("left", i32), ("right", i32)]


class Requant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(i32)), ("shift", ctypes.POINTER(i32)), ("count", i32)]


class ConvParams(ctypes.Structure):
    _fields_ = [("input", Shape), ("filter", Shape), ("output", Shape), ("stride_h", i32), ("stride_w", i32),
                ("pad", Padding), ("input_zero_point", i32), ("output_zero_point", i32), ("requant", Requant),
                ("act_min", i32), ("act_max", i32)]


class FcParams(ctypes.Structure):
    _fields_ = [("batches", i32), ("in_features", i32), ("out_features", i32), ("input_zero_point", i32),
                ("output_zero_point", i32), ("requant", Requant), ("act_min", i32), ("act_max", i32)]


class PoolParams(ctypes.Structure):
    _fields_ = [("input", Shape), ("output", Shape), ("filter_h", i32), ("filter_w", i32), ("stride_h", i32),
                ("stride_w", i32), ("pad", Padding), ("act_min", i32), ("act_max", i32)]


class MeanParams(ctypes.Structure):
    _fields_ = [("input", Shape), ("input_zero_point", i32), ("output_zero_point", i32), ("multiplier", i32),
                ("shift", i32), ("act_min", i32), ("act_max", i32)]


class AddParamsC(ctypes.Structure):
    _fields_ = [(name, i32) for name in (
        "size", "input1_zero_point", "input2_zero_point", "output_zero_point", "left_shift", "input1_multiplier",
        "input1_shift", "input2_multiplier", "input2_shift", "output_multiplier", "output_shift", "act_min",
        "act_max")]


class SoftmaxParamsC(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("rows", "depth", "input_multiplier", "input_left_shift", "diff_min")]


class QuantizeParams(ctypes.Structure):
    _fields_ = [("size", i32), ("scale", ctypes.c_float), ("zero_point", i32)]


class RequantizeParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("size", "input_zero_point", "output_zero_point", "multiplier", "shift")]


KERNEL_SET_FIELDS = (
    "conv2d_s8", "conv2d_s8_scratch_size", "depthwise_conv2d_s8", "depthwise_conv2d_s8_scratch_size",
    "pointwise_conv2d_s8", "pointwise_conv2d_s8_scratch_size", "fully_connected_s8",
    "fully_connected_s8_scratch_size", "max_pool2d_s8", "avg_pool2d_s8", "global_avg_pool_s8", "add_s8",
    "softmax_s8", "quantize_s8", "requantize_s8",
)


class KernelSet(ctypes.Structure):
    """ea_kernel_set_t: the name, then one function pointer per kernel."""

    _fields_ = [("name", ctypes.c_char_p)] + [(field, ctypes.c_void_p) for field in KERNEL_SET_FIELDS]


def _ptr(array: np.ndarray | None):
    return None if array is None else array.ctypes.data_as(ctypes.c_void_p)


class CError(Exception):
    """A kernel returned a status other than EA_OK."""

    def __init__(self, status: int):
        super().__init__(f"C kernel returned {status} ({STATUS.get(status, '?')})")
        self.status = status


class Kernels:
    """Calls the kernels of one dispatch table (``ea_kernels_reference`` or
    ``ea_kernels_optimized``) with numpy arrays, mirroring kernels.py's signatures.

    Each call returns the output array and raises CError on a non-OK status.
    The int32 arrays behind pointers are kept alive on the instance until the
    call returns (ctypes keeps no references).
    """

    def __init__(self, lib: ctypes.CDLL, table: str):
        self.lib = lib
        self.table = KernelSet.in_dll(lib, table)
        self.name = self.table.name.decode()
        self._keep: list[object] = []

    def address(self, name: str) -> int:
        return getattr(self.table, name)

    def _fn(self, name: str):
        return ctypes.CFUNCTYPE(ctypes.c_int)(self.address(name))

    def scratch_size(self, name: str, params) -> int:
        fn = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p)(self.address(f"{name}_scratch_size"))
        return fn(ctypes.byref(params))

    def _requant(self, multiplier, shift) -> Requant:
        m = np.ascontiguousarray(np.atleast_1d(multiplier), dtype=np.int32)
        s = np.ascontiguousarray(np.atleast_1d(shift), dtype=np.int32)
        self._keep += [m, s]
        return Requant(m.ctypes.data_as(ctypes.POINTER(i32)), s.ctypes.data_as(ctypes.POINTER(i32)), m.size)

    def _run(self, name: str, params, *arrays, scratch: bool = False, scratch_bytes: int | None = None):
        args = [ctypes.byref(params), *(_ptr(a) for a in arrays)]
        if scratch:
            size = self.scratch_size(name, params) if scratch_bytes is None else scratch_bytes
            buf = np.zeros(size, dtype=np.uint8)  # exact size: a sanitizer build sees any overrun
            assert buf.ctypes.data % 4 == 0  # numpy's allocator aligns to at least 16 bytes
            args += [_ptr(buf) if size else None, ctypes.c_size_t(size)]
        status = self._fn(name)(*args)
        self._keep.clear()
        if status != EA_OK:
            raise CError(status)

    def conv_like(self, name: str, x, w, bias, *, input_zp, output_zp, multiplier, shift, stride=(1, 1),
                  padding=(0, 0, 0, 0), act_min=-128, act_max=127, depthwise=False, scratch_bytes=None):
        x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
        n, h, wd, c_in = x.shape
        _, kh, kw, _ = w.shape
        c_out = w.shape[3] if depthwise else w.shape[0]
        oh = conv_output_size(h, kh, stride[0], padding[0], padding[1])
        ow = conv_output_size(wd, kw, stride[1], padding[2], padding[3])
        out = np.zeros((n, oh, ow, c_out), dtype=np.int8)
        params = ConvParams(Shape(n, h, wd, c_in), Shape(*w.shape), Shape(n, oh, ow, c_out), stride[0], stride[1],
                            Padding(*padding), input_zp, output_zp, self._requant(multiplier, shift),
                            act_min, act_max)
        bias = None if bias is None else np.ascontiguousarray(bias, dtype=np.int32)
        self._run(name, params, x, w, bias, out, scratch=True, scratch_bytes=scratch_bytes)
        return out

    def conv2d_s8(self, x, w, bias, **kw):
        return self.conv_like("conv2d_s8", x, w, bias, **kw)

    def pointwise_conv2d_s8(self, x, w, bias, **kw):
        return self.conv_like("pointwise_conv2d_s8", x, w, bias, **kw)

    def depthwise_conv2d_s8(self, x, w, bias, **kw):
        return self.conv_like("depthwise_conv2d_s8", x, w, bias, depthwise=True, **kw)

    def fully_connected_s8(self, x, w, bias, *, input_zp, output_zp, multiplier, shift, act_min=-128,
                           act_max=127, scratch_bytes=None):
        x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
        out = np.zeros((x.shape[0], w.shape[0]), dtype=np.int8)
        params = FcParams(x.shape[0], x.shape[1], w.shape[0], input_zp, output_zp,
                          self._requant(multiplier, shift), act_min, act_max)
        bias = None if bias is None else np.ascontiguousarray(bias, dtype=np.int32)
        self._run("fully_connected_s8", params, x, w, bias, out, scratch=True, scratch_bytes=scratch_bytes)
        return out

    def _pool(self, name, x, filter_size, stride, padding, act_min, act_max):
        x = np.ascontiguousarray(x)
        n, h, w, c = x.shape
        oh = conv_output_size(h, filter_size[0], stride[0], padding[0], padding[1])
        ow = conv_output_size(w, filter_size[1], stride[1], padding[2], padding[3])
        out = np.zeros((n, oh, ow, c), dtype=np.int8)
        params = PoolParams(Shape(n, h, w, c), Shape(n, oh, ow, c), *filter_size, *stride, Padding(*padding),
                            act_min, act_max)
        self._run(name, params, x, out)
        return out

    def max_pool2d_s8(self, x, *, filter_size, stride, padding=(0, 0, 0, 0), act_min=-128, act_max=127):
        return self._pool("max_pool2d_s8", x, filter_size, stride, padding, act_min, act_max)

    def avg_pool2d_s8(self, x, *, filter_size, stride, padding=(0, 0, 0, 0), act_min=-128, act_max=127):
        return self._pool("avg_pool2d_s8", x, filter_size, stride, padding, act_min, act_max)

    def global_avg_pool_s8(self, x, *, input_zp, output_zp, multiplier, shift, act_min=-128, act_max=127):
        x = np.ascontiguousarray(x)
        out = np.zeros((x.shape[0], 1, 1, x.shape[3]), dtype=np.int8)
        params = MeanParams(Shape(*x.shape), input_zp, output_zp, multiplier, shift, act_min, act_max)
        self._run("global_avg_pool_s8", params, x, out)
        return out

    def add_s8(self, a, b, p: AddParams):
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        out = np.zeros_like(a)
        params = AddParamsC(a.size, p.input1_zero_point, p.input2_zero_point, p.output_zero_point, p.left_shift,
                            p.input1_multiplier, p.input1_shift, p.input2_multiplier, p.input2_shift,
                            p.output_multiplier, p.output_shift, p.act_min, p.act_max)
        self._run("add_s8", params, a, b, out)
        return out

    def softmax_s8(self, x, p: SoftmaxParams):
        x = np.ascontiguousarray(x)
        out = np.zeros_like(x)
        params = SoftmaxParamsC(x.size // x.shape[-1], x.shape[-1], p.input_multiplier, p.input_left_shift,
                                p.diff_min)
        self._run("softmax_s8", params, x, out)
        return out

    def quantize_s8(self, x, *, scale, zero_point):
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.shape, dtype=np.int8)
        self._run("quantize_s8", QuantizeParams(x.size, scale, zero_point), x, out)
        return out

    def requantize_s8(self, x, *, input_zp, output_zp, multiplier, shift):
        x = np.ascontiguousarray(x)
        out = np.zeros_like(x)
        self._run("requantize_s8", RequantizeParams(x.size, input_zp, output_zp, multiplier, shift), x, out)
        return out
