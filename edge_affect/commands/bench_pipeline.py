"""`edge-affect bench --pipeline`: end-to-end FPS of the app on one core.

For 0, 1 and many faces, a 640x480 MJPG video is made from real face photos
(edge_affect.app.scenes: the astronaut portrait and upscaled LFW faces on a
plain background, drifting) and run through the whole frame loop (decode,
detect, preprocess, infer, smooth, draw; nothing written) with torch, OpenCV,
ONNX Runtime and XNNPACK on one thread. Also the classifier alone: per-face
latency of the backend at batch 1 (median of many runs). Figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "mini_xception_fer2013"
MANY_FACES = 6
# Faces 110 px wide alone (a face at arm's length from a webcam), 80 px when six share the frame.
FACE_WIDTH = {0: 110, 1: 110, MANY_FACES: 80}
FPS_TARGET = 30.0
CLASSIFIER_TARGET_MS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench command's --pipeline options (the command itself lives in edge_affect.cli)."""
    parser.add_argument("--pipeline", action="store_true",
                        help="benchmark the predict frame loop end to end (640x480 video, 0/1/many faces, "
                             "one core) instead of bundles in DIR")
    parser.add_argument("--backend", default="executorch", choices=["torch", "executorch", "onnx", "c"],
                        help="--pipeline: inference backend (default: executorch int8)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="--pipeline: model")
    parser.add_argument("--frames", type=int, default=150, help="--pipeline: frames per video")
    parser.add_argument("--detect-every", type=int, default=5, metavar="K",
                        help="--pipeline: full-frame detection every K frames (tracked windows in between)")
    parser.add_argument("--detect-width", type=int, default=320, metavar="PX",
                        help="--pipeline: detection width (0: full resolution)")


def bench_pipeline(model: str = DEFAULT_MODEL, backend_name: str = "executorch", frames: int = 150,
                   detect_every: int = 5, detect_width: int | None = 320, runs: int = 500,
                   face_counts: tuple[int, ...] = (0, 1, MANY_FACES), progress=None) -> dict:
    from edge_affect.app.backends import load_backend
    from edge_affect.app.detect import HaarFaceDetector
    from edge_affect.app.pipeline import AffectPipeline, run
    from edge_affect.app.scenes import real_face_sprites, render_scene, write_video
    from edge_affect.app.sources import open_source
    from edge_affect.bench import time_runner

    say = progress or (lambda _msg: None)
    backend = load_backend(backend_name, model, threads=1, progress=say)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ea_bench_pipeline_") as tmp:
        for count in face_counts:
            say(f"{count} face(s): making the video")
            sprites = real_face_sprites(FACE_WIDTH.get(count, 80), count) if count else []
            video = write_video(Path(tmp) / f"faces{count}.avi", (f for f, _ in render_scene(sprites, frames)))
            say(f"{count} face(s): running {frames} frames")
            detector = HaarFaceDetector(detect_width=detect_width)
            warm = AffectPipeline(backend, detector, detect_every)
            with open_source(video) as source:  # warm-up pass: first-call costs of every runtime
                run(source, warm, max_frames=min(10, frames), draw=True)
            pipeline = AffectPipeline(backend, detector, detect_every)
            with open_source(video) as source:
                summary = run(source, pipeline, draw=True)
            rows.append({"faces_in_video": count, "frames": summary.frames, "fps": summary.fps,
                         "faces_found_per_frame": summary.faces / max(1, summary.frames),
                         "stage_ms_per_frame": summary.stage_ms_per_frame(),
                         "infer_ms_per_face": summary.infer_ms_per_face()})
    say("classifier alone, batch 1")
    x = np.zeros(backend.spec.input.shape, np.float32)
    classifier = time_runner(backend.runner, x, runs)
    return {"model": model, "backend": backend.name, "precision": backend.precision, "threads": 1,
            "frame_size": [640, 480], "detect_every": detect_every, "detect_width": detect_width,
            "videos": rows, "classifier_ms_per_face": classifier}


def cmd_bench_pipeline(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("pipeline bench") as status:
        result = bench_pipeline(args.model, args.backend, args.frames, args.detect_every, args.detect_width or None,
                                runs=args.runs, progress=lambda msg: status.update(f"pipeline bench: {msg}"))
    if args.json:
        print(json.dumps(result))
    else:
        print_pipeline_bench(result)
    return 0


def print_pipeline_bench(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from edge_affect.app.pipeline import STAGES

    videos = result["videos"]
    stages = [s for s in STAGES if any(s in v["stage_ms_per_frame"] for v in videos)]
    table = Table(title=f"predict loop, 640x480, one core: {result['model']}, {result['backend']} "
                        f"{result['precision']}",
                  caption=f"stages in ms per frame; found: faces detected per frame; ms/face: inference "
                          f"per face in the loop. Full-frame detection every {result['detect_every']} frames "
                          f"at width {result['detect_width'] or 'full'}, tracked windows in between.")
    for col in ("faces", "found", "FPS", *stages, "ms/face"):
        table.add_column(col, justify="right")
    for v in videos:
        fps = f"{v['fps']:.1f}"
        if v["faces_in_video"] == 1:
            fps = f"[green]{fps}[/]" if v["fps"] >= FPS_TARGET else f"[red]{fps}[/]"
        per_face = "-" if v["infer_ms_per_face"] is None else f"{v['infer_ms_per_face']:.3f}"
        table.add_row(str(v["faces_in_video"]), f"{v['faces_found_per_frame']:.2f}", fps,
                      *(f"{v['stage_ms_per_frame'].get(s, 0.0):.2f}" for s in stages), per_face)
    console = Console()
    console.print(table)
    c = result["classifier_ms_per_face"]
    mark = "[green]" if c["median_ms"] <= CLASSIFIER_TARGET_MS else "[red]"
    console.print(f"classifier alone ({result['backend']} {result['precision']}, batch 1, one thread): "
                  f"{mark}{c['median_ms']:.3f} ms[/] median, {c['p90_ms']:.3f} ms p90 over {c['runs']} runs "
                  f"(targets: >= {FPS_TARGET:.0f} FPS with one face, classifier <= {CLASSIFIER_TARGET_MS:g} ms)")
