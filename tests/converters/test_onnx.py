import numpy as np
import onnx
import pytest

from edge_affect.converters.onnx import OnnxConverter
from edge_affect.data.synthetic import generate_arrays
from edge_affect.errors import BundleError, ConversionError, InputError
from edge_affect.models import create_model, get_spec
from edge_affect.runtime.postprocess import softmax, top1
from edge_affect.runtime.preprocess import preprocess_crops

MODEL = "mini_xception_fer2013"
SPEC = get_spec(MODEL)


@pytest.fixture(scope="module")
def model():
    return create_model(MODEL)


@pytest.fixture(scope="module")
def faces():
    crops = generate_arrays(40, seed=41, size=SPEC.input.size, color=SPEC.input.color).images
    return preprocess_crops(crops, SPEC.input)


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("onnx")
    return workdir, OnnxConverter().export(model, SPEC, "fp32", None, workdir)


def test_matches_eager_torch_on_faces(model, exported, faces):
    workdir, result = exported
    converter = OnnxConverter()
    actual = converter.load(workdir, {"artifact": result.artifact})(faces)
    expected = converter.reference(model, SPEC, "fp32", None)(faces)
    raw = np.max(np.abs(actual - expected))
    probs = np.max(np.abs(softmax(actual) - softmax(expected)))
    print(f"onnxruntime vs eager: max |d logits| {raw:.3g}, max |d probs| {probs:.3g}")
    assert probs <= 1e-5 and raw <= result.output_tolerance
    assert np.array_equal(top1(actual), top1(expected))


def test_is_one_valid_self_contained_file_with_named_dynamic_io(exported):
    workdir, result = exported
    assert sorted(p.name for p in workdir.iterdir()) == ["model.onnx"]
    proto = onnx.load(str(workdir / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == ("input", "output")
    in_dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    assert in_dims == ["batch", 1, 64, 64] and out_dims == ["batch", 7]
    assert {"torch", "onnx", "onnxruntime"} <= set(result.tools)
    assert result.quantization is None and result.extra_manifest["onnx"]["opset"] >= 17


def test_batched_run_equals_row_by_row(exported, faces):
    workdir, result = exported
    runner = OnnxConverter().load(workdir, {"artifact": result.artifact})
    batched = runner(faces)
    rows = np.concatenate([runner(faces[i:i + 1]) for i in range(len(faces))])
    np.testing.assert_allclose(batched, rows, rtol=0, atol=1e-5)


def test_int8_is_not_built(model, tmp_path):
    with pytest.raises(ConversionError, match=r"precision 'int8' is not built; expected one of \['fp32'\]"):
        OnnxConverter().export(model, SPEC, "int8", None, tmp_path)


def test_runner_refuses_wrong_inputs_and_missing_files(exported, tmp_path):
    workdir, result = exported
    runner = OnnxConverter().load(workdir, {"artifact": result.artifact})
    with pytest.raises(InputError, match=r"expected float32 inputs \(N, 1, 64, 64\), got uint8 \(1, 1, 64, 64\)"):
        runner(np.zeros((1, 1, 64, 64), np.uint8))
    with pytest.raises(BundleError, match="model.onnx: ONNX model not found"):
        OnnxConverter().load(tmp_path, {"artifact": "model.onnx"})


def test_large_inputs_run_in_fewer_rows_per_call():
    from edge_affect.converters.onnx import RUN_BATCH, run_batch

    assert run_batch((1, 64, 64)) == RUN_BATCH  # 4 K values per row: the full batch
    assert run_batch((3, 170, 520)) == 3  # an M1/M2 eye slot: 265 K values per row
    assert run_batch((3, 4096, 4096)) == 1
