"""pt2e int8 graph -> the Apollo3 runtime's integer program.

The converted pt2e graph computes float ops between quantize/dequantize
pairs. Lowering reads each float op together with the quantize nodes around
it and emits one integer kernel call of the C runtime (embedded/kernels):
weights in kernel layout (OHWI, depthwise 1HWC), int32 biases, per-channel
multiplier/shift, activation clamps folded from a following ReLU/ReLU6/clamp,
explicit asymmetric padding, activations NHWC. Every op the runtime lacks is
rejected here, naming the op and the layer, so a converted model can never
fail on the device for want of a kernel.

The program describes one image (batch 1); the numpy interpreter in
``reference.py`` runs it on batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import torch
from torch import fx

from edge_affect.errors import ConversionError, InputError
from edge_affect.runtime.int8 import quant_math as qm
from edge_affect.runtime.int8.kernels import MAX_DOT_LENGTH, conv_output_size
from edge_affect.spec import PipelineSpec

INT32_MIN, INT32_MAX = qm.INT32_MIN, qm.INT32_MAX
aten = torch.ops.aten

# ---------------------------------------------------------------------------- the program


@dataclass(frozen=True)
class Tensor:
    """An int8 activation: NHWC shape of one image, per-tensor quantization."""

    name: str
    shape: tuple[int, int, int, int]
    scale: float
    zero_point: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True, eq=False)
class Conv:
    """conv2d (OHWI), depthwise_conv2d (1HWC, multiplier 1) or pointwise_conv2d (1x1, no padding)."""

    kind: str
    layer: str
    input: str
    output: str
    weights: np.ndarray
    bias: np.ndarray | None
    multiplier: np.ndarray
    shift: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    input_zero_point: int
    output_zero_point: int
    act_min: int
    act_max: int

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class FullyConnected:
    layer: str
    input: str
    output: str
    weights: np.ndarray  # [out, in], columns in the NHWC order of the input
    bias: np.ndarray | None
    multiplier: np.ndarray
    shift: np.ndarray
    input_zero_point: int
    output_zero_point: int
    act_min: int
    act_max: int
    kind: str = "fully_connected"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class Pool:
    """max_pool2d / avg_pool2d: input and output share their quantization."""

    kind: str
    layer: str
    input: str
    output: str
    filter: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    act_min: int
    act_max: int

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class GlobalAvgPool:
    layer: str
    input: str
    output: str
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int
    kind: str = "global_avg_pool"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class Add:
    layer: str
    input1: str
    input2: str
    output: str
    params: qm.AddParams
    kind: str = "add"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input1, self.input2)


@dataclass(frozen=True, eq=False)
class Softmax:
    layer: str
    input: str
    output: str
    params: qm.SoftmaxParams
    kind: str = "softmax"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


Op = Union[Conv, FullyConnected, Pool, GlobalAvgPool, Add, Softmax]


@dataclass(frozen=True)
class Program:
    tensors: dict[str, Tensor]
    ops: tuple[Op, ...]
    input: str
    output: str
    # "softmax" when the spec's softmax runs on the device (output scale 1/256, zp -128)
    output_post: str = "none"

    @property
    def input_tensor(self) -> Tensor:
        return self.tensors[self.input]

    @property
    def output_tensor(self) -> Tensor:
        return self.tensors[self.output]

    def macs(self) -> int:
        return sum(op_macs(self, op) for op in self.ops)


def op_macs(program: Program, op: Op) -> int:
    """Multiply-accumulates of one op (conv / fully connected; 0 for the rest)."""
    if isinstance(op, Conv):
        out = program.tensors[op.output].shape
        taps = op.weights.shape[1] * op.weights.shape[2]
        per_output = taps if op.kind == "depthwise_conv2d" else taps * op.weights.shape[3]
        return out[1] * out[2] * out[3] * per_output
    if isinstance(op, FullyConnected):
        return int(op.weights.size)
    return 0


# ---------------------------------------------------------------------------- lowering

SUPPORTED_OPS = ("conv2d", "linear", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d (1x1)", "mean over H,W",
                 "add", "relu / relu6 / hardtanh / clamp after conv, linear or add", "pad before conv / max_pool2d",
                 "flatten / view / reshape")

_QUANTIZE = "quantize_per_tensor"
_DEQUANTIZE = "dequantize_per_tensor"
_ACTIVATIONS = (aten.relu.default, aten.relu6.default, aten.hardtanh.default, aten.clamp.default)
_RESHAPES = (aten.flatten.using_ints, aten.view.default, aten.reshape.default, aten._unsafe_view.default,
             aten.squeeze.dim, aten.squeeze.dims, aten.unsqueeze.default)
_PADS = (aten.pad.default, aten.constant_pad_nd.default)
_SKIPPED = ("dequantize_per_tensor", "dequantize_per_channel", "quantize_per_channel")


def lower(module: fx.GraphModule, spec: PipelineSpec) -> Program:
    """The integer program of a pt2e-converted graph (``quantize.quantize_pt2e(...).module``)."""
    return _Lowering(module, spec).run()


@dataclass
class _Padded:
    """A pad node's result, folded into the conv / max-pool that reads it."""

    tensor: str
    pads: tuple[int, int, int, int]
    fill: int  # the pad value, quantized
    node: fx.Node


@dataclass
class _Flattened:
    """(N, H*W*C) view of an NHWC tensor whose NCHW flatten order differs from memory order."""

    tensor: str
    hwc: tuple[int, int, int]
    node: fx.Node


@dataclass
class _Lowering:
    module: fx.GraphModule
    spec: PipelineSpec
    tensors: dict[str, Tensor] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    # quantize node -> what its dequantize users read
    values: dict[fx.Node, Any] = field(default_factory=dict)
    consumed: set[fx.Node] = field(default_factory=set)

    def run(self) -> Program:
        input_name = None
        output_node = None
        for node in self.module.graph.nodes:
            if node.op == "placeholder":
                if input_name is not None:
                    raise ConversionError("apollo3: the model has more than one input tensor; the runtime runs "
                                          "single-input models")
                input_name = self._lower_input(node)
            elif node.op in ("get_attr",):
                continue
            elif node.op == "call_module":
                if node.target == "_guards_fn":  # torch.export's input guards: nothing to compute
                    continue
                raise ConversionError(f"apollo3: module call {node.target!r} (graph node {node.name}) left in the "
                                      f"exported graph is not supported")
            elif node.op == "output":
                output_node = node
            elif node.op == "call_function":
                self._lower_call(node)
        if input_name is None or output_node is None:
            raise ConversionError("apollo3: the graph has no input or no output")
        if not self.ops:
            raise ConversionError("apollo3: the model computes nothing the runtime can run (no ops)")
        output_name = self._graph_output(output_node)
        post = "none"
        if self.spec.output.post == "softmax":
            output_name, post = self._append_softmax(output_name), "softmax"
        return Program(tensors=dict(self.tensors), ops=tuple(self.ops), input=input_name, output=output_name,
                       output_post=post)

    # ------------------------------------------------------------------ nodes

    def _lower_input(self, node: fx.Node) -> str:
        quantize = [u for u in node.users if _is_qd(u, _QUANTIZE)]
        if len(quantize) != 1:
            raise ConversionError("apollo3: the model input is not quantized (its first op is not one the int8 "
                                  "quantizer handles)")
        shape = _nchw_shape(node)
        if len(shape) != 4:
            raise ConversionError(f"apollo3: expected an image input (N, C, H, W), got shape {shape}")
        q = quantize[0]
        tensor = self._new_tensor("input", (1, shape[2], shape[3], shape[1]), q)
        self.values[q] = tensor.name
        self.consumed.add(q)
        return tensor.name

    def _lower_call(self, node: fx.Node) -> None:
        if _is_qd(node, _QUANTIZE):
            if node not in self.consumed:
                raise ConversionError(f"apollo3: quantize node {node.name} follows an op the runtime cannot "
                                      f"run ({_describe(node.args[0])})")
            return
        if _qd_name(node) in _SKIPPED or node in self.consumed:
            return
        target = node.target
        try:
            if target in (aten.conv2d.default, aten.conv2d.padding):
                self._lower_conv(node)
            elif target is aten.linear.default:
                self._lower_linear(node)
            elif target is aten.max_pool2d.default:
                self._lower_pool(node, "max_pool2d")
            elif target is aten.avg_pool2d.default:
                self._lower_pool(node, "avg_pool2d")
            elif target in (aten.mean.dim, aten.adaptive_avg_pool2d.default):
                self._lower_global_mean(node)
            elif target in (aten.add.Tensor,):
                self._lower_add(node)
            elif target in _RESHAPES:
                self._lower_reshape(node)
            elif target in _PADS:
                self._lower_pad(node)
            else:
                raise self._unsupported(node)
        except InputError as exc:  # parameter calculations out of the kernels' range
            raise ConversionError(f"apollo3: {_describe(node)}: {exc}") from None

    def _unsupported(self, node: fx.Node, why: str = "") -> ConversionError:
        reason = f" ({why})" if why else ""
        return ConversionError(f"apollo3: op {_op_label(node)} at {_where(node)} is not supported by the int8 "
                               f"runtime{reason}; supported: {', '.join(SUPPORTED_OPS)}")

    # ------------------------------------------------------------------ operands

    def _input(self, node: fx.Node, arg: Any) -> Any:
        """The tensor (or folded pad / flatten view) a float op reads through a dequantize."""
        if not _is_qd(arg, _DEQUANTIZE):
            raise self._unsupported(node, f"its input {_describe(arg)} is not an int8 tensor")
        value = self.values.get(arg.args[0])
        if value is None:
            raise self._unsupported(node, f"its input comes from {_describe(arg.args[0])}")
        return value

    def _tensor_input(self, node: fx.Node, arg: Any) -> Tensor:
        value = self._input(node, arg)
        if isinstance(value, _Padded):
            raise self._unsupported(value.node, f"padding can only be folded into a conv or max pool, "
                                                f"not into {_op_label(node)}")
        if isinstance(value, _Flattened):
            raise self._unsupported(value.node, f"flattening a {value.hwc[0]}x{value.hwc[1]}x{value.hwc[2]} "
                                                f"feature map in NCHW order before {_op_label(node)} needs a "
                                                f"transpose; only a following linear layer can absorb it")
        return self.tensors[value]

    def _output(self, node: fx.Node) -> tuple[fx.Node, fx.Node | None]:
        """The quantize node after `node`, and the activation between them (or None)."""
        users = list(node.users)
        if len(users) == 1 and users[0].target in _ACTIVATIONS:
            act = users[0]
            act_users = list(act.users)
            if len(act_users) == 1 and _is_qd(act_users[0], _QUANTIZE):
                self.consumed.add(act)
                return act_users[0], act
        if len(users) == 1 and _is_qd(users[0], _QUANTIZE):
            return users[0], None
        raise self._unsupported(node, "its result is not quantized to int8 (the quantizer left the next op in "
                                      "float)")

    def _new_tensor(self, name: str, shape: tuple[int, ...], quantize: fx.Node) -> Tensor:
        scale, zero_point = float(quantize.args[1]), int(quantize.args[2])
        if int(quantize.args[3]) != -128 or int(quantize.args[4]) != 127 or quantize.args[5] != torch.int8:
            raise ConversionError(f"apollo3: {quantize.name} quantizes to {quantize.args[5]} "
                                  f"[{quantize.args[3]}, {quantize.args[4]}]; the runtime needs int8 [-128, 127]")
        tensor = Tensor(name, tuple(int(s) for s in shape), scale, zero_point)  # type: ignore[arg-type]
        self.tensors[name] = tensor
        return tensor

    def _define_output(self, node: fx.Node, shape_nhwc: tuple[int, ...]) -> tuple[Tensor, tuple[int, int]]:
        quantize, act = self._output(node)
        out = self._new_tensor(node.name, shape_nhwc, quantize)
        self.values[quantize] = out.name
        self.consumed.add(quantize)
        return out, _activation_bounds(act, out, self)

    def _weights(self, node: fx.Node, arg: Any) -> tuple[np.ndarray, np.ndarray]:
        """int8 weights (torch layout) and per-output-channel scales."""
        if _is_qd(arg, "dequantize_per_channel") and arg.args[0].op == "get_attr":
            q = self._attr(arg.args[0])
            scales = self._attr(arg.args[1]).astype(np.float64).reshape(-1)
            zero_points = self._attr(arg.args[2]).reshape(-1)
            if int(arg.args[3]) != 0:
                raise self._unsupported(node, f"weights quantized along axis {arg.args[3]}, expected 0")
        elif _is_qd(arg, _DEQUANTIZE) and isinstance(arg.args[0], fx.Node) and arg.args[0].op == "get_attr":
            q = self._attr(arg.args[0])
            scales = np.full(q.shape[0], float(arg.args[1]))
            zero_points = np.array([int(arg.args[2])])
        else:
            raise self._unsupported(node, "its weights are not int8 constants")
        if q.dtype != np.int8 or np.any(zero_points != 0) or q.min(initial=0) < -127:
            raise self._unsupported(node, "weights must be int8 symmetric (zero point 0, range [-127, 127])")
        if scales.size != q.shape[0] or not np.all(scales > 0):
            raise self._unsupported(node, "weight scales must be positive, one per output channel")
        return q, scales

    def _bias(self, node: fx.Node, arg: Any, input_scale: float, weight_scales: np.ndarray) -> np.ndarray | None:
        if arg is None:
            return None
        if not (isinstance(arg, fx.Node) and arg.op == "get_attr"):
            raise self._unsupported(node, "its bias is not a float constant")
        real = self._attr(arg).astype(np.float64).reshape(-1)
        q = qm.round_half_away_from_zero(real / (float(input_scale) * weight_scales))
        if np.any(q < INT32_MIN) or np.any(q > INT32_MAX):
            raise self._unsupported(node, "its bias does not fit in int32 at scale input_scale * weight_scale")
        return q.astype(np.int32)

    def _attr(self, node: fx.Node) -> np.ndarray:
        value: Any = self.module
        for part in str(node.target).split("."):
            value = getattr(value, part)
        return value.detach().cpu().numpy()

    # ------------------------------------------------------------------ ops

    def _lower_conv(self, node: fx.Node) -> None:
        args = list(node.args) + [None] * (7 - len(node.args))
        x_arg, w_arg, b_arg, stride, padding, dilation, groups = args[:7]
        stride = _pair(stride, 1)
        dilation = _pair(dilation, 1)
        groups = 1 if groups is None else int(groups)
        if dilation != (1, 1):
            raise self._unsupported(node, f"dilation {dilation}")
        value = self._input(node, x_arg)
        pads, fill = (0, 0, 0, 0), None
        if isinstance(value, _Padded):
            value, pads, fill = value.tensor, value.pads, value.fill
        elif isinstance(value, _Flattened):
            raise self._unsupported(node, "input is a flattened view")
        x = self.tensors[value]
        q, w_scales = self._weights(node, w_arg)
        c_out, c_in_per_group, kh, kw = q.shape
        if isinstance(padding, str):
            padding = _string_padding(padding, (kh, kw))
        else:
            padding = _pair(padding, 0)
            padding = (padding[0], padding[0], padding[1], padding[1])
        if fill is not None and fill != x.zero_point:
            raise self._unsupported(node, f"the padding before it fills with {fill}, not the input zero point "
                                          f"{x.zero_point} (a conv pads with real 0.0)")
        pads = tuple(a + b for a, b in zip(pads, padding))
        c_in = x.shape[3]
        if groups == 1:
            kind = "pointwise_conv2d" if (kh, kw) == (1, 1) and pads == (0, 0, 0, 0) else "conv2d"
            weights = np.ascontiguousarray(q.transpose(0, 2, 3, 1))  # OIHW -> OHWI
        elif groups == c_in and c_in_per_group == 1 and c_out == c_in:
            kind = "depthwise_conv2d"
            weights = np.ascontiguousarray(q.transpose(1, 2, 3, 0))  # [C,1,KH,KW] -> 1HWC
        else:
            raise self._unsupported(node, f"grouped convolution with groups={groups}, {c_in} input and {c_out} "
                                          f"output channels (only groups 1 or depthwise with multiplier 1)")
        if kh * kw * c_in_per_group > MAX_DOT_LENGTH:
            raise self._unsupported(node, f"dot-product length {kh * kw * c_in_per_group} exceeds {MAX_DOT_LENGTH}")
        oh = conv_output_size(x.shape[1], kh, stride[0], pads[0], pads[1])
        ow = conv_output_size(x.shape[2], kw, stride[1], pads[2], pads[3])
        self._check_shape(node, (oh, ow, c_out))
        out, (act_min, act_max) = self._define_output(node, (1, oh, ow, c_out))
        multiplier, shift = qm.conv_multipliers(x.scale, w_scales, out.scale)
        self.ops.append(Conv(kind=kind, layer=_layer(node), input=x.name, output=out.name, weights=weights,
                             bias=self._bias(node, b_arg, x.scale, w_scales), multiplier=multiplier, shift=shift,
                             stride=stride, padding=pads, input_zero_point=x.zero_point,  # type: ignore[arg-type]
                             output_zero_point=out.zero_point, act_min=act_min, act_max=act_max))

    def _lower_linear(self, node: fx.Node) -> None:
        x_arg, w_arg = node.args[0], node.args[1]
        b_arg = node.args[2] if len(node.args) > 2 else None
        value = self._input(node, x_arg)
        q, w_scales = self._weights(node, w_arg)
        if isinstance(value, _Flattened):
            h, w, c = value.hwc
            # Columns are in NCHW flatten order; the tensor sits in memory as NHWC.
            q = q.reshape(q.shape[0], c, h, w).transpose(0, 2, 3, 1).reshape(q.shape[0], -1)
            value = value.tensor
        elif isinstance(value, _Padded):
            raise self._unsupported(node, "input is padded")
        x = self.tensors[value]
        if len(_nchw_shape(node)) != 2 or x.size != q.shape[1]:
            raise self._unsupported(node, f"expected a (N, {q.shape[1]}) input, got {x.shape} per image")
        if q.shape[1] > MAX_DOT_LENGTH:
            raise self._unsupported(node, f"{q.shape[1]} input features exceed {MAX_DOT_LENGTH}")
        out, (act_min, act_max) = self._define_output(node, (1, 1, 1, q.shape[0]))
        multiplier, shift = qm.conv_multipliers(x.scale, w_scales, out.scale)
        self.ops.append(FullyConnected(layer=_layer(node), input=x.name, output=out.name,
                                       weights=np.ascontiguousarray(q), bias=self._bias(node, b_arg, x.scale, w_scales),
                                       multiplier=multiplier, shift=shift, input_zero_point=x.zero_point,
                                       output_zero_point=out.zero_point, act_min=act_min, act_max=act_max))

    def _lower_pool(self, node: fx.Node, kind: str) -> None:
        defaults = {"max_pool2d": [None, None, [], [0], [1], False],
                    "avg_pool2d": [None, None, [], [0], False, True, None]}[kind]
        args = list(node.args) + defaults[len(node.args):]
        kernel = _pair(args[1], None)
        stride = _pair(args[2], None) if args[2] else kernel
        padding = _pair(args[3], 0)
        value = self._input(node, args[0])
        extra = (0, 0, 0, 0)
        if isinstance(value, _Padded):
            if kind != "max_pool2d" or value.fill != -128:
                raise self._unsupported(value.node, f"padding with quantized value {value.fill} before "
                                                    f"{kind} cannot be folded (max pool needs the int8 minimum)")
            value, extra = value.tensor, value.pads
        elif isinstance(value, _Flattened):
            raise self._unsupported(node, "input is a flattened view")
        x = self.tensors[value]
        if kind == "max_pool2d":
            if _pair(args[4], 1) != (1, 1):
                raise self._unsupported(node, f"dilation {args[4]}")
            ceil_mode = bool(args[5])
        else:
            ceil_mode, count_include_pad, divisor = bool(args[4]), bool(args[5]), args[6]
            if divisor is not None:
                raise self._unsupported(node, "divisor_override")
            if count_include_pad and (any(padding) or ceil_mode):
                raise self._unsupported(node, "count_include_pad=True with padding (the runtime averages over "
                                              "the in-image part of each window)")
        h, w = x.shape[1] + extra[0] + extra[1], x.shape[2] + extra[2] + extra[3]
        top, bottom = _pool_pads(h, kernel[0], stride[0], padding[0], ceil_mode)
        left, right = _pool_pads(w, kernel[1], stride[1], padding[1], ceil_mode)
        pads = (top + extra[0], bottom + extra[1], left + extra[2], right + extra[3])
        if pads[0] >= kernel[0] or pads[1] >= kernel[0] or pads[2] >= kernel[1] or pads[3] >= kernel[1]:
            raise self._unsupported(node, f"padding {pads} not smaller than the window {kernel}")
        oh = conv_output_size(x.shape[1], kernel[0], stride[0], pads[0], pads[1])
        ow = conv_output_size(x.shape[2], kernel[1], stride[1], pads[2], pads[3])
        self._check_shape(node, (oh, ow, x.shape[3]))
        out, (act_min, act_max) = self._define_output(node, (1, oh, ow, x.shape[3]))
        self._require_same_quantization(node, x, out)
        self.ops.append(Pool(kind=kind, layer=_layer(node), input=x.name, output=out.name, filter=kernel,
                             stride=stride, padding=pads, act_min=act_min, act_max=act_max))

    def _lower_global_mean(self, node: fx.Node) -> None:
        x = self._tensor_input(node, node.args[0])
        if node.target is aten.mean.dim:
            dims = sorted(int(d) % 4 for d in node.args[1])
            if dims != [2, 3] or node.kwargs.get("dtype") is not None:
                raise self._unsupported(node, f"mean over dims {list(node.args[1])} (only over H and W)")
        elif tuple(_pair(node.args[1], None)) != (1, 1):
            raise self._unsupported(node, f"adaptive average pool to {node.args[1]} (only to 1x1)")
        count = x.shape[1] * x.shape[2]
        if count > MAX_DOT_LENGTH:
            raise self._unsupported(node, f"mean over {count} elements exceeds {MAX_DOT_LENGTH}")
        out, (act_min, act_max) = self._define_output(node, (1, 1, 1, x.shape[3]))
        multiplier, shift = qm.mean_multiplier(x.scale, out.scale, count)
        self.ops.append(GlobalAvgPool(layer=_layer(node), input=x.name, output=out.name,
                                      input_zero_point=x.zero_point, output_zero_point=out.zero_point,
                                      multiplier=multiplier, shift=shift, act_min=act_min, act_max=act_max))

    def _lower_add(self, node: fx.Node) -> None:
        if node.kwargs.get("alpha", 1) != 1:
            raise self._unsupported(node, f"alpha={node.kwargs['alpha']}")
        if not all(isinstance(a, fx.Node) for a in node.args[:2]):
            raise self._unsupported(node, "adding a constant")
        a = self._tensor_input(node, node.args[0])
        b = self._tensor_input(node, node.args[1])
        if a.shape != b.shape:
            raise self._unsupported(node, f"broadcasting {a.shape} + {b.shape}")
        out, (act_min, act_max) = self._define_output(node, a.shape)
        params = qm.add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                               act_min, act_max)
        self.ops.append(Add(layer=_layer(node), input1=a.name, input2=b.name, output=out.name, params=params))

    def _lower_reshape(self, node: fx.Node) -> None:
        """Views that keep the NHWC memory order are free; a flatten that does
        not is left for a following linear layer to absorb."""
        value = self._input(node, node.args[0])
        if not isinstance(value, str):
            raise self._unsupported(node, "reshaping a padded or already flattened view")
        x = self.tensors[value]
        quantize, act = self._output(node)
        if act is not None:
            raise self._unsupported(act, "an activation after a reshape")
        self._require_same_quantization(node, x, Tensor("", x.shape, float(quantize.args[1]),
                                                        int(quantize.args[2])))
        out_shape = _nchw_shape(node)
        in_nchw = (x.shape[0], x.shape[3], x.shape[1], x.shape[2])
        if tuple(out_shape[1:]) == in_nchw[1:]:
            result: Any = x.name
        elif len(out_shape) == 2 and out_shape[1] == x.size:
            same_order = x.shape[1] * x.shape[2] == 1 or x.shape[3] == 1
            result = x.name if same_order else _Flattened(x.name, x.shape[1:], node)  # type: ignore[arg-type]
        else:
            raise self._unsupported(node, f"reshape of {in_nchw} to {tuple(out_shape)}")
        self.values[quantize] = result
        self.consumed.add(quantize)

    def _lower_pad(self, node: fx.Node) -> None:
        value = self._input(node, node.args[0])
        if not isinstance(value, str):
            raise self._unsupported(node, "padding a padded or flattened view")
        x = self.tensors[value]
        pad = [int(p) for p in node.args[1]]
        if node.target is aten.pad.default:
            mode = node.args[2] if len(node.args) > 2 else node.kwargs.get("mode", "constant")
            fill = node.args[3] if len(node.args) > 3 else node.kwargs.get("value", None)
            if mode != "constant":
                raise self._unsupported(node, f"{mode!r} padding")
        else:
            fill = node.args[2] if len(node.args) > 2 else node.kwargs.get("value", 0.0)
        if len(pad) != 4 or min(pad) < 0:
            raise self._unsupported(node, f"padding {pad} (only non-negative H and W padding)")
        quantize, act = self._output(node)
        if act is not None:
            raise self._unsupported(act, "an activation after padding")
        self._require_same_quantization(node, x, Tensor("", x.shape, float(quantize.args[1]),
                                                        int(quantize.args[2])))
        fill_q = int(qm.round_half_away_from_zero(np.clip(np.float32(fill or 0.0) / np.float32(x.scale), -256, 256)))
        left, right, top, bottom = pad
        self.values[quantize] = _Padded(x.name, (top, bottom, left, right),
                                        int(np.clip(fill_q + x.zero_point, -128, 127)), node)
        self.consumed.add(quantize)

    # ------------------------------------------------------------------ output

    def _graph_output(self, output_node: fx.Node) -> str:
        results = output_node.args[0]
        results = results if isinstance(results, (tuple, list)) else (results,)
        if len(results) != 1:
            raise ConversionError(f"apollo3: the model has {len(results)} outputs; the runtime runs single-output "
                                  f"models")
        node = results[0]
        while isinstance(node, fx.Node) and node.target in _RESHAPES:  # value-preserving float tail
            node = node.args[0]
        if not _is_qd(node, _DEQUANTIZE):
            raise ConversionError(f"apollo3: the model output is computed in float by {_describe(node)} after "
                                  f"the last int8 tensor; the runtime has no float ops (move it to the spec's "
                                  f"post-processing)")
        value = self.values.get(node.args[0])
        if isinstance(value, _Flattened):
            raise self._unsupported(value.node, "the model output is a flattened HxW>1 feature map in NCHW order")
        if not isinstance(value, str):
            raise ConversionError(f"apollo3: the model output comes from {_describe(node.args[0])}")
        return value

    def _append_softmax(self, logits_name: str) -> str:
        logits = self.tensors[logits_name]
        if logits.size > qm.SOFTMAX_MAX_DEPTH:
            raise ConversionError(f"apollo3: softmax over {logits.size} classes exceeds the runtime's "
                                  f"{qm.SOFTMAX_MAX_DEPTH}")
        try:
            params = qm.softmax_params(logits.scale)
        except InputError as exc:
            raise ConversionError(f"apollo3: the spec's softmax on the output: {exc}") from None
        out = Tensor("probabilities", (1, 1, 1, logits.size), qm.SOFTMAX_OUTPUT_SCALE, qm.SOFTMAX_OUTPUT_ZERO_POINT)
        self.tensors[out.name] = out
        self.ops.append(Softmax(layer="output.softmax", input=logits_name, output=out.name, params=params))
        return out.name

    # ------------------------------------------------------------------ checks

    def _check_shape(self, node: fx.Node, hwc: tuple[int, int, int]) -> None:
        shape = _nchw_shape(node)
        expected = (shape[1], shape[2], shape[3]) if len(shape) == 4 else None
        if expected != (hwc[2], hwc[0], hwc[1]):
            raise self._unsupported(node, f"the runtime would compute {hwc[0]}x{hwc[1]}x{hwc[2]} (HWC) where torch "
                                          f"computes {tuple(shape)} (NCHW)")

    def _require_same_quantization(self, node: fx.Node, x: Tensor, out: Tensor) -> None:
        if not (math.isclose(x.scale, out.scale, rel_tol=0, abs_tol=0) and x.zero_point == out.zero_point):
            raise self._unsupported(node, f"input quantization ({x.scale:.6g}, {x.zero_point}) differs from the "
                                          f"output's ({out.scale:.6g}, {out.zero_point}) and the kernel does not "
                                          f"requantize")


# ---------------------------------------------------------------------------- helpers

def _activation_bounds(act: fx.Node | None, out: Tensor, lowering: _Lowering) -> tuple[int, int]:
    """A ReLU / ReLU6 / clamp folded into the producing kernel's output clamp."""
    if act is None:
        return qm.INT8_MIN, qm.INT8_MAX
    if act.target is aten.relu.default:
        return qm.activation_range("relu", out.scale, out.zero_point)
    if act.target is aten.relu6.default:
        return qm.activation_range("relu6", out.scale, out.zero_point)
    defaults = (-1.0, 1.0) if act.target is aten.hardtanh.default else (None, None)
    low = act.args[1] if len(act.args) > 1 else act.kwargs.get("min", defaults[0])
    high = act.args[2] if len(act.args) > 2 else act.kwargs.get("max", defaults[1])
    if (low, high) == (0.0, 6.0) or (low, high) == (0, 6):
        return qm.activation_range("relu6", out.scale, out.zero_point)

    def bound(value, default: int) -> int:
        if value is None:
            return default
        q = qm.round_half_away_from_zero(np.float32(value) / np.float32(out.scale))
        return int(np.clip(out.zero_point + np.clip(q, -256, 256), qm.INT8_MIN, qm.INT8_MAX))

    act_min, act_max = bound(low, qm.INT8_MIN), bound(high, qm.INT8_MAX)
    if act_min > act_max:
        raise lowering._unsupported(act, f"clamp range [{low}, {high}] is empty at the output's int8 scale")
    return act_min, act_max


def _pool_pads(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> tuple[int, int]:
    """(before, after) padding giving torch's output size, ceil_mode as extra trailing padding."""
    span = size + 2 * pad - kernel
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pad:  # torch: the last window must start inside the input
            out -= 1
    else:
        out = span // stride + 1
    return pad, max((out - 1) * stride + kernel - size - pad, 0)


def _string_padding(padding: str, kernel: tuple[int, int]) -> tuple[int, int, int, int]:
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":  # torch, stride 1: the extra pixel goes after
        (kh, kw) = kernel
        return (kh - 1) // 2, kh - 1 - (kh - 1) // 2, (kw - 1) // 2, kw - 1 - (kw - 1) // 2
    raise ConversionError(f"apollo3: conv padding {padding!r} is not supported")


def _pair(value: Any, default: int | None) -> tuple[int, int]:
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        if default is None:
            raise ConversionError("apollo3: missing window size")
        return default, default
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[-1])) if len(value) in (1, 2) else (int(value[0]), int(value[1]))
    return int(value), int(value)


def _nchw_shape(node: fx.Node) -> tuple[int, ...]:
    value = node.meta.get("val")
    if value is None or not hasattr(value, "shape"):
        raise ConversionError(f"apollo3: graph node {node.name} carries no shape (was the graph exported with "
                              f"torch.export?)")
    return tuple(1 if i == 0 else int(s) for i, s in enumerate(value.shape))


def _is_qd(node: Any, name: str) -> bool:
    return (isinstance(node, fx.Node) and node.op == "call_function"
            and isinstance(node.target, torch._ops.OpOverload)
            and node.target.namespace == "quantized_decomposed" and node.target._opname == name)


def _qd_name(node: fx.Node) -> str | None:
    target = node.target
    if isinstance(target, torch._ops.OpOverload) and target.namespace == "quantized_decomposed":
        return target._opname
    return None


def _op_label(node: fx.Node) -> str:
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        return f"{target.namespace}.{target._opname}" + ("" if target._overloadname == "default"
                                                         else f".{target._overloadname}")
    return getattr(target, "__name__", str(target))


def _layer(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    paths = [path for path, _cls in stack.values() if path]
    return paths[-1] if paths else node.name


def _where(node: fx.Node) -> str:
    return f"layer {_layer(node)!r} (graph node {node.name})"


def _describe(node: Any) -> str:
    if not isinstance(node, fx.Node):
        return repr(node)
    if node.op == "placeholder":
        return f"the model input {node.name}"
    return f"{_op_label(node)} at {_where(node)}"
