"""Bad image files through decode_image (every dataset image goes through it):
each becomes a DatasetError naming the file, never an OpenCV exception, a
traceback or a multi-gigabyte allocation."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from edge_affect.data.records import MAX_IMAGE_PIXELS, DatasetError, decode_image


def _encoded(ext: str) -> bytes:
    image = (np.arange(40 * 32 * 3) % 251).astype(np.uint8).reshape(40, 32, 3)
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def _png_claiming(width: int, height: int, damaged: bool) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) ^ (0xFFFF if damaged else 0)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match=r"empty.png: not a decodable image \(0 bytes\)"):
        decode_image(path)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".webp", ".tiff"])
def test_truncated_files(tmp_path, ext):
    path = tmp_path / f"cut{ext}"
    path.write_bytes(_encoded(ext)[:40])
    with pytest.raises(DatasetError, match=f"cut\\{ext}: not a decodable image"):
        decode_image(path)


def test_truncated_jpeg_decodes_what_is_there_or_fails_cleanly(tmp_path):
    """libjpeg fills a JPEG cut after its headers with grey (documented OpenCV
    behaviour); one cut inside the headers is an error. Never an exception."""
    data = _encoded(".jpg")
    for cut, name in ((len(data) // 2, "half.jpg"), (20, "head.jpg")):
        path = tmp_path / name
        path.write_bytes(data[:cut])
        try:
            image = decode_image(path)
        except DatasetError as exc:
            assert name in str(exc)
        else:
            assert image.dtype == np.uint8 and image.shape == (40, 32, 3)


def test_corrupt_bytes_and_text_named_as_images(tmp_path):
    rng = np.random.default_rng(0)
    for name, data in (("noise.png", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()),
                       ("notes.jpg", b"this is not an image\n" * 20),
                       ("flipped.png", bytes(b ^ 0x55 for b in _encoded(".png")))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DatasetError, match=f"{name}: not a decodable image"):
            decode_image(path)


@pytest.mark.parametrize("damaged", [False, True])
def test_huge_declared_dimensions_are_refused_before_decoding(tmp_path, damaged):
    """A 60-byte PNG claiming 60000 x 60000: with damaged chunks OpenCV
    allocates the whole 3.6 GB image before failing, so the size is checked first."""
    path = tmp_path / "huge.png"
    path.write_bytes(_png_claiming(60000, 60000, damaged))
    with pytest.raises(DatasetError, match=f"60000 x 60000 pixels exceeds the limit of {MAX_IMAGE_PIXELS}"):
        decode_image(path)


@pytest.mark.parametrize("damaged", [False, True])
def test_predict_refuses_huge_declared_dimensions_too(tmp_path, damaged):
    """`predict` on a still image goes through the same size check."""
    from edge_affect.app.sources import ImageSource
    from edge_affect.errors import InputError

    path = tmp_path / "huge.png"
    path.write_bytes(_png_claiming(60000, 60000, damaged))
    with pytest.raises(InputError, match="cannot decode the image .*60000 x 60000 pixels exceeds the limit"):
        ImageSource(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DatasetError, match="missing.png: cannot read image file"):
        decode_image(tmp_path / "missing.png")
    with pytest.raises(DatasetError, match="cannot read image file"):
        decode_image(tmp_path)


def test_alpha_and_16_bit_are_reduced_not_refused(tmp_path):
    rgba = np.zeros((8, 6, 4), np.uint8)
    rgba[..., 2] = 200
    deep = np.full((8, 6), 40000, np.uint16)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    colour = decode_image(tmp_path / "rgba.png")
    assert colour.shape == (8, 6, 3) and colour.dtype == np.uint8 and colour[0, 0, 0] == 200  # BGR -> RGB
    gray = decode_image(tmp_path / "deep.png")
    assert gray.shape == (8, 6) and gray.dtype == np.uint8
