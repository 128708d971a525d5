"""`edge-affect predict`: the live app (Acting Mirror / valence-arousal view) on an
image, a video file or a camera, with any backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_MODEL = "mini_xception_fer2013"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="faces -> expression or valence/arousal on an image, video or camera",
        description="Detect every face, run the model's reference preprocessing and the chosen backend "
                    "(the bundles `convert` writes, built once and cached), smooth per tracked face, and "
                    "draw / record the results. Videos also get a timeline PNG of person 0 (largest face).")
    p.add_argument("input", nargs="?", help="image or video file (or use --camera N)")
    p.add_argument("--camera", type=int, metavar="N", help="read camera number N instead of a file")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--backend", default="executorch", choices=["torch", "executorch", "onnx", "c"],
                   help="torch: eager; executorch: .pte (int8 unless --precision); onnx: ONNX Runtime; "
                        "c: the Apollo3 int8 C runtime built for this machine (default: executorch)")
    p.add_argument("--precision", choices=["fp32", "int8"], help="bundle precision (default: the backend's)")
    p.add_argument("--out", help="annotated image (image input) or video (.avi/.mp4) to write")
    p.add_argument("--timeline", help="timeline PNG (videos; default: beside --out as <name>_timeline.png)")
    p.add_argument("--json", action="store_true",
                   help="JSON lines on stdout: one record per face per frame, a no_face record for a frame "
                        "without faces, then a summary")
    p.add_argument("--detect-every", type=int, default=5, metavar="K",
                   help="full-frame face detection every K-th frame (1: every frame); in between, each tracked "
                        "face is re-found in a window around its last box (default 5)")
    p.add_argument("--detect-width", type=int, default=320, metavar="PX",
                   help="detect on a copy downscaled to this width (0: full resolution)")
    p.add_argument("--landmarks", metavar="PATH", help="dlib 68-point shape predictor (models that need landmarks)")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (cameras run until Ctrl-C)")
    p.add_argument("--threads", type=int, help="CPU threads for inference and OpenCV (default: the runtimes')")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from rich.console import Console

    from edge_affect.app.backends import load_backend
    from edge_affect.app.detect import HaarFaceDetector, landmarks_provider
    from edge_affect.app.pipeline import AffectPipeline, check_output_path, run
    from edge_affect.app.sources import open_source

    console = Console(stderr=True)
    with open_source(args.input, args.camera) as source:
        if args.out:
            check_output_path(args.out, source.kind)  # before any slow work
        timeline = args.timeline
        if timeline is None and args.out and source.kind != "image":
            out = Path(args.out)
            timeline = str(out.with_name(f"{out.stem}_timeline.png"))
        with console.status(f"loading {args.model} ({args.backend})") as status:
            backend = load_backend(args.backend, args.model, args.precision, args.threads,
                                   progress=lambda msg: status.update(msg))
        landmarks = None
        if backend.spec.input.source in ("landmarks68", "eye_slot") or args.landmarks:
            landmarks = landmarks_provider(args.landmarks, backend.spec.input.source)
        detector = HaarFaceDetector(detect_width=args.detect_width or None)
        pipeline = AffectPipeline(backend, detector, args.detect_every, landmarks)
        summary = run(source, pipeline, out=args.out, timeline=timeline,
                      json_stream=sys.stdout if args.json else None, max_frames=args.max_frames)
    if not args.json:
        print_summary(summary, pipeline)
    return 0


def print_summary(summary, pipeline) -> None:
    from rich.console import Console
    from rich.table import Table

    from edge_affect.app.draw import caption

    console = Console(soft_wrap=True)  # one line per fact, whatever the terminal width
    if summary.kind == "image":
        faces = pipeline.last_result.faces if pipeline.last_result else []
        if not faces:
            console.print(f"{summary.source}: no face found")
        for face in faces:
            console.print(f"face {face.index} (box {list(face.box)}): {caption(face.values, pipeline.backend.spec)}")
    else:
        table = Table(title=f"{summary.source}: {summary.frames} frames, {summary.fps:.1f} FPS "
                            f"({summary.backend} {summary.precision})")
        table.add_column("stage")
        table.add_column("ms / frame", justify="right")
        for stage, ms in summary.stage_ms_per_frame().items():
            table.add_row(stage, f"{ms:.2f}")
        console.print(table)
        per_face = summary.infer_ms_per_face()
        console.print(f"faces: {summary.faces} over {summary.frames} frames; frames without a face: "
                      f"{summary.frames_without_face}"
                      + (f"; inference {per_face:.3f} ms per face" if per_face is not None else ""))
    for kind, path in summary.outputs.items():
        console.print(f"[green]wrote[/] {kind}: {path}")
