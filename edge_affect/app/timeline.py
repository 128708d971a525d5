"""The emotion timeline of person 0 over a video, saved as a PNG (matplotlib, Agg).

Person 0 is the largest face. To keep the plot about one person, it follows
that face's track once chosen, and moves to the largest face of the frame
only when its track is gone. Classifiers are plotted as stacked percentages
per label; valence/arousal models as two curves. Frames where person 0 has
no face are shaded grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_affect.app.draw import is_valence_arousal, va_indices, va_range
from edge_affect.errors import InputError
from edge_affect.fileio import write_bytes_atomic
from edge_affect.spec import PipelineSpec

NO_FACE_COLOR = "0.88"


class Timeline:
    def __init__(self, spec: PipelineSpec):
        self.spec = spec
        self.times: list[float] = []
        self.values: list[np.ndarray | None] = []
        self.tracks: list[int | None] = []
        self._person: int | None = None

    def add(self, time: float, faces) -> None:
        """One frame's faces (largest first, each with .track_id and .values)."""
        chosen = next((f for f in faces if f.track_id == self._person), None)
        if chosen is None and faces:
            chosen = faces[0]
            self._person = chosen.track_id
        self.times.append(float(time))
        self.values.append(None if chosen is None else np.asarray(chosen.values, dtype=np.float64))
        self.tracks.append(None if chosen is None else chosen.track_id)

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """(times (T,), values (T, K)) with NaN rows where person 0 had no face."""
        k = len(self.spec.output.labels)
        rows = [np.full(k, np.nan) if v is None else v for v in self.values]
        return np.asarray(self.times), np.asarray(rows).reshape(len(rows), k)

    def save(self, path: str | Path, title: str = "") -> Path:
        if not self.times:
            raise InputError("timeline: no frames to plot")
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import io

        import matplotlib.pyplot as plt

        times, values = self.series()
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
        missing = np.isnan(values).any(axis=1)
        if is_valence_arousal(self.spec):
            v, a = va_indices(self.spec)
            ax.plot(times, values[:, v], label="valence", color="tab:orange")
            ax.plot(times, values[:, a], label="arousal", color="tab:blue")
            ax.set_ylim(*va_range(self.spec))
            ax.axhline(0, color="0.6", linewidth=0.8)
            ax.set_ylabel("value")
        else:
            percent = np.where(missing[:, None], 0.0, values * 100.0)
            ax.stackplot(times, percent.T, labels=self.spec.output.labels, step="post" if len(times) > 1 else None)
            ax.set_ylim(0, 100)
            ax.set_ylabel("% (stacked)")
        self._shade_gaps(ax, times, missing)
        ax.set_xlim(times[0], times[-1] if times[-1] > times[0] else times[0] + 1)
        ax.set_xlabel("time (s)")
        ax.set_title(title or "person 0 (largest face) over time")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        path = Path(path)
        write_bytes_atomic(path, buffer.getvalue())
        return path

    @staticmethod
    def _shade_gaps(ax, times: np.ndarray, missing: np.ndarray) -> None:
        """One grey span per run of frames without person 0."""
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        for n, (start, stop) in enumerate(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))):
            ax.axvspan(times[start], times[stop - 1] + step, color=NO_FACE_COLOR, linewidth=0,
                       label="no face" if n == 0 else None)
