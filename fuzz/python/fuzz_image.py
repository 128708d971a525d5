"""atheris target: decoding an image file (edge_affect.data.records.decode_image),
the path every dataset image and `predict` still image goes through.

The input is the file's bytes; seeds are small PNG, JPEG, BMP, TIFF, WebP
and PGM files and a PNG header that claims 60000 x 60000 pixels. Every
outcome must be a uint8 (H, W) or (H, W, 3) array, or a DatasetError
naming the file.
"""

from __future__ import annotations

import struct
import zlib

from _harness import main, scratch_dir

_PATH: list = []


def check(data: bytes) -> None:
    import numpy as np

    from edge_affect.data.records import decode_image

    if not _PATH:
        _PATH.append(scratch_dir("image") / "face.img")
    _PATH[0].write_bytes(data)
    image = decode_image(_PATH[0])
    assert image.dtype == np.uint8 and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3))
    assert image.shape[0] >= 1 and image.shape[1] >= 1


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def seeds():
    import cv2
    import numpy as np

    gray = (np.arange(24 * 20) % 251).astype(np.uint8).reshape(24, 20)
    colour = np.dstack([gray, gray[::-1], gray[:, ::-1]])
    for ext in (".png", ".jpg", ".bmp", ".tiff", ".webp", ".pgm"):
        for image in ((gray,) if ext == ".pgm" else (gray, colour)):
            ok, encoded = cv2.imencode(ext, image)
            if ok:
                yield encoded.tobytes()
    yield _png_claiming(60000, 60000)


if __name__ == "__main__":
    main(check, seeds, ["edge_affect.data.records"])
