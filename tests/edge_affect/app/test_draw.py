import numpy as np

from edge_affect.app.draw import caption, draw_frame, is_valence_arousal, track_color, va_indices
from edge_affect.app.pipeline import FaceResult
from edge_affect.models import get_spec

FER = get_spec("mini_xception_fer2013")


def test_captions(va_spec):
    probs = np.array([0.05, 0.0, 0.05, 0.8, 0.05, 0.0, 0.05])
    assert caption(probs, FER) == "happy 80%"
    assert caption(np.array([-0.25, 0.5]), va_spec) == "V +0.50 A -0.25"  # looked up by label, not position
    assert is_valence_arousal(va_spec) and not is_valence_arousal(FER) and va_indices(va_spec) == (1, 0)


def test_draws_the_box_in_the_track_colour_and_leaves_the_rest():
    frame = np.full((240, 320, 3), 128, np.uint8)
    face = FaceResult(0, 3, (100, 80, 60, 60), np.eye(7)[3])
    draw_frame(frame, [face], FER)
    assert tuple(frame[110, 100]) == track_color(3)  # left edge of the box
    assert (frame[200:, :] == 128).all() and (frame[110:130, 120:140] == 128).all()  # below; inside the face
    assert (frame[50:80, 100:160] != 128).any()  # the caption above the box


def test_valence_arousal_inset_in_the_top_right_corner(va_spec):
    frame = np.full((240, 320, 3), 200, np.uint8)
    draw_frame(frame, [FaceResult(0, 0, (20, 100, 50, 50), np.array([0.9, 0.9]))], va_spec)
    corner = frame[:90, 230:]
    assert (corner != 200).any()
    # High arousal and valence: the dot is up and right of the disc's centre.
    ys, xs = np.nonzero(np.all(corner == track_color(0), axis=-1))
    assert len(xs) and xs.mean() > corner.shape[1] / 2 and ys.mean() < 45


def test_tiny_frames_skip_the_inset_without_failing(va_spec):
    frame = np.zeros((40, 40, 3), np.uint8)
    draw_frame(frame, [FaceResult(0, 0, (0, 0, 40, 40), np.array([0.1, -0.1]))], va_spec)
    draw_frame(frame, [], FER)
