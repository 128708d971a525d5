import cv2
import numpy as np
import pytest

from edge_affect.app.pipeline import FaceResult
from edge_affect.app.timeline import Timeline
from edge_affect.errors import InputError
from edge_affect.models import get_spec

FER = get_spec("mini_xception_fer2013")


def face(track, values, index=0):
    return FaceResult(index, track, (0, 0, 10, 10), np.asarray(values, dtype=float))


def test_person_0_is_the_largest_face_and_stays_that_person():
    timeline = Timeline(FER)
    timeline.add(0.0, [face(4, np.eye(7)[3]), face(5, np.eye(7)[0], 1)])
    timeline.add(0.1, [face(5, np.eye(7)[0]), face(4, np.eye(7)[6], 1)])  # 5 is now larger; 4 stays person 0
    timeline.add(0.2, [])
    timeline.add(0.3, [face(5, np.eye(7)[1])])  # 4 gone: the largest face takes over
    assert timeline.tracks == [4, 4, None, 5]
    times, values = timeline.series()
    assert times.tolist() == [0.0, 0.1, 0.2, 0.3] and values.shape == (4, 7)
    assert values[1, 6] == 1.0 and np.isnan(values[2]).all() and values[3, 1] == 1.0


@pytest.mark.parametrize("task", ["expression", "valence_arousal"])
def test_saves_a_png(tmp_path, task, va_spec):
    spec = FER if task == "expression" else va_spec
    timeline = Timeline(spec)
    k = len(spec.output.labels)
    rng = np.random.default_rng(0)
    for i in range(30):
        values = rng.dirichlet(np.ones(k)) if k == 7 else rng.uniform(-1, 1, k)
        timeline.add(i / 30, [] if 10 <= i < 14 else [face(0, values)])
    path = timeline.save(tmp_path / "t.png")
    image = cv2.imread(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.shape[0] > 200 and image.shape[1] > 500


def test_single_frame_and_empty_timelines(tmp_path):
    timeline = Timeline(FER)
    with pytest.raises(InputError, match="no frames"):
        timeline.save(tmp_path / "t.png")
    timeline.add(0.0, [face(0, np.eye(7)[3])])
    assert timeline.save(tmp_path / "t.png").is_file()
