import dataclasses

import numpy as np
import pytest

from edge_affect.data.loaders import load_dataset
from edge_affect.data.records import FaceRecord, Labels, Source
from edge_affect.errors import InputError
from edge_affect.models import get_spec
from edge_affect.prep.record import PrepConfig, Rejection, Sample, decode_png, prepare_record, record_key
from edge_affect.runtime.eye_slot import crop_eye_slot
from edge_affect.runtime.preprocess import crop_face

EYE_SPEC = get_spec("ocular_va_m1").input
FACE_SPEC = get_spec("mini_xception_fer2013").input


@pytest.fixture(scope="module")
def records(affectnet_data):
    return load_dataset(affectnet_data).records


def test_eye_slot_sample_is_the_reference_crop(records):
    record = records[0]
    sample = prepare_record(record, record_key(0), PrepConfig("eye_slot", EYE_SPEC))
    assert isinstance(sample, Sample) and sample.key == "000000000"
    expected = crop_eye_slot(record.image(), record.landmarks, EYE_SPEC)
    np.testing.assert_array_equal(decode_png(sample.png), expected)
    assert sample.meta["labels"] == {"expression": record.labels.expression, "valence": record.labels.valence,
                                     "arousal": record.labels.arousal, "smile": None}
    assert sample.meta["source"] == str(record.source) and sample.meta["landmarks_from"] == "annotation"
    np.testing.assert_array_equal(np.asarray(sample.meta["landmarks"], np.float32), record.landmarks)

    raw = prepare_record(record, "k", PrepConfig("eye_slot", EYE_SPEC, encoding="raw"))
    assert raw.png is None
    np.testing.assert_array_equal(raw.raw, expected)


def test_face_crop_uses_the_box_or_the_landmarks(records):
    record = records[1]
    sample = prepare_record(record, "k", PrepConfig("face_crop", FACE_SPEC))
    np.testing.assert_array_equal(decode_png(sample.png), crop_face(record.image(), FACE_SPEC, box=record.box))
    landmark_spec = dataclasses.replace(FACE_SPEC, source="landmarks68")
    sample = prepare_record(record, "k", PrepConfig("face_crop", landmark_spec))
    np.testing.assert_array_equal(decode_png(sample.png),
                                  crop_face(record.image(), landmark_spec, landmarks=record.landmarks))
    no_box = dataclasses.replace(record, box=None)  # a face-box spec then takes the box from the landmarks
    sample = prepare_record(no_box, "k", PrepConfig("face_crop", FACE_SPEC))
    np.testing.assert_array_equal(decode_png(sample.png),
                                  crop_face(record.image(), FACE_SPEC, landmarks=record.landmarks))


def test_rejections_carry_stage_and_reason(records, rejected_rows):
    config = PrepConfig("eye_slot", EYE_SPEC)
    missing = prepare_record(records[rejected_rows["decode"]], "k", config)
    assert isinstance(missing, Rejection) and missing.stage == "decode"
    assert "missing.jpg" in missing.reason and missing.image.endswith("missing.jpg")
    narrow_record = records[rejected_rows["crop"]]
    narrow = prepare_record(narrow_record, "k", config)
    assert isinstance(narrow, Rejection) and narrow.stage == "crop"
    assert "taller than wide" in narrow.reason
    assert narrow.to_json() == {"key": "k", "source": str(narrow_record.source),
                                "image": str(narrow_record.image_path), "stage": "crop",
                                "reason": narrow.reason}


@pytest.mark.usefixtures("without_dlib")
def test_record_without_landmarks_is_rejected_naming_the_extra(records):
    bare = dataclasses.replace(records[0], landmarks=None)
    result = prepare_record(bare, "k", PrepConfig("eye_slot", EYE_SPEC))
    assert isinstance(result, Rejection) and result.stage == "landmarks"
    assert "no landmarks in the annotation" in result.reason and "'landmarks'" in result.reason
    assert "dlib" in result.reason
    # a face-box crop of a record without box or landmarks is the whole image, no detector needed
    whole = dataclasses.replace(records[0], landmarks=None, box=None)
    sample = prepare_record(whole, "k", PrepConfig("face_crop", FACE_SPEC))
    np.testing.assert_array_equal(decode_png(sample.png), crop_face(records[0].image(), FACE_SPEC))


def test_in_memory_pixels_and_extra_values():
    pixels = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    record = FaceRecord(labels=Labels(expression=2), source=Source("fer.csv", 7), pixels=pixels,
                        box=(0, 0, 48, 48), extra={"usage": "Training", "code": np.int64(4), "v": np.float32(0.5)})
    sample = prepare_record(record, "k", PrepConfig("face_crop", FACE_SPEC, encoding="raw"))
    np.testing.assert_array_equal(sample.raw, crop_face(pixels, FACE_SPEC, box=(0, 0, 48, 48)))
    assert sample.meta["extra"] == {"usage": "Training", "code": 4, "v": 0.5}
    assert sample.meta["image"] is None and sample.meta["source"] == "fer.csv:7"


def test_config_is_validated():
    with pytest.raises(InputError, match="task"):
        PrepConfig("segment", EYE_SPEC)
    with pytest.raises(InputError, match="input.source is 'face_box'"):
        PrepConfig("eye_slot", FACE_SPEC)
    with pytest.raises(InputError, match="input.source is 'eye_slot'"):
        PrepConfig("face_crop", EYE_SPEC)
    with pytest.raises(InputError, match="no input spec"):
        PrepConfig("landmarks", EYE_SPEC)
    with pytest.raises(InputError, match="encoding"):
        PrepConfig("eye_slot", EYE_SPEC, encoding="jpeg")


def test_png_round_trip_keeps_gray_and_rgb():
    rng = np.random.default_rng(0)
    from edge_affect.prep.record import encode_png

    for shape in ((7, 9), (7, 9, 3)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(decode_png(encode_png(image)), image)
    with pytest.raises(InputError, match="PNG"):
        decode_png(b"not a png")
