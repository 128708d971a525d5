"""Per-face tracks across video frames: stable ids and temporal smoothing.

Detections of a new frame are matched to the live tracks greedily, best
overlap (IoU) first; a detection that overlaps no track is still matched to
the nearest one whose centre lies within ``max_centre_shift`` of its size
(a face moving fast between two detections can leave its old box). Each track
smooths the model outputs with the spec's EMA (``output.smooth_alpha``), so a
face keeps its own history and a new face starts fresh. A track not seen for
more than ``max_missed`` detection rounds ends; its id is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge_affect.app.detect import Box
from edge_affect.runtime.postprocess import EmaSmoother


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter)


def centre_shift(a: Box, b: Box) -> float:
    """Distance between the box centres, in units of the mean box side."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    distance = np.hypot((ax + aw / 2) - (bx + bw / 2), (ay + ah / 2) - (by + bh / 2))
    return float(distance / ((aw + ah + bw + bh) / 4))


@dataclass
class Track:
    id: int
    box: Box
    smoother: EmaSmoother
    first_seen: int  # detection round
    last_seen: int
    values: np.ndarray | None = field(default=None)  # latest smoothed outputs

    def smooth(self, values: np.ndarray) -> np.ndarray:
        self.values = self.smoother.update(values)
        return self.values


class FaceTracker:
    def __init__(self, smooth_alpha: float, min_iou: float = 0.2, max_centre_shift: float = 0.6,
                 max_missed: int = 5):
        self.smooth_alpha = smooth_alpha
        self.min_iou = min_iou
        self.max_centre_shift = max_centre_shift
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._round = -1
        self._next_id = 0

    def update(self, boxes: list[Box]) -> list[Track]:
        """One detection round: the track of each box, in the order of `boxes`."""
        self._round += 1
        # Candidate pairs ranked: overlapping ones by IoU, then the others by closeness of centres.
        ranked = []
        for ti, track in enumerate(self.tracks):
            for bi, box in enumerate(boxes):
                overlap = iou(track.box, box)
                if overlap >= self.min_iou:
                    ranked.append(((1, overlap), ti, bi))
                elif (shift := centre_shift(track.box, box)) <= self.max_centre_shift:
                    ranked.append(((0, -shift), ti, bi))
        ranked.sort(key=lambda r: r[0], reverse=True)
        assigned: dict[int, Track] = {}
        used: set[int] = set()
        for _, ti, bi in ranked:
            if ti in used or bi in assigned:
                continue
            used.add(ti)
            track = self.tracks[ti]
            track.box, track.last_seen = boxes[bi], self._round
            assigned[bi] = track
        for bi, box in enumerate(boxes):
            if bi not in assigned:
                assigned[bi] = Track(self._next_id, box, EmaSmoother(self.smooth_alpha), self._round, self._round)
                self._next_id += 1
                self.tracks.append(assigned[bi])
        self.tracks = [t for t in self.tracks if self._round - t.last_seen <= self.max_missed]
        return [assigned[bi] for bi in range(len(boxes))]

    def current(self) -> list[Track]:
        """The tracks matched in the latest round, largest box first: the faces of a
        frame on which the detector did not run."""
        live = [t for t in self.tracks if t.last_seen == self._round]
        return sorted(live, key=lambda t: (-t.box[2] * t.box[3], t.box[1], t.box[0]))
