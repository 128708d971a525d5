"""embedded/src/ea_preprocess.c, built for the host and called through
ctypes, against the numpy reference (edge_affect.runtime.preprocess.crop_face):
bit-exact on every frame, box and spec, plus its argument checks."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_affect.converters.apollo3 import toolchain
from edge_affect.errors import InputError
from edge_affect.runtime.preprocess import crop_face, grow_box, keep_aspect_box, margin_permille
from edge_affect.spec import InputSpec

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the real test photographs")

EA_PP_OK, EA_PP_ERR_NULL, EA_PP_ERR_SIZE, EA_PP_ERR_CONFIG = 0, -1, -2, -3
EA_PP_ERR_BOX_OUTSIDE, EA_PP_ERR_OUTPUT_SIZE, EA_PP_ERR_RANGE = -4, -5, -6
COLORS = {"gray": 1, "rgb": 3}
RESIZES = {"bilinear": 0, "nearest": 1}
GUARD = 0xA5  # bytes after the output that the C code must not touch
U8P, I8P = ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_int8)


class Box(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int32), ("y", ctypes.c_int32), ("width", ctypes.c_int32),
                ("height", ctypes.c_int32)]


class Config(ctypes.Structure):
    """Mirror of ea_preprocess_config_t (enums are int-sized)."""

    _fields_ = [("out_height", ctypes.c_int32), ("out_width", ctypes.c_int32), ("color", ctypes.c_int),
                ("resize", ctypes.c_int), ("margin_permille", ctypes.c_int32), ("keep_aspect", ctypes.c_int32),
                ("pad_value", ctypes.c_uint8)]


def config_of(spec: InputSpec) -> Config:
    return Config(spec.size[0], spec.size[1], COLORS[spec.color], RESIZES[spec.resize], margin_permille(spec),
                  int(spec.pad == "keep_aspect"), spec.pad_value)


def make_spec(color="gray", size=(64, 64), resize="bilinear", margin=0.0, keep_aspect=False, pad_value=0):
    channels = COLORS[color]
    return InputSpec(source="face_box", color=color, size=size, resize=resize, crop_margin=margin,
                     pad="keep_aspect" if keep_aspect else "none", pad_value=pad_value,
                     scale=(1 / 255,) * channels, offset=(0.0,) * channels)


def u8p(array: np.ndarray):
    return array.ctypes.data_as(U8P)


@pytest.fixture(scope="session")
def lib(tmp_path_factory):
    tools = toolchain.find_tools()
    if not tools.can_build_host:
        pytest.skip("no make or host C compiler: cannot build embedded/src/ea_preprocess.c for the host")
    embedded = toolchain.embedded_dir()
    so = toolchain.build_host_library([embedded / "src" / "ea_preprocess.c"], [],
                                      tmp_path_factory.mktemp("ea_host") / "libea_preprocess.so")
    lib = ctypes.CDLL(str(so))
    for name in ("ea_preprocess_gray_u8", "ea_preprocess_rgb888"):
        fn = getattr(lib, name)
        fn.argtypes = [U8P, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, Box, ctypes.POINTER(Config), U8P,
                       ctypes.c_size_t]
        fn.restype = ctypes.c_int
    lib.ea_preprocess_region.argtypes = [ctypes.c_int32, ctypes.c_int32, Box, ctypes.POINTER(Config),
                                         ctypes.POINTER(Box)]
    lib.ea_preprocess_region.restype = ctypes.c_int
    lib.ea_quantize_input_lut.argtypes = [U8P, ctypes.c_size_t, I8P, I8P]
    lib.ea_quantize_input_lut.restype = ctypes.c_int
    lib.ea_quantize_input_lut_hwc.argtypes = [U8P, ctypes.c_size_t, ctypes.c_int32, I8P, I8P]
    lib.ea_quantize_input_lut_hwc.restype = ctypes.c_int
    return lib


def c_crop(lib, frame: np.ndarray, spec: InputSpec, box, *, config: Config | None = None,
           capacity: int | None = None, stride: int | None = None, out_pointer=True):
    """(status, crop or None) from the C code. `frame` may be a view whose rows
    are further apart than its width (a camera line buffer with padding)."""
    channels = COLORS[spec.color]
    needed = spec.size[0] * spec.size[1] * channels
    capacity = needed if capacity is None else capacity
    out = np.full(needed + 64, GUARD, dtype=np.uint8)
    fn = lib.ea_preprocess_gray_u8 if frame.ndim == 2 else lib.ea_preprocess_rgb888
    status = fn(u8p(frame), frame.shape[1], frame.shape[0], frame.strides[0] if stride is None else stride,
                Box(*box), ctypes.byref(config if config is not None else config_of(spec)),
                u8p(out) if out_pointer else None, capacity)
    assert np.all(out[needed:] == GUARD), "wrote past the end of the output"
    if status != EA_PP_OK:
        assert np.all(out == GUARD), "wrote output although it returned an error"
        return status, None
    return status, out[:needed].reshape(spec.size + ((3,) if channels == 3 else ()))


def assert_bit_exact(lib, frame, spec, box):
    expected = crop_face(frame, spec, box)
    status, got = c_crop(lib, frame, spec, box)
    assert status == EA_PP_OK
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() == 0, f"{diff.max()} LSB off at {np.argwhere(diff)[:5].tolist()} for box {box}, spec {spec}"


# ------------------------------------------------------------------ real photographs

def hm01b0_frame() -> np.ndarray:
    """A 324x244 8-bit gray frame, the Apollo3 boards' HM01B0 camera format."""
    return np.ascontiguousarray(skimage_data.camera()[100:344, 90:414])


def vga_rgb_frame() -> np.ndarray:
    """640x480 RGB, a phone preview frame."""
    return np.ascontiguousarray(np.pad(skimage_data.astronaut(), ((0, 0), (0, 128), (0, 0)), mode="reflect")[16:496])


@pytest.mark.parametrize("size", [(64, 64), (48, 48), (96, 96)])
@pytest.mark.parametrize("resize", ["bilinear", "nearest"])
@pytest.mark.parametrize("keep_aspect", [False, True])
def test_hm01b0_frame_matches_reference(lib, size, resize, keep_aspect):
    frame = hm01b0_frame()
    for box in [(110, 40, 100, 130), (0, 0, 324, 244), (-30, -20, 90, 70), (280, 200, 80, 90), (150, 100, 7, 5)]:
        for margin in (0.0, 0.2, 0.5):
            assert_bit_exact(lib, frame, make_spec("gray", size, resize, margin, keep_aspect, 17), box)


@pytest.mark.parametrize("color", ["rgb", "gray"])
def test_vga_rgb_frame_matches_reference(lib, color):
    frame = vga_rgb_frame()
    for box in [(180, 60, 200, 240), (-50, 300, 260, 300), (600, 10, 100, 50)]:
        for resize in RESIZES:
            assert_bit_exact(lib, frame, make_spec(color, (224, 224), resize, 0.1, True, 128), box)


def test_gray_frame_to_rgb_model_replicates(lib):
    frame = hm01b0_frame()
    assert_bit_exact(lib, frame, make_spec("rgb", (64, 48), "bilinear", 0.25, True, 3), (100, 50, 120, 110))


def test_strided_frame(lib):
    """Rows padded beyond the image width (a DMA line buffer)."""
    wide = np.ascontiguousarray(np.pad(skimage_data.camera()[:244], ((0, 0), (0, 12)), constant_values=255))
    frame = wide[:, :324]
    assert frame.strides[0] == 524
    spec = make_spec("gray", (64, 64), "bilinear", 0.2, False, 0)
    status, got = c_crop(lib, frame, spec, (250, 30, 120, 100))  # crosses the right edge into the padding
    assert status == EA_PP_OK
    np.testing.assert_array_equal(got, crop_face(np.ascontiguousarray(frame), spec, (250, 30, 120, 100)))

    rgb = np.pad(skimage_data.astronaut()[:100, :90], ((0, 0), (0, 7), (0, 0)))[:, :90]
    spec = make_spec("rgb", (32, 32), "nearest", 0.0, True, 9)
    status, got = c_crop(lib, rgb, spec, (10, 10, 60, 40))
    np.testing.assert_array_equal(got, crop_face(np.ascontiguousarray(rgb), spec, (10, 10, 60, 40)))


def test_upscaling_from_tiny_boxes(lib):
    """Source smaller than destination: the numerator of the tap formula is
    negative for the first outputs (floor vs C truncation)."""
    frame = hm01b0_frame()
    for box in [(5, 7, 1, 1), (10, 10, 2, 3), (323, 243, 1, 1), (-1, -1, 3, 2)]:
        for resize in RESIZES:
            assert_bit_exact(lib, frame, make_spec("gray", (96, 96), resize, 0.0, False, 200), box)
            assert_bit_exact(lib, frame, make_spec("gray", (5, 97), resize, 0.1, True, 200), box)


# ------------------------------------------------------------------ property test

@st.composite
def cases(draw):
    frame_h, frame_w = draw(st.integers(1, 60)), draw(st.integers(1, 60))
    rgb_frame = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (frame_h, frame_w, 3) if rgb_frame else (frame_h, frame_w)
    # smooth gradients + noise: interpolation errors show on both
    yy, xx = np.mgrid[0:frame_h, 0:frame_w]
    base = (yy * 7 + xx * 3) % 256
    noise = rng.integers(0, 256, size=shape)
    frame = np.where(rng.random(shape) < 0.5, noise, base[..., None] if rgb_frame else base).astype(np.uint8)
    w, h = draw(st.integers(1, 90)), draw(st.integers(1, 90))
    x = draw(st.integers(-w + 1, frame_w - 1))
    y = draw(st.integers(-h + 1, frame_h - 1))
    spec = make_spec(color=draw(st.sampled_from(["gray", "rgb"])),
                     size=(draw(st.integers(1, 40)), draw(st.integers(1, 40))),
                     resize=draw(st.sampled_from(["bilinear", "nearest"])),
                     margin=draw(st.floats(0.0, 0.5)), keep_aspect=draw(st.booleans()),
                     pad_value=draw(st.integers(0, 255)))
    return frame, spec, (x, y, w, h)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_matches_reference_on_random_cases(lib, case):
    frame, spec, box = case
    assert_bit_exact(lib, frame, spec, box)


@settings(max_examples=200, deadline=None)
@given(box=st.tuples(st.integers(-400, 400), st.integers(-400, 400), st.integers(1, 500), st.integers(1, 500)),
       margin=st.floats(0.0, 1.0), keep_aspect=st.booleans(),
       size=st.tuples(st.integers(1, 300), st.integers(1, 300)))
def test_region_matches_reference(lib, box, margin, keep_aspect, size):
    """The crop box arithmetic (margin rounding, keep-aspect growth) on its own."""
    frame_w, frame_h = 324, 244
    spec = make_spec("gray", size, "bilinear", margin, keep_aspect)
    r = Box()
    status = lib.ea_preprocess_region(frame_w, frame_h, Box(*box), ctypes.byref(config_of(spec)), ctypes.byref(r))
    x, y, w, h = box
    if x >= frame_w or y >= frame_h or x + w <= 0 or y + h <= 0:
        assert status == EA_PP_ERR_BOX_OUTSIDE
        return
    expected = grow_box(box, spec)
    if keep_aspect:
        expected = keep_aspect_box(expected, spec.size)
    if max(expected[2:]) > 65535:  # EA_PP_MAX_REGION_DIM: beyond it int32 taps could overflow
        assert status == EA_PP_ERR_RANGE
        return
    assert status == EA_PP_OK
    assert (r.x, r.y, r.width, r.height) == expected


# ------------------------------------------------------------------ quantization tables

def test_quantize_input_lut(lib):
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, 64 * 64, dtype=np.uint8)
    lut = rng.integers(-128, 128, 256, dtype=np.int8)
    out = np.zeros_like(crop, dtype=np.int8)
    assert lib.ea_quantize_input_lut(u8p(crop), crop.size, lut.ctypes.data_as(I8P), out.ctypes.data_as(I8P)) == 0
    np.testing.assert_array_equal(out, lut[crop])


def test_quantize_input_lut_per_channel(lib):
    rng = np.random.default_rng(1)
    crop = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    luts = rng.integers(-128, 128, (3, 256), dtype=np.int8)
    out = np.zeros(crop.shape, dtype=np.int8)
    status = lib.ea_quantize_input_lut_hwc(u8p(crop), 24 * 24, 3, luts.ctypes.data_as(I8P), out.ctypes.data_as(I8P))
    assert status == 0
    np.testing.assert_array_equal(out, np.stack([luts[c][crop[..., c]] for c in range(3)], axis=-1))
    assert lib.ea_quantize_input_lut_hwc(u8p(crop), 4, 2, luts.ctypes.data_as(I8P), out.ctypes.data_as(I8P)) \
        == EA_PP_ERR_CONFIG
    assert lib.ea_quantize_input_lut(None, 4, luts.ctypes.data_as(I8P), out.ctypes.data_as(I8P)) == EA_PP_ERR_NULL


# ------------------------------------------------------------------ bad arguments

def test_box_outside_frame_is_rejected_like_the_reference(lib):
    frame = hm01b0_frame()
    spec = make_spec()
    for box in [(324, 0, 10, 10), (0, 244, 10, 10), (-10, 5, 10, 10), (5, -10, 10, 10)]:
        with pytest.raises(InputError):
            crop_face(frame, spec, box)
        assert c_crop(lib, frame, spec, box)[0] == EA_PP_ERR_BOX_OUTSIDE


def test_bad_sizes_and_pointers(lib):
    frame = hm01b0_frame()
    spec = make_spec()
    box = (10, 10, 50, 50)
    assert c_crop(lib, frame, spec, (10, 10, 0, 5))[0] == EA_PP_ERR_SIZE
    assert c_crop(lib, frame, spec, (10, 10, 5, -1))[0] == EA_PP_ERR_SIZE
    assert c_crop(lib, frame, spec, box, stride=323)[0] == EA_PP_ERR_SIZE
    assert c_crop(lib, frame, spec, box, capacity=64 * 64 - 1)[0] == EA_PP_ERR_OUTPUT_SIZE
    assert c_crop(lib, frame, spec, box, out_pointer=False)[0] == EA_PP_ERR_NULL
    cfg = config_of(spec)
    status = lib.ea_preprocess_gray_u8(None, 324, 244, 324, Box(*box), ctypes.byref(cfg), u8p(np.zeros(4096, np.uint8)),
                                       4096)
    assert status == EA_PP_ERR_NULL
    status = lib.ea_preprocess_gray_u8(u8p(frame), 324, 244, 324, Box(*box), None, u8p(np.zeros(4096, np.uint8)), 4096)
    assert status == EA_PP_ERR_NULL
    status = lib.ea_preprocess_gray_u8(u8p(frame), 0, 244, 324, Box(*box), ctypes.byref(cfg),
                                       u8p(np.zeros(4096, np.uint8)), 4096)
    assert status == EA_PP_ERR_SIZE


@pytest.mark.parametrize("field, value", [("color", 2), ("resize", 7), ("margin_permille", 1001),
                                          ("margin_permille", -1), ("keep_aspect", 2)])
def test_bad_config_is_rejected(lib, field, value):
    cfg = config_of(make_spec())
    setattr(cfg, field, value)
    assert c_crop(lib, hm01b0_frame(), make_spec(), (10, 10, 50, 50), config=cfg)[0] == EA_PP_ERR_CONFIG


def test_dimensions_beyond_the_int32_limits_are_rejected(lib):
    frame = hm01b0_frame()
    cfg = config_of(make_spec())
    cfg.out_width = 4097
    assert c_crop(lib, frame, make_spec(), (10, 10, 50, 50), config=cfg)[0] == EA_PP_ERR_RANGE
    assert c_crop(lib, frame, make_spec(), (10, 10, 16385, 50))[0] == EA_PP_ERR_RANGE
    # keep-aspect growth of a wide box into a 1-pixel-wide, 4096-tall output
    tall = make_spec("gray", (4096, 1), "nearest", 0.0, True)
    assert c_crop(lib, frame, tall, (0, 0, 300, 10))[0] == EA_PP_ERR_RANGE
