"""`edge-affect saliency MODEL IMAGE --out PNG`: gradient or occlusion maps over
the face crop the model saw (seed 4's and seed 5's saliency maps).

IMAGE goes through the model's reference preprocessing exactly as in
`predict`: the largest face the Haar detector finds (or, with --no-detect,
the whole image as the face box), cropped per the model's PipelineSpec.
Eye-slot models take IMAGE as the eye-slot crop: cutting a slot needs 68
landmarks, which come only from the optional dlib extra (--landmarks).
"""

from __future__ import annotations

import argparse
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EYE_SLOT_NOTE = ("eye-slot model: IMAGE is taken as the eye-slot crop (no landmarks), fitted to the input "
                 "with the spec's keep-aspect padding")


@dataclass(frozen=True)
class FaceLocation:
    """Where the model's crop comes from in IMAGE."""

    mode: str  # "detected" | "whole_image" | "eye_slot_crop"
    box: tuple[int, int, int, int] | None = None
    landmarks: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "face_box": list(self.box) if self.box else None,
                               "landmarks": self.landmarks is not None}
        if self.mode == "eye_slot_crop":
            out["note"] = EYE_SLOT_NOTE
        return out


# ---------------------------------------------------------------------------- model and input


def load_model(name: str, weights: Path | None):
    """(model, spec) for a registered model: the registry's weights, or a
    training checkpoint with the spec and factory kwargs of its sidecar (as
    ``edge_affect.evaluate.evaluate`` loads it)."""
    from edge_affect.errors import InputError, ModelNotFoundError
    from edge_affect.models import create_model, get_entry
    from edge_affect.models.checkpoint import checkpoint_metadata, trained_contract

    try:
        entry = get_entry(name)
    except ModelNotFoundError as exc:
        raise InputError(str(exc)) from None
    spec, kwargs = trained_contract(checkpoint_metadata(weights), weights, name, entry.spec, InputError)
    if weights is None and not entry.pretrained:
        raise InputError(f"{name} has no pretrained weights: pass --weights CHECKPOINT")
    model = create_model(name, pretrained=weights is None, weights_path=weights, **kwargs)
    return model, spec


def read_image(path: Path) -> np.ndarray:
    from edge_affect.data.records import DatasetError, decode_image
    from edge_affect.errors import InputError

    try:
        return decode_image(path)
    except DatasetError as exc:
        raise InputError(f"{path}: cannot read the image ({str(exc).removeprefix(f'{path}: ')})") from None


def locate_face(image: np.ndarray, spec, detect: bool = True, landmarks_fn=None) -> FaceLocation:
    """The largest detected face (and its 68 landmarks when the spec's source
    needs them and `landmarks_fn(gray, box)` is given), or the whole image."""
    import cv2

    from edge_affect.app.detect import HaarFaceDetector
    from edge_affect.errors import InputError

    source = spec.input.source
    if source == "eye_slot" and landmarks_fn is None:
        return FaceLocation("eye_slot_crop")
    if not detect or source == "full_frame":
        return FaceLocation("whole_image")
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    faces = HaarFaceDetector().detect(gray)
    if not faces:
        raise InputError("no face found in the image; pass --no-detect if IMAGE is already cropped to the face")
    box = faces[0]
    if source in ("landmarks68", "eye_slot"):
        if landmarks_fn is None:
            raise InputError(f"input.source {source!r} crops the face from 68 landmarks: pass --landmarks "
                             f"PREDICTOR (the dlib extra), or --no-detect with IMAGE already cropped to the face")
        return FaceLocation("detected", box, landmarks_fn(gray, box))
    return FaceLocation("detected", box)


def model_input(image: np.ndarray, spec, where: FaceLocation) -> np.ndarray:
    """IMAGE -> float32 model input (1, C, H, W) by the reference preprocessing."""
    from edge_affect.runtime.eye_slot import fit_to_input, preprocess_eye_slot
    from edge_affect.runtime.preprocess import check_image, normalize, preprocess

    check_image(image)
    if spec.input.source == "eye_slot":
        if where.landmarks is not None:
            return preprocess_eye_slot(image, where.landmarks, spec.input)
        return normalize(fit_to_input(image, spec.input), spec.input)[None]
    return preprocess(image, spec.input, box=where.box, landmarks=where.landmarks)


# ---------------------------------------------------------------------------- the command


def cmd_saliency(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.app.detect import landmarks_provider
    from edge_affect.fileio import write_bytes_atomic
    from edge_affect.saliency import (check_window, colorbar_label, compute_saliency, default_patch,
                                      default_stride, denormalize, panel_titles, render_png, resolve_target)

    out = Path(args.out)
    weights = Path(args.weights) if args.weights else None
    model, spec = load_model(args.model, weights)
    # Every argument is checked before the slow work.
    target = resolve_target(spec.output, args.target)
    patch = args.patch if args.patch is not None else default_patch(spec.input.size)
    stride = args.stride if args.stride is not None else default_stride(patch)
    check_window(spec.input.size, patch, stride)
    image = read_image(Path(args.image))
    landmarks_fn = landmarks_provider(args.landmarks, spec.input.source) if args.landmarks else None
    where = locate_face(image, spec, detect=not args.no_detect, landmarks_fn=landmarks_fn)
    inputs = model_input(image, spec, where)

    start = time.perf_counter()
    result = compute_saliency(model, spec, inputs, args.method, target, patch, stride)
    seconds = time.perf_counter() - start
    titles = panel_titles(spec, result)
    window = f"\n{patch}x{patch} black patch, stride {stride}" if args.method == "occlusion" else ""
    png = render_png(denormalize(inputs, spec.input)[0], result.maps[0], titles, args.method,
                     colorbar_label(spec, args.method), f"{args.model}: {args.method} saliency{window}")
    write_bytes_atomic(out, png)
    map_path = None
    if args.save_map:
        map_path = out.with_suffix(".npy")
        buffer = io.BytesIO()
        np.save(buffer, result.maps[0])
        write_bytes_atomic(map_path, buffer.getvalue())

    Console(stderr=True, soft_wrap=True).print(f"[green]wrote[/] {out}: {args.method} saliency of {args.model} "
                               f"({'; '.join(titles)}) in {seconds:.2f} s")
    if args.json:
        print(json.dumps(summary(args, spec, result, target, where, out, map_path, seconds)))
    return 0


def summary(args: argparse.Namespace, spec, result, target: int | None, where: FaceLocation, png: Path,
            map_path: Path | None, seconds: float) -> dict[str, Any]:
    labels = spec.output.labels
    outputs = [{"index": int(i), "name": labels[i], "value": float(v),
                "map_min": float(m.min()), "map_max": float(m.max())}
               for i, v, m in zip(result.outputs[0], result.values[0], result.maps[0])]
    return {"model": args.model, "weights": args.weights, "method": result.method, "task": spec.task,
            "patch": result.patch, "stride": result.stride,
            "target": None if target is None else {"index": target, "name": labels[target]}, "outputs": outputs,
            "map_shape": list(result.maps.shape[1:]), "input": where.to_json(),
            "png": str(png), "map": str(map_path) if map_path else None, "seconds": round(seconds, 4)}


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "saliency", help="gradient or occlusion saliency maps of a model on a face image",
        description="Saliency maps over the face crop the model saw, for any registered model. gradient "
                    "(seed 4): |d loss / d pixel|, max over channels; for classifiers the cross-entropy of the "
                    "target class, for regressors each output. occlusion (seed 5): the drop of the target-class "
                    "probability (regressors: of each raw output, signed) when an N x N black patch slides over "
                    "the input with stride S; overlapping windows are averaged. IMAGE may be a whole photo: the "
                    "largest detected face is cropped per the model's spec (--no-detect: IMAGE is the face "
                    "crop). Eye-slot models (ocular_va_*) take IMAGE as the eye-slot crop: there are no "
                    "landmarks to cut a slot from a photo unless --landmarks is given.")
    p.add_argument("model", help="a registered model (see `edge-affect models`)")
    p.add_argument("image", help="a photo, or a face crop with --no-detect (eye-slot models: the eye-slot crop)")
    p.add_argument("--weights", help="a .safetensors training checkpoint (its JSON sidecar gives spec and "
                                     "model kwargs); default: the registry's pretrained weights")
    p.add_argument("--method", choices=["gradient", "occlusion"], default="gradient")
    p.add_argument("--patch", type=_whole_number, metavar="N",
                   help="occlusion patch side in model-input pixels (default: 1/8 of the shorter side)")
    p.add_argument("--stride", type=_whole_number, metavar="S", help="occlusion stride (default: N / 2)")
    p.add_argument("--target", metavar="CLASS_OR_OUTPUT",
                   help="label name or index to explain (default: the predicted class; regressors: every output)")
    p.add_argument("--no-detect", action="store_true", help="IMAGE is already cropped to the face")
    p.add_argument("--landmarks", metavar="PATH",
                   help="dlib 68-point shape predictor, for models whose spec crops from landmarks")
    p.add_argument("--out", required=True, help="PNG to write (atomically)")
    p.add_argument("--save-map", action="store_true", help="also save the raw maps (K, H, W) as .npy beside the PNG")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=cmd_saliency)
