import json

import cv2
import numpy as np
import pytest
import torch

from edge_affect import cli
from edge_affect.commands.saliency import FaceLocation, locate_face, model_input
from edge_affect.data.samples import ASTRONAUT_FACE_BOX
from edge_affect.errors import InputError
from edge_affect.models import create_model, get_spec
from edge_affect.models.checkpoint import save_checkpoint
from edge_affect.saliency import figure_pixels

MODEL = "mini_xception_fer2013"


@pytest.fixture
def run(capsys):
    """edge-affect saliency through the real CLI: (exit code, JSON or stdout, stderr)."""
    assert "edge_affect.commands.saliency" in cli.COMMAND_MODULES

    def invoke(*argv):
        code = cli.main(["saliency", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if "--json" in argv and code == 0 else out), err

    return invoke


@pytest.fixture(scope="module")
def astronaut_rgb():
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="module")
def photo(astronaut_rgb, tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    return path


def _png_shape(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image.shape[:2]


def _checkpoint(name, kwargs, directory):
    """A checkpoint as `edge-affect train` writes it (safetensors + sidecar with
    spec and model_kwargs), of an untrained model: the maps' plumbing, not their meaning."""
    torch.manual_seed(0)
    model = create_model(name, pretrained=False, **kwargs)
    meta = {"model": name, "model_kwargs": kwargs, "spec": get_spec(name).to_dict()}
    return save_checkpoint(model.state_dict(), directory / f"{name}.safetensors", meta)


def test_gradient_on_a_photo_explains_the_predicted_class(run, photo, tmp_path):
    out = tmp_path / "maps" / "gradient.png"
    code, summary, err = run(MODEL, photo, "--out", out, "--json")
    assert code == 0, err
    assert summary["method"] == "gradient" and summary["target"] is None
    assert [o["name"] for o in summary["outputs"]] == ["happy"] and summary["outputs"][0]["value"] > 0.9
    assert summary["map_shape"] == [1, 64, 64] and summary["png"] == str(out) and summary["map"] is None
    assert summary["input"]["mode"] == "detected"
    x, y, w, h = summary["input"]["face_box"]  # the detector's box overlaps the hand-drawn one
    bx, by, bw, bh = ASTRONAUT_FACE_BOX
    assert max(x, bx) < min(x + w, bx + bw) and max(y, by) < min(y + h, by + bh)
    assert _png_shape(out) == figure_pixels(1, (64, 64))
    assert not list(out.parent.glob(".*.tmp"))  # written through a temp file, renamed


def test_occlusion_for_a_named_target_saves_the_map(run, photo, tmp_path):
    out = tmp_path / "occlusion.png"
    code, summary, err = run(MODEL, photo, "--method", "occlusion", "--patch", 16, "--stride", 16,
                             "--target", "sad", "--save-map", "--out", out, "--json")
    assert code == 0, err
    assert summary["target"] == {"index": 4, "name": "sad"} and summary["outputs"][0]["name"] == "sad"
    assert (summary["patch"], summary["stride"]) == (16, 16)
    saved = np.load(tmp_path / "occlusion.npy")
    assert saved.shape == (1, 64, 64)
    assert summary["outputs"][0]["map_max"] == pytest.approx(float(saved.max()))
    assert np.all(saved[0, :16, :16] == saved[0, 0, 0])  # 16x16 windows partition the input


def test_no_detect_takes_the_image_as_the_face_crop(run, astronaut_rgb, tmp_path):
    x, y, w, h = ASTRONAUT_FACE_BOX
    crop = tmp_path / "face.png"
    cv2.imwrite(str(crop), cv2.cvtColor(astronaut_rgb[y:y + h, x:x + w], cv2.COLOR_RGB2BGR))
    code, summary, err = run(MODEL, crop, "--no-detect", "--target", 3, "--out", tmp_path / "s.png", "--json")
    assert code == 0, err
    assert summary["input"] == {"mode": "whole_image", "face_box": None, "landmarks": False}
    assert summary["outputs"][0]["name"] == "happy"


def test_regressor_checkpoint_gets_one_panel_per_output(run, photo, tmp_path):
    weights = _checkpoint("face_va_mobile", {"width_mult": 0.5}, tmp_path)  # kwargs from the sidecar
    out = tmp_path / "va.png"
    code, summary, err = run("face_va_mobile", photo, "--weights", weights, "--out", out, "--json")
    assert code == 0, err
    assert [o["name"] for o in summary["outputs"]] == ["valence", "arousal"]
    assert summary["map_shape"] == [2, 96, 96] and summary["task"] == "valence_arousal"
    assert all(-1 <= o["value"] <= 1 for o in summary["outputs"])
    assert _png_shape(out) == figure_pixels(2, (96, 96))


def test_eye_slot_models_take_the_image_as_the_slot(run, astronaut_rgb, tmp_path):
    weights = _checkpoint("ocular_va_mobile", {"width_mult": 0.25}, tmp_path)
    slot = tmp_path / "slot.png"
    cv2.imwrite(str(slot), cv2.cvtColor(astronaut_rgb[95:135, 180:275], cv2.COLOR_RGB2BGR))
    out = tmp_path / "eyes.png"
    code, summary, err = run("ocular_va_mobile", slot, "--weights", weights, "--method", "occlusion",
                             "--patch", 16, "--stride", 16, "--target", "arousal", "--out", out, "--json")
    assert code == 0, err
    assert summary["input"]["mode"] == "eye_slot_crop" and "eye-slot crop" in summary["input"]["note"]
    assert summary["map_shape"] == [1, 64, 192] and summary["outputs"][0]["name"] == "arousal"
    assert _png_shape(out) == figure_pixels(1, (64, 192))


def test_help_says_how_eye_slot_images_are_read(run, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["saliency", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal width
    assert "Eye-slot models (ocular_va_*) take IMAGE as the eye-slot crop" in text


# ---------------------------------------------------------------------------- input preparation


def test_landmark_sources_crop_by_the_spec():
    """Landmark-driven crops (face_va_resnet's box, the ocular eye slot) follow the reference runtime."""
    from edge_affect.data.synthetic import generate
    from edge_affect.runtime.eye_slot import preprocess_eye_slot
    from edge_affect.runtime.preprocess import box_from_landmarks, preprocess

    face = generate(1, 7, color="rgb")[0]
    where = FaceLocation("detected", (0, 0, 1, 1), face.landmarks)
    resnet = get_spec("face_va_resnet")
    expected = preprocess(face.image, resnet.input, box=box_from_landmarks(face.landmarks))
    assert np.array_equal(model_input(face.image, resnet, where), expected)
    ocular = get_spec("ocular_va_m1")
    assert np.array_equal(model_input(face.image, ocular, where),
                          preprocess_eye_slot(face.image, face.landmarks, ocular.input))


# ---------------------------------------------------------------------------- errors


def test_landmark_models_on_a_photo_need_landmarks_or_no_detect(astronaut_rgb):
    with pytest.raises(InputError, match="pass --landmarks PREDICTOR .* or --no-detect"):
        locate_face(astronaut_rgb, get_spec("face_va_resnet"))
    assert locate_face(astronaut_rgb, get_spec("face_va_resnet"), detect=False).mode == "whole_image"


@pytest.fixture
def blank(tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((120, 160), 128, np.uint8))
    return path


def test_errors_name_the_problem(run, photo, blank, tmp_path):
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not an image at all")
    out = tmp_path / "never.png"
    cases = [
        (("no_such_model", photo), "'no_such_model' is not registered"),
        ((MODEL, tmp_path / "missing.jpg"), "missing.jpg: cannot read the image"),
        ((MODEL, garbage), "garbage.jpg: cannot read the image"),
        ((MODEL, blank), "no face found in the image; pass --no-detect"),
        ((MODEL, photo, "--method", "occlusion", "--patch", 65), "larger than the model input 64x64"),
        ((MODEL, photo, "--method", "occlusion", "--stride", 0), "--stride: expected a whole number >= 1"),
        ((MODEL, photo, "--target", "bored"), "'bored' is not one of this model's outputs"),
        (("face_va_mobile", photo), "face_va_mobile has no pretrained weights: pass --weights"),
    ]
    for argv, message in cases:
        code, _, err = run(*argv, "--out", out)
        assert code == 2 and message in err, (argv, err)
    assert not out.exists()
