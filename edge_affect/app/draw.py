"""Overlay drawing (OpenCV, in place on BGR frames).

Per face: the box in the track's colour and a caption — the top label with
its probability for classifiers, "V +0.42 A -0.10" for valence/arousal
models, whose faces also appear as dots on a circumplex inset (valence right,
arousal up) in the top-right corner.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from edge_affect.spec import PipelineSpec

VA_TASKS = ("valence_arousal", "ocular_va")
# Distinct, readable on skin and background (BGR).
PALETTE = ((60, 200, 60), (255, 140, 30), (40, 170, 255), (220, 60, 220), (230, 220, 40), (90, 90, 255),
           (200, 200, 200), (40, 120, 180))
FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_color(track_id: int) -> tuple[int, int, int]:
    return PALETTE[track_id % len(PALETTE)]


def is_valence_arousal(spec: PipelineSpec) -> bool:
    return spec.task in VA_TASKS


def va_indices(spec: PipelineSpec) -> tuple[int, int]:
    """Positions of valence and arousal in the outputs (by label, else the first two)."""
    labels = [label.lower() for label in spec.output.labels]
    if "valence" in labels and "arousal" in labels:
        return labels.index("valence"), labels.index("arousal")
    return 0, 1


def va_range(spec: PipelineSpec) -> tuple[float, float]:
    return spec.output.clamp_range or (-1.0, 1.0)


def caption(values: np.ndarray, spec: PipelineSpec) -> str:
    if is_valence_arousal(spec):
        v, a = va_indices(spec)
        return f"V {values[v]:+.2f} A {values[a]:+.2f}"
    labels = spec.output.labels
    if len(labels) == 1:
        return f"{labels[0]} {values[0]:.0%}"
    top = int(np.argmax(values))
    return f"{labels[top]} {values[top]:.0%}"


def _text_scale(frame: np.ndarray) -> tuple[float, int]:
    scale = max(0.4, min(frame.shape[:2]) / 600)
    return scale, max(1, round(scale * 2))


def draw_label(frame: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int]) -> None:
    """Text on a filled band in `color`, its bottom-left at `origin` (kept inside the frame)."""
    scale, thickness = _text_scale(frame)
    (tw, th), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    x = int(np.clip(origin[0], 0, max(0, frame.shape[1] - tw - 4)))
    y = int(np.clip(origin[1], th + baseline + 4, frame.shape[0] - 1))
    cv2.rectangle(frame, (x, y - th - baseline - 4), (x + tw + 4, y), color, cv2.FILLED)
    cv2.putText(frame, text, (x + 2, y - baseline - 2), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)


def draw_face(frame: np.ndarray, box: Sequence[int], text: str, color: tuple[int, int, int]) -> None:
    x, y, w, h = (int(v) for v in box)
    _, thickness = _text_scale(frame)
    cv2.rectangle(frame, (x, y), (x + w - 1, y + h - 1), color, thickness + 1, cv2.LINE_AA)
    draw_label(frame, text, (x, y - 2), color)


def draw_circumplex(frame: np.ndarray, points: Sequence[tuple[float, float, tuple[int, int, int]]],
                    value_range: tuple[float, float]) -> None:
    """A valence/arousal disc in the top-right corner with one dot per (v, a, colour)."""
    radius = max(30, min(frame.shape[:2]) // 8)
    margin = radius // 4
    cx, cy = frame.shape[1] - margin - radius, margin + radius
    if cx - radius < 0 or cy + radius >= frame.shape[0]:
        return  # frame too small for an inset
    roi = frame[cy - radius:cy + radius + 1, cx - radius:cx + radius + 1]
    roi[:] = (0.4 * roi).astype(np.uint8)  # darken the background so dots stay visible
    grey = (170, 170, 170)
    cv2.circle(frame, (cx, cy), radius, grey, 1, cv2.LINE_AA)
    cv2.line(frame, (cx - radius, cy), (cx + radius, cy), grey, 1)
    cv2.line(frame, (cx, cy - radius), (cx, cy + radius), grey, 1)
    scale = max(0.35, radius / 150)
    cv2.putText(frame, "V", (cx + radius - 12, cy - 4), FONT, scale, grey, 1, cv2.LINE_AA)
    cv2.putText(frame, "A", (cx + 4, cy - radius + 14), FONT, scale, grey, 1, cv2.LINE_AA)
    low, high = value_range
    for valence, arousal, color in points:
        u = (np.clip(valence, low, high) - low) / (high - low) * 2 - 1
        v = (np.clip(arousal, low, high) - low) / (high - low) * 2 - 1
        cv2.circle(frame, (int(round(cx + u * radius)), int(round(cy - v * radius))), max(3, radius // 12),
                   color, cv2.FILLED, cv2.LINE_AA)


def draw_frame(frame: np.ndarray, faces, spec: PipelineSpec) -> np.ndarray:
    """Annotate `frame` (BGR, in place) with every face of a FrameResult; returns it."""
    if is_valence_arousal(spec):
        v, a = va_indices(spec)
        # The inset first, so a caption near the top-right corner stays readable on top of it.
        draw_circumplex(frame, [(float(f.values[v]), float(f.values[a]), track_color(f.track_id)) for f in faces],
                        va_range(spec))
    for face in faces:
        draw_face(frame, face.box, f"#{face.track_id} {caption(face.values, spec)}", track_color(face.track_id))
    return frame
