import dataclasses
import json

import pytest

from edge_affect.errors import SpecError
from edge_affect.models import get_spec, list_models
from edge_affect.spec import InputSpec, OutputSpec, PipelineSpec, QuantParams


@pytest.mark.parametrize("name", list_models())
def test_registered_specs_round_trip_through_json(name):
    spec = get_spec(name)
    again = PipelineSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(again.to_json()) == json.loads(spec.to_json())


def test_round_trip_keeps_input_quantization():
    spec = get_spec("mini_xception_fer2013")
    quantized = dataclasses.replace(spec, input=dataclasses.replace(spec.input, quant=QuantParams(0.0078, -1)))
    assert PipelineSpec.from_json(quantized.to_json()).input.quant == QuantParams(0.0078, -1)


def _spec_dict():
    return json.loads(get_spec("mini_xception_fer2013").to_json())


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["input"].update(color="bgr"), "input.color: expected one of ['gray', 'rgb'], got 'bgr'"),
    (lambda d: d["input"].update(size=[64]), "input.size"),
    (lambda d: d["input"].update(resize="bicubic"), "input.resize"),
    (lambda d: d["input"].update(scale=[0.1, 0.1, 0.1]), "input.scale: expected 1 finite float(s)"),
    (lambda d: d["input"].update(pad_value=300), "input.pad_value"),
    (lambda d: d["input"].update(quant={"scale": -1.0, "zero_point": 0}), "input.quant.scale"),
    (lambda d: d["input"].update(quant={"scale": 0.1, "zero_point": 200}), "input.quant.zero_point"),
    (lambda d: d["input"].update(colour="gray"), "input: unknown field(s) ['colour']"),
    (lambda d: d["input"].pop("source"), "input: missing field(s) ['source']"),
    (lambda d: d["output"].update(labels=[]), "output.labels"),
    (lambda d: d["output"].update(labels=["a", "a"]), "duplicate"),
    (lambda d: d["output"].update(kind="probs"), "'softmax' needs kind 'logits'"),
    (lambda d: d["output"].update(smooth_alpha=0.0), "output.smooth_alpha"),
    (lambda d: d.update(task="gait"), "task: expected one of"),
    (lambda d: d.update(version=99), "version: expected 1, got 99"),
    (lambda d: d.pop("output"), "spec: missing field(s) ['output']"),
])
def test_invalid_specs_are_rejected_with_the_field_named(mutate, message):
    data = _spec_dict()
    mutate(data)
    with pytest.raises(SpecError, match=None) as info:
        PipelineSpec.from_dict(data)
    assert message in str(info.value)


def test_clamp_needs_a_range():
    with pytest.raises(SpecError, match="clamp_range"):
        OutputSpec(kind="regression", post="clamp", labels=("valence", "arousal")).validate()
    OutputSpec(kind="regression", post="clamp", labels=("valence", "arousal"), clamp_range=(-1.0, 1.0)).validate()


def test_not_json_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        PipelineSpec.from_json("{")


def test_spec_is_frozen():
    spec = get_spec("mini_xception_fer2013")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.task = "smile"


def test_input_shape_follows_color_and_size():
    spec = InputSpec(source="face_box", color="rgb", size=(224, 224), resize="bilinear",
                     scale=(1 / 127.5,) * 3, offset=(-1.0,) * 3)
    spec.validate()
    assert spec.shape == (1, 3, 224, 224)
