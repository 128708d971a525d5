import cv2
import numpy as np
import pytest

from edge_affect.app.scenes import write_video
from edge_affect.app.sources import ImageSource, open_source
from edge_affect.errors import InputError


def _frames(n, size=(96, 64)):
    width, height = size
    return [np.full((height, width, 3), 10 * i, np.uint8) for i in range(n)]


def test_image_file_is_one_frame_at_time_zero(tmp_path):
    path = tmp_path / "face.png"
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)
    with open_source(path) as source:
        frames = list(source)
    assert source.kind == "image" and len(frames) == 1
    assert frames[0].index == 0 and frames[0].time == 0.0
    np.testing.assert_array_equal(frames[0].image, image)


def test_gray_image_decodes_as_three_channels(tmp_path):
    path = tmp_path / "gray.pgm"
    cv2.imwrite(str(path), np.full((8, 9), 77, np.uint8))
    (frame,) = list(ImageSource(path))
    assert frame.image.shape == (8, 9, 3) and (frame.image == 77).all()


def test_video_yields_every_frame_with_its_timestamp(tmp_path):
    path = write_video(tmp_path / "clip.avi", _frames(7), fps=25.0)
    with open_source(path) as source:
        frames = list(source)
    assert source.kind == "video" and source.fps == pytest.approx(25.0)
    assert [f.index for f in frames] == list(range(7))
    assert [f.time for f in frames] == pytest.approx([i / 25.0 for i in range(7)])
    assert frames[3].image.shape == (64, 96, 3)
    assert abs(int(frames[3].image.mean()) - 30) <= 3  # MJPG is lossy, but it is frame 3


@pytest.mark.parametrize("name, content, message", [
    ("missing.avi", None, "no such file"),
    ("broken.png", b"not a png at all", "cannot decode the image"),
    ("broken.avi", b"RIFF\x00\x00garbage" * 10, "broken.avi"),
    ("notes.txt", b"hello", "cannot open as a video"),
])
def test_unreadable_files_raise_a_clear_input_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_source(path)


def test_a_directory_is_not_an_input(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        open_source(tmp_path)


@pytest.mark.parametrize("kwargs", [{}, {"path": "x.png", "camera": 0}])
def test_exactly_one_of_file_or_camera(kwargs):
    with pytest.raises(InputError, match="not both or neither"):
        open_source(**kwargs)


def test_unavailable_camera_is_a_clear_error():
    # CI has no camera; index 99 exists on no ordinary machine either.
    with pytest.raises(InputError, match="camera 99: cannot be opened"):
        open_source(camera=99)


def test_negative_camera_index_is_rejected():
    with pytest.raises(InputError, match="index >= 0"):
        open_source(camera=-1)
