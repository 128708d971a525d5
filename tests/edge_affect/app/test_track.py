import numpy as np
import pytest

from edge_affect.app.track import FaceTracker, centre_shift, iou


def test_iou_and_centre_shift():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 0, 10, 10)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert centre_shift((0, 0, 10, 10), (10, 0, 10, 10)) == pytest.approx(1.0)


def test_ids_stay_with_moving_faces_whatever_the_detection_order():
    tracker = FaceTracker(smooth_alpha=1.0)
    a, b = tracker.update([(0, 0, 50, 50), (200, 0, 50, 50)])
    assert (a.id, b.id) == (0, 1)
    # Both move a little; the detector lists them the other way round.
    b2, a2 = tracker.update([(205, 3, 50, 50), (4, 2, 52, 52)])
    assert (a2.id, b2.id) == (0, 1) and a2.box == (4, 2, 52, 52)


def test_a_new_face_gets_a_new_id_and_lost_ids_are_never_reused():
    tracker = FaceTracker(smooth_alpha=1.0, max_missed=2)
    (first,) = tracker.update([(0, 0, 40, 40)])
    for _ in range(3):
        tracker.update([])
    assert tracker.tracks == []
    (again,) = tracker.update([(0, 0, 40, 40)])
    assert again.id != first.id
    new, old = tracker.update([(300, 300, 40, 40), (1, 1, 40, 40)])
    assert old.id == again.id and new.id not in (first.id, again.id)


def test_a_short_miss_keeps_the_track():
    tracker = FaceTracker(smooth_alpha=1.0, max_missed=3)
    (track,) = tracker.update([(0, 0, 40, 40)])
    tracker.update([])
    (back,) = tracker.update([(2, 0, 40, 40)])
    assert back is track


def test_a_jump_without_overlap_is_matched_by_centre():
    tracker = FaceTracker(smooth_alpha=1.0)
    (track,) = tracker.update([(0, 0, 40, 40)])
    (moved,) = tracker.update([(20, 0, 40, 40)])  # IoU 1/3 >= 0.2: overlap
    (jumped,) = tracker.update([(40, 10, 40, 40)])  # IoU 0, centre shift 0.56 sides
    assert track is moved is jumped
    (far,) = tracker.update([(200, 200, 40, 40)])
    assert far is not track


def test_smoothing_is_per_track_ema():
    tracker = FaceTracker(smooth_alpha=0.5)
    a, b = tracker.update([(0, 0, 40, 40), (200, 0, 40, 40)])
    a.smooth(np.array([1.0, 0.0]))
    b.smooth(np.array([0.0, 1.0]))
    a, b = tracker.update([(0, 0, 40, 40), (200, 0, 40, 40)])
    np.testing.assert_allclose(a.smooth(np.array([0.0, 1.0])), [0.5, 0.5])
    np.testing.assert_allclose(b.smooth(np.array([0.0, 1.0])), [0.0, 1.0])


def test_current_is_the_latest_round_largest_first():
    tracker = FaceTracker(smooth_alpha=1.0, max_missed=5)
    tracker.update([(0, 0, 20, 20), (100, 0, 60, 60)])
    assert [t.box for t in tracker.current()] == [(100, 0, 60, 60), (0, 0, 20, 20)]
    tracker.update([(101, 0, 60, 60)])
    assert [t.box for t in tracker.current()] == [(101, 0, 60, 60)]  # the small face was not seen
