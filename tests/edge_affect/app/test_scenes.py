import numpy as np
import pytest

from edge_affect.app.scenes import (FRAME_SIZE, background, real_face_sprites, render_scene, synthetic_face_sprites,
                                    write_video)
from edge_affect.app.sources import open_source
from edge_affect.errors import InputError


def test_real_sprites_have_faces_of_the_requested_width():
    sprites = real_face_sprites(face_width=90, count=4)
    assert len(sprites) == 4
    for sprite in sprites:
        x, y, w, h = sprite.face
        assert abs(w - 90) <= 1 and sprite.image.dtype == np.uint8 and sprite.image.shape[2] == 3
        assert 0 <= x and 0 <= y and x + w <= sprite.image.shape[1] and y + h <= sprite.image.shape[0]
    # The astronaut keeps context around her face; LFW crops are the face alone.
    assert sprites[0].image.shape[1] > sprites[0].face[2] and sprites[1].face[:2] == (0, 0)


def test_scene_is_deterministic_and_boxes_stay_in_the_frame():
    sprites = real_face_sprites(80, 3) + synthetic_face_sprites(1, seed=3, face_width=80)
    first = list(render_scene(sprites, 4))
    again = list(render_scene(sprites, 4))
    for (frame, boxes), (frame2, boxes2) in zip(first, again):
        np.testing.assert_array_equal(frame, frame2)
        assert boxes == boxes2 and len(boxes) == 4 and frame.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
        for x, y, w, h in boxes:
            assert 0 <= x and 0 <= y and x + w <= FRAME_SIZE[0] and y + h <= FRAME_SIZE[1]
    assert first[0][1] != first[3][1]  # the faces drift


def test_the_face_pixels_are_pasted_where_the_box_says():
    sprites = real_face_sprites(80, 1)
    frame, [(x, y, w, h)] = next(render_scene(sprites, 1))
    fx, fy, fw, fh = sprites[0].face
    np.testing.assert_array_equal(frame[y:y + h, x:x + w], sprites[0].image[fy:fy + fh, fx:fx + fw])


def test_empty_scene_is_the_background():
    frame, boxes = next(render_scene([], 1))
    assert boxes == [] and np.array_equal(frame, background())


def test_too_many_faces_for_the_frame():
    with pytest.raises(InputError, match="do not fit"):
        next(render_scene(real_face_sprites(200, 6), 1))


def test_write_video_round_trip(tmp_path):
    path = write_video(tmp_path / "s.avi", (f for f, _ in render_scene([], 3, size=(64, 48))))
    with open_source(path) as source:
        assert len(list(source)) == 3
    with pytest.raises(InputError, match="no frames"):
        write_video(tmp_path / "empty.avi", [])
    with pytest.raises(InputError, match=".avi"):
        write_video(tmp_path / "x.gif", [np.zeros((8, 8, 3), np.uint8)])
