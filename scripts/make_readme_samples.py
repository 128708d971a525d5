#!/usr/bin/env python3
"""Make the README's `predict` samples with the real CLI:

    docs/img/predict_sample.jpg    `edge-affect predict scene.png --out ...` on a 640x480 image
                                   with four real faces (the astronaut portrait and three LFW faces)
    docs/img/timeline_sample.png   the timeline `edge-affect predict clip.avi --out ...` writes for
                                   a short video: real faces one after another at one spot, with a
                                   gap without a face

    python scripts/make_readme_samples.py [--backend executorch] [--out docs/img]

The faces are the offline real samples (edge_affect.data.samples; scikit-image
ships them). For the video, the LFW faces are the first ones on which the
model's top expressions differ, so the timeline shows the plot changing; they
are picked by the eager model, deterministically, and say nothing about
accuracy. The inputs are written to a temporary directory; only the two
pictures are kept.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from edge_affect.app.scenes import Sprite, make_sprite, real_face_sprites, render_scene, write_video
from edge_affect.cli import main as cli

MODEL = "mini_xception_fer2013"
FPS = 15
SEGMENT_FRAMES = 30  # two seconds per face
FADE_FRAMES = 8


def expressive_lfw_sprites(count: int, face_width: int = 150) -> list[Sprite]:
    """The first LFW faces whose top expression (eager model) differs from the ones already picked."""
    from edge_affect.data.samples import real_face_images
    from edge_affect.models import create_model, get_spec
    from edge_affect.models.runner import eager_runner
    from edge_affect.runtime.preprocess import preprocess

    spec = get_spec(MODEL)
    run = eager_runner(create_model(MODEL))
    faces = real_face_images("rgb")[:-2]
    inputs = np.concatenate([preprocess(image, spec.input, box) for image, box in faces])
    top = np.argmax(run(inputs), axis=1)
    picked, seen = [], set()
    for index, label in enumerate(top):
        if label not in seen:
            seen.add(label)
            picked.append(index)
        if len(picked) == count:
            break
    print("timeline faces: " + ", ".join(f"LFW #{i} ({spec.output.labels[top[i]]})" for i in picked))
    return [make_sprite(*faces[i], face_width) for i in picked]


def timeline_frames(sprites: list[Sprite]) -> list[np.ndarray]:
    """Each face for a segment at the centre, cross-fading into the next; one empty segment midway."""
    segments = [list(render_scene([s], SEGMENT_FRAMES, drift=6, period=SEGMENT_FRAMES)) for s in sprites]
    empty = [frame for frame, _ in render_scene([], SEGMENT_FRAMES // 2)]
    frames: list[np.ndarray] = []
    for i, segment in enumerate(segments):
        current = [frame for frame, _ in segment]
        if frames and i != len(segments) // 2:
            # Fade from the last frame of the previous face: the same spot, a new person.
            for k in range(1, FADE_FRAMES + 1):
                frames[-FADE_FRAMES + k - 1] = cv2.addWeighted(frames[-FADE_FRAMES + k - 1], 1 - k / FADE_FRAMES,
                                                               current[0], k / FADE_FRAMES, 0)
        if i == len(segments) // 2:
            frames += empty
        frames += current
    return frames


def make(out_dir: Path, backend: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ea_readme_") as tmp:
        tmp = Path(tmp)
        scene, _ = next(render_scene(real_face_sprites(100, 4), 1, drift=0))
        image = tmp / "scene.png"
        cv2.imwrite(str(image), scene)
        annotated = tmp / "annotated.png"
        if cli(["predict", str(image), "--backend", backend, "--out", str(annotated)]) != 0:
            sys.exit("predict on the sample image failed")
        cv2.imwrite(str(out_dir / "predict_sample.jpg"), cv2.imread(str(annotated)), [cv2.IMWRITE_JPEG_QUALITY, 90])

        clip = write_video(tmp / "clip.avi", timeline_frames(expressive_lfw_sprites(4)), fps=FPS)
        video_out = tmp / "annotated.avi"
        if cli(["predict", str(clip), "--backend", backend, "--out", str(video_out),
                "--timeline", str(out_dir / "timeline_sample.png")]) != 0:
            sys.exit("predict on the sample video failed")
    print(f"wrote {out_dir / 'predict_sample.jpg'} and {out_dir / 'timeline_sample.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="executorch", choices=["torch", "executorch", "onnx", "c"])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "img"))
    args = parser.parse_args()
    make(Path(args.out), args.backend)
