#!/usr/bin/env python3
"""Soak benchmark of the `predict` frame loop (edge_affect.app): 10,000 video
frames through decode -> detect -> preprocess -> infer -> smooth -> draw,
with the process's resident memory (RSS) sampled along the way.

    python scripts/soak_predict.py                       10,000 frames, torch backend
    python scripts/soak_predict.py --frames 2000 --backend onnx --json

The input is a synthetic scene video (real face photos drifting over a
background, edge_affect.app.scenes) of --clip frames, decoded again from the
file on every pass until --frames frames have been processed: each pass
opens and releases a cv2.VideoCapture, so a leak per video (not only per
frame) shows up too. RSS is read from /proc/self/statm every --sample
frames. Memory growth is judged after a warm-up (first pass, which fills
allocator pools and runtime caches): the growth from the end of warm-up to
the end, and the slope of a least-squares line through the samples.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# More than this after warm-up, or a slope above SLOPE_LIMIT, is reported as growth.
GROWTH_LIMIT_MB = 20.0
SLOPE_LIMIT_MB_PER_1000 = 1.0


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


@dataclass
class SoakResult:
    backend: str
    model: str
    frames: int
    faces: int
    passes: int
    seconds: float
    fps: float
    rss_start_mb: float  # after warm-up
    rss_end_mb: float
    rss_max_mb: float
    growth_mb: float
    slope_mb_per_1000_frames: float
    samples: list[tuple[int, float]] = field(default_factory=list)  # (frame, RSS MiB)

    @property
    def ok(self) -> bool:
        return (self.frames > 0 and self.growth_mb <= GROWTH_LIMIT_MB
                and self.slope_mb_per_1000_frames <= SLOPE_LIMIT_MB_PER_1000)


class LoopedVideo:
    """A FrameSource over one video file, re-opened until `frames` frames have been read."""

    kind = "video"

    def __init__(self, path: Path, frames: int, on_frame) -> None:
        from edge_affect.app.sources import open_source

        self.path, self.frames, self.on_frame, self.passes = path, frames, on_frame, 0
        with open_source(path) as probe:
            self.fps = probe.fps
        self.name = f"{path} (looped to {frames} frames)"
        self._open = open_source

    def __iter__(self) -> Iterator:
        from edge_affect.app.sources import Frame

        index = 0
        while index < self.frames:
            self.passes += 1
            with self._open(self.path) as source:
                for frame in source:
                    if index >= self.frames:
                        return
                    yield Frame(index, index / self.fps, frame.image)
                    index += 1
                    self.on_frame(index)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_clip(path: Path, frames: int, faces: int) -> Path:
    from edge_affect.app.scenes import real_face_sprites, render_scene, write_video

    sprites = real_face_sprites(count=faces)
    return write_video(path, (frame for frame, _ in render_scene(sprites, frames)))


def soak(frames: int = 10_000, clip: int = 600, faces: int = 2, backend: str = "torch",
         model: str = "mini_xception_fer2013", sample: int = 250, detect_every: int = 5,
         threads: int | None = None) -> SoakResult:
    from edge_affect.app.backends import load_backend
    from edge_affect.app.detect import HaarFaceDetector
    from edge_affect.app.pipeline import AffectPipeline, run

    samples: list[tuple[int, float]] = []

    def on_frame(index: int) -> None:
        if index % sample == 0:
            samples.append((index, rss_mb()))

    with tempfile.TemporaryDirectory(prefix="ea_soak_predict_") as tmp:
        video = write_clip(Path(tmp) / "scene.avi", clip, faces)
        pipeline = AffectPipeline(load_backend(backend, model, threads=threads), HaarFaceDetector(),
                                  detect_every=detect_every)
        source = LoopedVideo(video, frames, on_frame)
        with open(os.devnull, "w") as sink:  # the JSON records are produced (and serialised), then dropped
            start = time.perf_counter()
            summary = run(source, pipeline, json_stream=sink, draw=True)
            seconds = time.perf_counter() - start
    warm = [(f, m) for f, m in samples if f > clip] or samples
    x = np.array([f for f, _ in warm], dtype=np.float64)
    y = np.array([m for _, m in warm], dtype=np.float64)
    slope = float(np.polyfit(x, y, 1)[0] * 1000) if len(warm) >= 3 else 0.0
    return SoakResult(backend=backend, model=model, frames=summary.frames, faces=summary.faces,
                      passes=source.passes, seconds=round(seconds, 1), fps=round(summary.frames / seconds, 1),
                      rss_start_mb=round(warm[0][1], 1), rss_end_mb=round(warm[-1][1], 1),
                      rss_max_mb=round(max(m for _, m in samples), 1),
                      growth_mb=round(warm[-1][1] - warm[0][1], 1), slope_mb_per_1000_frames=round(slope, 3),
                      samples=[(f, round(m, 1)) for f, m in samples])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--clip", type=int, default=600, help="frames in the looped video (the warm-up)")
    parser.add_argument("--faces", type=int, default=2)
    parser.add_argument("--backend", default="torch", choices=["torch", "executorch", "onnx", "c"])
    parser.add_argument("--model", default="mini_xception_fer2013")
    parser.add_argument("--sample", type=int, default=250, help="frames between RSS samples")
    parser.add_argument("--detect-every", type=int, default=5)
    parser.add_argument("--threads", type=int, help="CPU threads for inference (default: the runtime's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if min(args.frames, args.clip, args.faces, args.sample, args.detect_every) < 1:
        parser.error("--frames, --clip, --faces, --sample and --detect-every must be >= 1")
    if args.frames < 3 * args.sample + args.clip:
        parser.error("--frames must leave at least 3 RSS samples after the first pass of the clip")
    r = soak(args.frames, args.clip, args.faces, args.backend, args.model, args.sample, args.detect_every,
             args.threads)
    if args.json:
        print(json.dumps({**asdict(r), "ok": r.ok}))
    else:
        print(f"{r.backend} {r.model}: {r.frames:,} frames ({r.faces:,} faces, {r.passes} passes over the clip) "
              f"in {r.seconds:.0f} s = {r.fps:.1f} fps")
        print(f"RSS after warm-up {r.rss_start_mb:.1f} MiB -> end {r.rss_end_mb:.1f} MiB "
              f"(growth {r.growth_mb:+.1f} MiB, slope {r.slope_mb_per_1000_frames:+.3f} MiB / 1000 frames, "
              f"max {r.rss_max_mb:.1f} MiB) -> {'PASS' if r.ok else 'GROWTH'}")
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
